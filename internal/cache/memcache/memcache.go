package memcache

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/authd/authd/internal/cache"
)

// DefaultMaxEntries is the bound used when Options.MaxEntries is not set.
const DefaultMaxEntries = 1_000_000

// Options configures a Cache. The zero value is ready to use.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxEntries bounds the number of keys (rate-limit buckets included);
	// default DefaultMaxEntries. When the cache is full, inserting a new
	// key evicts expired entries first, then those closest to expiry.
	MaxEntries int
}

// Cache is the in-process cache.Cache. Create it with New and stop its
// sweeper with Close.
type Cache struct {
	now func() time.Time
	max int

	mu      sync.Mutex
	items   map[string]*entry
	expiry  expiryHeap // every entry, in eviction order
	seq     uint64     // write counter, orders entries with equal expiry
	closed  bool
	subs    map[string]map[*subscriber]struct{}
	done    chan struct{}
	sweeper sync.WaitGroup
}

var _ cache.Cache = (*Cache)(nil)

// entry is one key. exp is the expiry in Unix nanoseconds, 0 for none;
// seq orders writes; idx is the entry's position in the heap.
type entry struct {
	key string
	val []byte
	exp int64
	seq uint64
	idx int
}

var (
	errClosed     = fmt.Errorf("%w: memcache: closed", cache.ErrUnavailable)
	errNegTTL     = errors.New("memcache: negative ttl")
	errNotInteger = errors.New("memcache: value is not an integer or out of range")
)

// New returns an empty cache and starts its sweeper.
func New(opts Options) *Cache {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	c := &Cache{
		now:   opts.Now,
		max:   opts.MaxEntries,
		items: make(map[string]*entry),
		subs:  make(map[string]map[*subscriber]struct{}),
		done:  make(chan struct{}),
	}
	c.sweeper.Add(1)
	go c.sweep()
	return c
}

// Len reports the number of stored keys, expired ones not yet removed
// included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// begin checks ctx and the closed flag and takes the lock. It returns the
// current time in Unix nanoseconds.
func (c *Cache) begin(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, errClosed
	}
	return c.now().UnixNano(), nil
}

// lookup returns the live entry at key, removing it when it has expired.
// c.mu must be held.
func (c *Cache) lookup(key string, now int64) *entry {
	e, ok := c.items[key]
	if !ok {
		return nil
	}
	if e.exp != 0 && e.exp <= now {
		c.remove(e)
		return nil
	}
	return e
}

// store sets key to val with expiry exp (Unix nanoseconds, 0 for none),
// replacing any entry. It takes ownership of val. c.mu must be held.
func (c *Cache) store(key string, val []byte, exp int64) {
	e, ok := c.items[key]
	if !ok {
		for len(c.items) >= c.max {
			c.evictOne()
		}
		e = &entry{key: key, idx: -1}
		c.items[key] = e
	}
	c.write(e, val, exp)
}

// remove deletes e from the map and the heap. c.mu must be held.
func (c *Cache) remove(e *entry) {
	delete(c.items, e.key)
	heap.Remove(&c.expiry, e.idx)
}

// expAt converts a TTL into an expiry (0 for none).
func expAt(now int64, ttl time.Duration) (int64, error) {
	switch {
	case ttl < 0:
		return 0, errNegTTL
	case ttl == 0:
		return 0, nil
	case now > math.MaxInt64-int64(ttl):
		return math.MaxInt64, nil
	default:
		return now + int64(ttl), nil
	}
}

func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}

// Get implements cache.Cache.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	now, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	e := c.lookup(key, now)
	if e == nil {
		return nil, cache.ErrMiss
	}
	return clone(e.val), nil
}

// Set implements cache.Cache.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	now, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	exp, err := expAt(now, ttl)
	if err != nil {
		return err
	}
	c.store(key, clone(value), exp)
	return nil
}

// SetNX implements cache.Cache.
func (c *Cache) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	now, err := c.begin(ctx)
	if err != nil {
		return false, err
	}
	defer c.mu.Unlock()
	exp, err := expAt(now, ttl)
	if err != nil {
		return false, err
	}
	if c.lookup(key, now) != nil {
		return false, nil
	}
	c.store(key, clone(value), exp)
	return true, nil
}

// GetDel implements cache.Cache.
func (c *Cache) GetDel(ctx context.Context, key string) ([]byte, error) {
	now, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	e := c.lookup(key, now)
	if e == nil {
		return nil, cache.ErrMiss
	}
	c.remove(e)
	return e.val, nil // the entry is gone: no copy needed
}

// Incr implements cache.Cache.
func (c *Cache) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	now, err := c.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	exp, err := expAt(now, ttl)
	if err != nil {
		return 0, err
	}
	e := c.lookup(key, now)
	if e == nil {
		c.store(key, []byte("1"), exp)
		return 1, nil
	}
	n, err := strconv.ParseInt(string(e.val), 10, 64)
	if err != nil || n == math.MaxInt64 {
		return 0, errNotInteger
	}
	n++
	e.val = strconv.AppendInt(e.val[:0], n, 10)
	return n, nil
}

// Del implements cache.Cache.
func (c *Cache) Del(ctx context.Context, keys ...string) error {
	if _, err := c.begin(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	for _, k := range keys {
		if e, ok := c.items[k]; ok {
			c.remove(e)
		}
	}
	return nil
}

// TTL implements cache.Cache.
func (c *Cache) TTL(ctx context.Context, key string) (time.Duration, error) {
	now, err := c.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	e := c.lookup(key, now)
	if e == nil {
		return 0, cache.ErrMiss
	}
	if e.exp == 0 {
		return 0, nil
	}
	return time.Duration(e.exp - now), nil
}

// Ping implements cache.Cache; it fails only once the cache is closed.
func (c *Cache) Ping(ctx context.Context) error {
	if _, err := c.begin(ctx); err != nil {
		return err
	}
	c.mu.Unlock()
	return nil
}

// Close stops the sweeper and closes every subscription channel.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	c.closeSubscribersLocked()
	c.mu.Unlock()
	c.sweeper.Wait()
	return nil
}
