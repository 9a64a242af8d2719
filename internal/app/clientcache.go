package app

import (
	"context"
	"sync"
	"time"

	"github.com/authd/authd/internal/oauth"
	"github.com/authd/authd/internal/store"
)

// clientCacheTTL is how long a client read for client authentication is
// reused.
const clientCacheTTL = 10 * time.Second

// clientCache keeps the OAuth clients that client authentication reads
// (every introspection, revocation and token request) for a short time,
// instead of one SQL read per request. Clients are written only by
// bootstrap today; a change would be seen within the TTL. Only found
// clients are kept, so the map holds at most the real clients.
type clientCache struct {
	st  oauth.ClientStore
	ttl time.Duration
	now func() time.Time

	mu sync.RWMutex
	m  map[string]cachedClient
}

type cachedClient struct {
	c     store.Client
	until time.Time
}

func newClientCache(st oauth.ClientStore, ttl time.Duration) *clientCache {
	return &clientCache{st: st, ttl: ttl, now: time.Now, m: map[string]cachedClient{}}
}

// GetClient implements oauth.ClientStore.
func (c *clientCache) GetClient(ctx context.Context, id string) (store.Client, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && now.Before(e.until) {
		return e.c, nil
	}
	cl, err := c.st.GetClient(ctx, id)
	if err != nil {
		return store.Client{}, err
	}
	c.mu.Lock()
	c.m[id] = cachedClient{c: cl, until: now.Add(c.ttl)}
	c.mu.Unlock()
	return cl, nil
}
