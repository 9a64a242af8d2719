package memcache

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/authd/authd/internal/cache"
)

// rateKeyPrefix matches the key prefix of github.com/go-redis/redis_rate,
// so a bucket lives at the same key in both implementations and Del resets
// it in both.
const rateKeyPrefix = "rate:"

var errBadLimit = errors.New("memcache: invalid limit: Rate, Burst and Period must be > 0")

// Allow implements cache.Cache with the GCRA of redis_rate v10 (AllowN with
// n = 1). The bucket state is the theoretical arrival time (TAT) stored as
// Unix nanoseconds under "rate:"+key, expiring when the bucket is full
// again.
func (c *Cache) Allow(ctx context.Context, key string, limit cache.Limit) (cache.Result, error) {
	if limit.Rate <= 0 || limit.Burst <= 0 || limit.Period <= 0 {
		return cache.Result{}, errBadLimit
	}
	now, err := c.begin(ctx)
	if err != nil {
		return cache.Result{}, err
	}
	defer c.mu.Unlock()

	key = rateKeyPrefix + key
	tat := now
	if e := c.lookup(key, now); e != nil {
		stored, err := strconv.ParseInt(string(e.val), 10, 64)
		if err != nil {
			return cache.Result{}, errNotInteger
		}
		tat = max(stored, now)
	}
	newTAT, res := gcra(now, tat, limit)
	if res.Allowed {
		c.store(key, strconv.AppendInt(nil, newTAT, 10), newTAT)
	}
	return res, nil
}

// gcra is redis_rate's allowN script for one event, in integer nanoseconds
// instead of float seconds: tat >= now is the bucket's theoretical arrival
// time; it returns the new TAT (to store when allowed) and the result.
//
// The emission interval (Period/Rate) is fractional in general. The
// increment and the burst offset are rounded down, so that Burst events
// in the same nanosecond are always allowed, and Remaining is computed
// with 1ns of slack, so that rounding never reports one event fewer than
// redis_rate would.
func gcra(now, tat int64, l cache.Limit) (int64, cache.Result) {
	emission := float64(l.Period) / float64(l.Rate)
	increment := max(int64(emission), 1)
	burstOffset := int64(emission * float64(l.Burst))

	newTAT := tat + increment
	allowAt := newTAT - burstOffset
	diff := now - allowAt
	if diff < 0 {
		return tat, cache.Result{Allowed: false, Remaining: 0, RetryAfter: time.Duration(-diff)}
	}
	remaining := min(int(float64(diff+1)/emission), l.Burst-1)
	return newTAT, cache.Result{Allowed: true, Remaining: remaining}
}
