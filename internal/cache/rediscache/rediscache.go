package rediscache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/authd/authd/internal/cache"
)

// DefaultKeyPrefix is the KeyPrefix used when Options.KeyPrefix is empty.
const DefaultKeyPrefix = "authd:"

// Options configures a Cache.
type Options struct {
	// KeyPrefix is prepended to every key and pub/sub channel; default
	// DefaultKeyPrefix. Replicas that share state must use the same prefix.
	KeyPrefix string
	// OpTimeout bounds every call (a hung server answers ErrUnavailable
	// within it) [250ms].
	OpTimeout time.Duration
	// BreakerThreshold consecutive failures open the breaker: calls fail
	// at once for BreakerCooldown, then one call probes the server [3].
	BreakerThreshold int
	// BreakerCooldown [1s].
	BreakerCooldown time.Duration
}

// Cache is the Redis cache.Cache. It owns its client: Close closes it.
type Cache struct {
	rdb     redis.UniversalClient
	prefix  string
	limiter *redis_rate.Limiter
	timeout time.Duration
	br      breaker

	closed atomic.Bool
	mu     sync.Mutex     // orders subs.Add against Close
	done   chan struct{}  // closed by Close; ends every subscription
	subs   sync.WaitGroup // subscriptions being set up or forwarding
}

var _ cache.Cache = (*Cache)(nil)

// NewFromClient wraps an existing client; it does not contact Redis. The
// Cache takes ownership of c and closes it in Close.
func NewFromClient(c redis.UniversalClient, opts Options) *Cache {
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = DefaultKeyPrefix
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = 250 * time.Millisecond
	}
	if opts.BreakerThreshold <= 0 {
		opts.BreakerThreshold = 3
	}
	if opts.BreakerCooldown <= 0 {
		opts.BreakerCooldown = time.Second
	}
	return &Cache{
		rdb:     c,
		prefix:  opts.KeyPrefix,
		limiter: redis_rate.NewLimiter(prefixedScripter{UniversalClient: c, prefix: opts.KeyPrefix}),
		timeout: opts.OpTimeout,
		br:      breaker{threshold: int32(opts.BreakerThreshold), cooldown: opts.BreakerCooldown},
		done:    make(chan struct{}),
	}
}

// run runs one call: refused at once after Close or while the breaker is
// open, bounded by the operation timeout, its outcome counted by the
// breaker (a caller that gave up is not a failure of the server).
func (c *Cache) run(ctx context.Context, f func(context.Context) error) error {
	if err := c.check(); err != nil {
		return err
	}
	if !c.br.allow(time.Now()) {
		return errBreakerOpen
	}
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	err := f(cctx)
	cancel()
	switch {
	case err == nil, !errors.Is(err, cache.ErrUnavailable):
		c.br.success()
	case ctx.Err() != nil:
		c.br.release()
	default:
		c.br.failure(time.Now())
	}
	return err
}

// BreakerOpen reports whether calls are being refused without trying.
func (c *Cache) BreakerOpen() bool { return c.br.open(time.Now()) }

// incrScript increments KEYS[1] and, only when INCR created it, sets the
// expiry ARGV[1] (milliseconds, 0 for none). A key that existed without
// expiry keeps none, and later increments never move the expiry.
var incrScript = redis.NewScript(`
local existed = redis.call("EXISTS", KEYS[1])
local n = redis.call("INCR", KEYS[1])
local ttl = tonumber(ARGV[1])
if existed == 0 and ttl > 0 then
  redis.call("PEXPIRE", KEYS[1], ttl)
end
return n
`)

func (c *Cache) key(k string) string { return c.prefix + k }

// check rejects calls after Close, so they fail the same way whether or not
// the client would still answer.
func (c *Cache) check() error {
	if c.closed.Load() {
		return errClosed
	}
	return nil
}

func checkTTL(ttl time.Duration) error {
	if ttl < 0 {
		return errNegTTL
	}
	return nil
}

// Get implements cache.Cache.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	var b []byte
	err := c.run(ctx, func(ctx context.Context) (err error) {
		b, err = c.rdb.Get(ctx, c.key(key)).Bytes()
		return mapErr("get", err)
	})
	return b, err
}

// Set implements cache.Cache.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	return c.run(ctx, func(ctx context.Context) error {
		return mapErr("set", c.rdb.Set(ctx, c.key(key), value, ttl).Err())
	})
}

// SetNX implements cache.Cache.
func (c *Cache) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	var ok bool
	err := c.run(ctx, func(ctx context.Context) (err error) {
		ok, err = c.rdb.SetNX(ctx, c.key(key), value, ttl).Result()
		return mapErr("setnx", err)
	})
	return ok, err
}

// GetDel implements cache.Cache (GETDEL, Redis >= 6.2).
func (c *Cache) GetDel(ctx context.Context, key string) ([]byte, error) {
	var b []byte
	err := c.run(ctx, func(ctx context.Context) (err error) {
		b, err = c.rdb.GetDel(ctx, c.key(key)).Bytes()
		return mapErr("getdel", err)
	})
	return b, err
}

// Incr implements cache.Cache with one Lua script, so creating the key and
// setting its expiry are atomic.
func (c *Cache) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := checkTTL(ttl); err != nil {
		return 0, err
	}
	ms := ttl.Milliseconds()
	if ttl > 0 && ms == 0 {
		ms = 1 // Redis' resolution is 1ms; never turn a TTL into "none"
	}
	var n int64
	err := c.run(ctx, func(ctx context.Context) (err error) {
		n, err = incrScript.Run(ctx, c.rdb, []string{c.key(key)}, ms).Int64()
		return mapErr("incr", err)
	})
	return n, err
}

// Del implements cache.Cache. Keys are deleted one command each in a
// pipeline, so keys of different Cluster slots never meet in one DEL.
func (c *Cache) Del(ctx context.Context, keys ...string) error {
	if err := c.check(); err != nil || len(keys) == 0 {
		return err
	}
	return c.run(ctx, func(ctx context.Context) error {
		if len(keys) == 1 {
			return mapErr("del", c.rdb.Del(ctx, c.key(keys[0])).Err())
		}
		_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Del(ctx, c.key(k))
			}
			return nil
		})
		return mapErr("del", err)
	})
}

// TTL implements cache.Cache (PTTL: -2 is a miss, -1 no expiry).
func (c *Cache) TTL(ctx context.Context, key string) (time.Duration, error) {
	var d time.Duration
	err := c.run(ctx, func(ctx context.Context) (err error) {
		d, err = c.rdb.PTTL(ctx, c.key(key)).Result()
		return mapErr("pttl", err)
	})
	if err != nil {
		return 0, err
	}
	switch {
	case d == -2:
		return 0, cache.ErrMiss
	case d < 0:
		return 0, nil
	default:
		return d, nil
	}
}

// Allow implements cache.Cache with redis_rate; the bucket lives at
// KeyPrefix+"rate:"+key.
func (c *Cache) Allow(ctx context.Context, key string, limit cache.Limit) (cache.Result, error) {
	if limit.Rate <= 0 || limit.Burst <= 0 || limit.Period <= 0 {
		return cache.Result{}, errBadLimit
	}
	var res *redis_rate.Result
	err := c.run(ctx, func(ctx context.Context) (err error) {
		res, err = c.limiter.Allow(ctx, key, redis_rate.Limit{Rate: limit.Rate, Burst: limit.Burst, Period: limit.Period})
		return mapErr("allow", err)
	})
	if err != nil {
		return cache.Result{}, err
	}
	out := cache.Result{Allowed: res.Allowed > 0, Remaining: res.Remaining}
	if !out.Allowed && res.RetryAfter > 0 {
		out.RetryAfter = res.RetryAfter // redis_rate says -1 when allowed
	}
	return out, nil
}

// Publish implements cache.Cache.
func (c *Cache) Publish(ctx context.Context, channel string, msg []byte) error {
	return c.run(ctx, func(ctx context.Context) error {
		return mapErr("publish", c.rdb.Publish(ctx, c.key(channel), msg).Err())
	})
}

// Ping implements cache.Cache.
func (c *Cache) Ping(ctx context.Context) error {
	return c.run(ctx, func(ctx context.Context) error {
		return mapErr("ping", c.rdb.Ping(ctx).Err())
	})
}

// Close ends every subscription and closes the client.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return nil
	}
	c.closed.Store(true)
	close(c.done)
	c.mu.Unlock()
	c.subs.Wait()
	return c.rdb.Close()
}
