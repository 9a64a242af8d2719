// Package lastgood is a bounded in-process cache of values read from a
// dependency (the database) that serves a value fresh for a TTL and, when
// the dependency fails, its last good value for a further bounded time
// (stale-if-error), instead of failing every request of an outage.
//
// After a failure the loader is not called again for a key until a short
// back-off has passed: a dead dependency is not hammered by every request.
package lastgood

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Config tunes a Cache. Zero durations take the defaults in brackets.
type Config struct {
	Size  int           // entries [10000]
	Fresh time.Duration // a value is used without reloading this long [10s]
	// StaleIfError is how long past Fresh a value is still used while the
	// loader fails with an outage [5m]; 0 takes the default, negative
	// disables.
	StaleIfError time.Duration
	// Timeout bounds each load [1s].
	Timeout time.Duration
	// Backoff is how long after a failed load the last good value is used
	// without trying again [1s].
	Backoff time.Duration
	// Outage tells a dependency failure (stale answers allowed) from an
	// answer such as "not found" (returned as it is). Nil: every error is
	// an outage.
	Outage func(error) bool
	Now    func() time.Time
}

type entry[V any] struct {
	v        V
	loadedAt time.Time
	failedAt time.Time // last failed reload; zero when none
}

// Cache maps keys to values loaded on demand.
type Cache[K comparable, V any] struct {
	cfg    Config
	lru    *lru.Cache[K, *entry[V]]
	mu     sync.Mutex // guards failedAt of entries
	flight singleflight.Group
	gen    atomic.Uint64
	stale  atomic.Uint64
	key    func(K) string
}

// New returns a Cache; key renders a key for sharing concurrent loads.
func New[K comparable, V any](cfg Config, key func(K) string) *Cache[K, V] {
	if cfg.Size <= 0 {
		cfg.Size = 10000
	}
	if cfg.Fresh <= 0 {
		cfg.Fresh = 10 * time.Second
	}
	if cfg.StaleIfError == 0 {
		cfg.StaleIfError = 5 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.Outage == nil {
		cfg.Outage = func(error) bool { return true }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l, _ := lru.New[K, *entry[V]](cfg.Size)
	return &Cache[K, V]{cfg: cfg, lru: l, key: key}
}

// Get returns k's value: fresh from the cache, else from load (stored);
// when load fails with an outage, the last good value if it is recent
// enough. Concurrent loads of one key share one call.
func (c *Cache[K, V]) Get(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	now := c.cfg.Now()
	e, ok := c.lru.Get(k)
	if ok && now.Sub(e.loadedAt) < c.cfg.Fresh {
		return e.v, nil
	}
	usable := ok && c.cfg.StaleIfError > 0 && now.Sub(e.loadedAt) < c.cfg.Fresh+c.cfg.StaleIfError
	if usable {
		c.mu.Lock()
		backingOff := !e.failedAt.IsZero() && now.Sub(e.failedAt) < c.cfg.Backoff
		c.mu.Unlock()
		if backingOff {
			c.stale.Add(1)
			return e.v, nil
		}
	}
	gen := c.gen.Load()
	res, err, _ := c.flight.Do(c.key(k), func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
		defer cancel()
		v, err := load(lctx)
		if err != nil {
			return nil, err
		}
		if c.gen.Load() == gen {
			c.lru.Add(k, &entry[V]{v: v, loadedAt: c.cfg.Now()})
		}
		return v, nil
	})
	if err == nil {
		return res.(V), nil
	}
	if usable && c.cfg.Outage(err) {
		c.mu.Lock()
		e.failedAt = now
		c.mu.Unlock()
		c.stale.Add(1)
		return e.v, nil
	}
	var zero V
	return zero, err
}

// Remove drops k: its next Get loads (and a load already under way is
// not stored).
func (c *Cache[K, V]) Remove(k K) {
	c.gen.Add(1)
	c.lru.Remove(k)
}

// Purge drops every entry.
func (c *Cache[K, V]) Purge() {
	c.gen.Add(1)
	c.lru.Purge()
}

// StaleAnswers counts the answers given from a last good value so far.
func (c *Cache[K, V]) StaleAnswers() uint64 { return c.stale.Load() }
