package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
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

// HashSecret returns the stored form of a generated client secret: its hex
// SHA-256. Generated secrets carry 256 random bits, so a fast hash compared
// in constant time is right; bcrypt would cost ~50 ms per client
// authentication and buy nothing.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// secretHasher is fosite's ClientSecretsHasher for HashSecret.
type secretHasher struct{}

func (secretHasher) Compare(_ context.Context, hash, data []byte) error {
	sum := sha256.Sum256(data)
	want := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(want, sum[:])
	if len(hash) == 0 || subtle.ConstantTimeCompare(want, hash) != 1 {
		return errors.New("client secret mismatch")
	}
	return nil
}

func (secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return []byte(HashSecret(string(data))), nil
}

// Clients reads OAuth clients (clients.Service).
type Clients interface {
	Get(ctx context.Context, id string) (clients.Client, error)
}

// fositeStorage is fosite's Storage over Clients. authd does not accept
// client assertions (private_key_jwt), so the jti methods refuse.
type fositeStorage struct {
	clients Clients
}

func (s fositeStorage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.clients.Get(ctx, id)
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
