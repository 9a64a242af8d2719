package cache

import (
	"context"
	"errors"
	"time"
)

// ErrMiss is returned by Get and GetDel when the key does not exist or has
// expired.
var ErrMiss = errors.New("cache: miss")

// ErrUnavailable wraps failures to reach the backing service.
var ErrUnavailable = errors.New("cache: unavailable")

// Limit describes a rate limit: at most Rate events per Period, with bursts
// of up to Burst events (Burst >= 1; Burst == Rate is a plain window).
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// PerSecond, PerMinute and PerHour build common limits with Burst == Rate.
func PerSecond(n int) Limit { return Limit{Rate: n, Burst: n, Period: time.Second} }

// PerMinute is n events a minute.
func PerMinute(n int) Limit { return Limit{Rate: n, Burst: n, Period: time.Minute} }

// PerHour is n events an hour.
func PerHour(n int) Limit { return Limit{Rate: n, Burst: n, Period: time.Hour} }

// Result is the outcome of one Allow call.
type Result struct {
	// Allowed is true when the event fits the limit (and was counted).
	Allowed bool
	// Remaining is how many more events would be allowed right now.
	Remaining int
	// RetryAfter is how long to wait before the next event would be
	// allowed; zero when Allowed.
	RetryAfter time.Duration
}

// Cache is the shared state. Keys are plain strings; callers namespace them
// ("otp:", "rl:", ...). Every method is safe for concurrent use. A TTL of
// zero means "no expiry"; a negative TTL is rejected with an error and
// stores nothing (it never means "no expiry" or "keep the old expiry").
type Cache interface {
	// Get returns the value stored at key, or ErrMiss.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value at key with the given TTL, replacing any value.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX stores value only when key does not exist; it reports whether
	// it stored it.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// GetDel atomically returns and removes the value at key (ErrMiss when
	// absent): a single-use take.
	GetDel(ctx context.Context, key string) ([]byte, error)
	// Incr atomically adds 1 to the integer at key and returns the new
	// value. When it creates the key, it sets ttl on it; later calls leave
	// the expiry unchanged. A value that is not a decimal int64 is an error.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	// Del removes keys; missing keys are not an error.
	Del(ctx context.Context, keys ...string) error
	// TTL returns the remaining time to live of key, zero when key has no
	// expiry, or ErrMiss.
	TTL(ctx context.Context, key string) (time.Duration, error)

	// Allow counts one event against the limit for key (GCRA, like
	// go-redis/redis_rate) and reports whether it was allowed. A limit with
	// Rate, Burst or Period <= 0 is an error.
	Allow(ctx context.Context, key string, limit Limit) (Result, error)

	// Publish sends msg to every current subscriber of channel, on every
	// replica sharing the backend.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe delivers the messages published on channel from now on
	// (the subscription is in place when Subscribe returns) until ctx is
	// cancelled or the cache is closed, when the returned channel is
	// closed. Delivery is at most once: a subscriber that falls behind its
	// buffer loses messages rather than blocking Publish.
	Subscribe(ctx context.Context, channel string) (<-chan []byte, error)

	// Ping checks the backend is reachable.
	Ping(ctx context.Context) error
	// Close releases the cache and closes every subscription channel.
	// Afterwards every method fails with an error wrapping ErrUnavailable;
	// calling Close again returns nil.
	Close() error
}
