package clients

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/lastgood"
	"github.com/authd/authd/internal/store"
)

// Client is an OAuth 2.0 client.
type Client = store.Client

// ErrUnknown: no client has this id.
var ErrUnknown = errors.New("clients: unknown client")

// Store is the part of the store clients live in.
type Store interface {
	CreateClient(ctx context.Context, c store.Client) error
	GetClient(ctx context.Context, id string) (store.Client, error)
	ListClients(ctx context.Context, p store.Page) ([]store.Client, int, error)
	UpdateClient(ctx context.Context, id string, fn func(store.Client) (store.Client, error)) error
	DeleteClient(ctx context.Context, id string) error
}

// Identity decides users' rights and knows the network's shape
// (identity.Service).
type Identity interface {
	// Organisation returns an organisation the actor may act for and the
	// user's grant there.
	Organisation(ctx context.Context, a identity.Actor, orgID string) (store.Organisation, identity.Grant, error)
	// BusinessOf returns the business an organisation belongs to.
	BusinessOf(ctx context.Context, orgID string) (string, error)
}

// TokenRevoker ends the access tokens of a subject (token.Service).
type TokenRevoker interface {
	// RevokeSubjectThrough ends every token of the subject issued at or
	// before through, on every replica and verifier.
	RevokeSubjectThrough(ctx context.Context, kind, key string, through time.Time, accessTTL time.Duration) error
}

// RefreshRevoker ends refresh-token families (refresh.Service).
type RefreshRevoker interface {
	// RevokeClient ends every family issued to a client.
	RevokeClient(ctx context.Context, clientID string) error
}

// Revoker appends to the revocation log, which every replica follows
// (revocation.Service); it applies the entry here before it returns.
type Revoker interface {
	Revoke(ctx context.Context, rs ...store.Revocation) error
}

// Auditor records audit events (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, e store.AuditEvent)
}

// Config configures a Service. Zero durations take the defaults in
// brackets.
type Config struct {
	// Fresh is how long a read is reused [10s].
	Fresh time.Duration
	// Timeout bounds a read [1s].
	Timeout time.Duration
	// StaleIfError is how long the last good read answers while the store
	// fails; negative: never [5m].
	StaleIfError time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	// What management needs. Identity may be nil when only operators
	// manage clients (the command line): users are then refused, and an
	// organisation binding is checked for existence only.
	Identity    Identity
	Tokens      TokenRevoker
	Refresh     RefreshRevoker
	Revocations Revoker
	Audit       Auditor
	Logger      *slog.Logger
	// MaxAccessTokenTTL is the longest access-token lifetime a client may
	// be given (tokens.max_access_token_ttl), so the longest any access
	// token lives: how long a deleted client's revocation stays in force
	// [24h].
	MaxAccessTokenTTL time.Duration
	// MaxRefreshTokenTTL is the longest refresh lifetime, absolute or
	// idle, a client may be given (tokens.refresh_token_ttl) [720h].
	MaxRefreshTokenTTL time.Duration
	// ChangeTTL is how long a rotation's entry stays in the log: longer
	// than a replica may take to read it [10m].
	ChangeTTL time.Duration
	// Reserved are clients that cannot be deleted, with the reason (the
	// CRM-style endpoints issue their tokens for fixed clients whatever
	// the store holds, so deleting one could not stop its tokens).
	Reserved map[string]string
}

// Service owns the OAuth clients: it reads them for client
// authentication, through a cache, and manages them.
type Service struct {
	st  Store
	cfg Config
	c   *lastgood.Cache[string, store.Client]
}

// New returns a Service over st.
func New(st Store, cfg Config) *Service {
	if cfg.Fresh <= 0 {
		cfg.Fresh = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAccessTokenTTL <= 0 {
		cfg.MaxAccessTokenTTL = MaxAccessTokenTTL
	}
	if cfg.MaxRefreshTokenTTL <= 0 {
		cfg.MaxRefreshTokenTTL = 30 * 24 * time.Hour
	}
	if cfg.ChangeTTL <= 0 {
		cfg.ChangeTTL = 10 * time.Minute
	}
	return &Service{st: st, cfg: cfg, c: lastgood.New[string, store.Client](lastgood.Config{
		Size: 1000, Fresh: cfg.Fresh, StaleIfError: cfg.StaleIfError, Timeout: cfg.Timeout, Outage: store.Unavailable, Now: cfg.Now,
	}, func(id string) string { return id })}
}

// Lookup returns the client with this id for client authentication, or
// ErrUnknown. A previous secret whose overlap has ended is left out, so
// only the secrets that may authenticate the client now are in it.
func (s *Service) Lookup(ctx context.Context, id string) (Client, error) {
	c, err := s.c.Get(ctx, id, func(ctx context.Context) (store.Client, error) { return s.st.GetClient(ctx, id) })
	if errors.Is(err, store.ErrNotFound) {
		return Client{}, ErrUnknown
	}
	if err != nil {
		return Client{}, err
	}
	if !previousInForce(c, s.cfg.Now()) {
		c.PreviousSecretHash, c.PreviousSecretExpiresAt = "", nil
	}
	return c, nil
}

// previousInForce reports whether c's previous secret still
// authenticates it at now.
func previousInForce(c store.Client, now time.Time) bool {
	return c.PreviousSecretHash != "" && c.PreviousSecretExpiresAt != nil && now.Before(*c.PreviousSecretExpiresAt)
}

// Forget drops a client from the cache: the next read sees its change.
func (s *Service) Forget(id string) { s.c.Remove(id) }

// Forgets reports whether an entry of the revocation log invalidates a
// cached client (its key is then the client id): a deleted client's
// revocation, or a change such as a rotated secret.
func Forgets(r store.Revocation) bool {
	return r.Kind == store.RevokeClient || r.Kind == store.RevokeClientChange
}
