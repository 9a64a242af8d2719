package app

import (
	"context"
	"errors"
	"time"

	"github.com/authd/authd/internal/lastgood"
	"github.com/authd/authd/internal/oauth"
	"github.com/authd/authd/internal/store"
)

// clientCacheTTL is how long a client read for client authentication is
// reused.
const clientCacheTTL = 10 * time.Second

// clientCache keeps the OAuth clients that client authentication reads
// (every introspection, revocation and token request) for a short time,
// instead of one SQL read per request, and keeps answering with the last
// good read while the database fails (database.stale_if_error), so
// introspection and revocation outlive a database outage. Only found
// clients are kept.
type clientCache struct {
	st oauth.ClientStore
	c  *lastgood.Cache[string, store.Client]
}

func newClientCache(st oauth.ClientStore, timeout, staleIfError time.Duration) *clientCache {
	return &clientCache{st: st, c: lastgood.New[string, store.Client](lastgood.Config{
		Size: 1000, Fresh: clientCacheTTL, StaleIfError: staleOrOff(staleIfError), Timeout: timeout, Outage: isOutage,
	}, func(id string) string { return id })}
}

// GetClient implements oauth.ClientStore.
func (c *clientCache) GetClient(ctx context.Context, id string) (store.Client, error) {
	return c.c.Get(ctx, id, func(ctx context.Context) (store.Client, error) { return c.st.GetClient(ctx, id) })
}

// isOutage tells a failing database from an answer.
func isOutage(err error) bool {
	return errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// staleOrOff maps the configured stale-if-error (0: off) to lastgood's
// (negative: off).
func staleOrOff(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
