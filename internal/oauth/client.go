package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/clients"
)

// Client adapts a stored client to fosite.Client.
type Client struct {
	clients.Client
}

var _ fosite.Client = (*Client)(nil)

// GetID implements fosite.Client.
func (c *Client) GetID() string { return c.ID }

// GetHashedSecret implements fosite.Client.
func (c *Client) GetHashedSecret() []byte { return []byte(c.SecretHash) }

// GetRedirectURIs implements fosite.Client (authd has no redirect flows).
func (c *Client) GetRedirectURIs() []string { return nil }

// GetGrantTypes implements fosite.Client.
func (c *Client) GetGrantTypes() fosite.Arguments { return c.GrantTypes }

// GetResponseTypes implements fosite.Client.
func (c *Client) GetResponseTypes() fosite.Arguments { return nil }

// GetScopes implements fosite.Client.
func (c *Client) GetScopes() fosite.Arguments { return c.Scopes }

// IsPublic implements fosite.Client.
func (c *Client) IsPublic() bool { return c.Public }

// GetAudience implements fosite.Client.
func (c *Client) GetAudience() fosite.Arguments { return c.Audience }

// GetRotatedHashes implements fosite.ClientWithSecretRotation: the secret
// a rotation replaced, while its overlap lasts (clients.Service.Lookup
// leaves it out once it has ended), authenticates the client too.
func (c *Client) GetRotatedHashes() [][]byte {
	if c.PreviousSecretHash == "" {
		return nil
	}
	return [][]byte{[]byte(c.PreviousSecretHash)}
}

var _ fosite.ClientWithSecretRotation = (*Client)(nil)

// HashSecret returns the stored form of a generated client secret
// (clients.HashSecret).
func HashSecret(secret string) string { return clients.HashSecret(secret) }

// secretHasher is fosite's ClientSecretsHasher over clients' hashing.
type secretHasher struct{}

func (secretHasher) Compare(_ context.Context, hash, data []byte) error {
	if !clients.SecretMatches(hash, data) {
		return errors.New("client secret mismatch")
	}
	return nil
}

func (secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return []byte(clients.HashSecret(string(data))), nil
}

// Clients reads OAuth clients for client authentication
// (clients.Service).
type Clients interface {
	Lookup(ctx context.Context, id string) (clients.Client, error)
}

// fositeStorage is fosite's Storage over Clients. authd does not accept
// client assertions (private_key_jwt), so the jti methods refuse.
type fositeStorage struct {
	clients Clients
}

func (s fositeStorage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.clients.Lookup(ctx, id)
	if err != nil {
		if errors.Is(err, clients.ErrUnknown) {
			return nil, fosite.ErrNotFound
		}
		return nil, err
	}
	return &Client{Client: c}, nil
}

func (fositeStorage) ClientAssertionJWTValid(context.Context, string) error {
	return fosite.ErrJTIKnown
}

func (fositeStorage) SetClientAssertionJWT(context.Context, string, time.Time) error {
	return errors.New("client assertions are not supported")
}
