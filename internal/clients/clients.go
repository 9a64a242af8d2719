// Package clients owns the OAuth clients: reading them for client
// authentication (every token, introspection and revocation request),
// from a short-lived cache that keeps answering with the last good read
// while the database fails.
package clients

import (
	"context"
	"errors"
	"time"

	"github.com/authd/authd/internal/lastgood"
	"github.com/authd/authd/internal/store"
)

// Client is an OAuth 2.0 client.
type Client = store.Client

// ErrUnknown: no client has this id.
var ErrUnknown = errors.New("clients: unknown client")

// Store is the part of the store clients are read from.
type Store interface {
	GetClient(ctx context.Context, id string) (store.Client, error)
}

// Config tunes the cache.
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
}

// Service reads clients.
type Service struct {
	st Store
	c  *lastgood.Cache[string, store.Client]
}

// New returns a Service over st.
func New(st Store, cfg Config) *Service {
	outage := func(err error) bool {
		return errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
	}
	if cfg.Fresh <= 0 {
		cfg.Fresh = 10 * time.Second
	}
	return &Service{st: st, c: lastgood.New[string, store.Client](lastgood.Config{
		Size: 1000, Fresh: cfg.Fresh, StaleIfError: cfg.StaleIfError, Timeout: cfg.Timeout, Outage: outage, Now: cfg.Now,
	}, func(id string) string { return id })}
}

// Get returns the client with this id, or ErrUnknown.
func (s *Service) Get(ctx context.Context, id string) (Client, error) {
	c, err := s.c.Get(ctx, id, func(ctx context.Context) (store.Client, error) { return s.st.GetClient(ctx, id) })
	if errors.Is(err, store.ErrNotFound) {
		return Client{}, ErrUnknown
	}
	return c, err
}

// Forget drops a client from the cache: the next read sees its change.
func (s *Service) Forget(id string) { s.c.Remove(id) }
