package cachetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache"
)

// counterTests cover Incr.
var counterTests = []test{
	{"Incr/counts from 1", func(t *testing.T, c cache.Cache, ks keyspace) {
		k := ks.key("n")
		for want := int64(1); want <= 3; want++ {
			got, err := c.Incr(ctx(t), k, time.Minute)
			if err != nil || got != want {
				t.Fatalf("Incr = %d, %v; want %d, nil", got, err, want)
			}
		}
		wantValue(t, c, k, "3")
	}},
	{"Incr/concurrent increments are atomic", func(t *testing.T, c cache.Cache, ks keyspace) {
		const n = 50
		k := ks.key("n")
		got := make([]int64, n)
		errs := make([]error, n)
		race(n, func(i int) { got[i], errs[i] = c.Incr(ctx(t), k, time.Minute) })
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Incr #%d: %v", i, err)
			}
		}
		slices.Sort(got)
		for i, v := range got {
			if v != int64(i+1) {
				t.Fatalf("Incr results %v, want each of 1..%d exactly once", got, n)
			}
		}
		wantValue(t, c, k, "50")
	}},
	{"Incr/TTL set on create, not extended", func(t *testing.T, c cache.Cache, ks keyspace) {
		k := ks.key("n")
		const ttl = 1200 * time.Millisecond
		if n, err := c.Incr(ctx(t), k, ttl); n != 1 || err != nil {
			t.Fatalf("Incr = %d, %v; want 1, nil", n, err)
		}
		wantTTL(t, c, k, ttl-400*time.Millisecond, ttl)
		time.Sleep(500 * time.Millisecond)
		if n, err := c.Incr(ctx(t), k, ttl); n != 2 || err != nil {
			t.Fatalf("second Incr = %d, %v; want 2, nil", n, err)
		}
		// Had the second Incr reset the expiry, the TTL would be ~1.2s.
		wantTTL(t, c, k, 0, ttl-400*time.Millisecond)
		time.Sleep(ttl - 500*time.Millisecond + 400*time.Millisecond)
		if n, err := c.Incr(ctx(t), k, ttl); n != 1 || err != nil {
			t.Fatalf("Incr after expiry = %d, %v; want 1 (a new counter), nil", n, err)
		}
	}},
	{"Incr/zero TTL never expires", func(t *testing.T, c cache.Cache, ks keyspace) {
		k := ks.key("n")
		if _, err := c.Incr(ctx(t), k, 0); err != nil {
			t.Fatalf("Incr: %v", err)
		}
		wantNoExpiry(t, c, k)
	}},
	{"Incr/existing key keeps its expiry", func(t *testing.T, c cache.Cache, ks keyspace) {
		none, hour := ks.key("none"), ks.key("hour")
		mustSet(t, c, none, "41", 0)
		mustSet(t, c, hour, "7", time.Hour)
		if n, err := c.Incr(ctx(t), none, time.Second); n != 42 || err != nil {
			t.Fatalf("Incr(none) = %d, %v; want 42, nil", n, err)
		}
		wantNoExpiry(t, c, none)
		if n, err := c.Incr(ctx(t), hour, time.Second); n != 8 || err != nil {
			t.Fatalf("Incr(hour) = %d, %v; want 8, nil", n, err)
		}
		wantTTL(t, c, hour, 59*time.Minute, time.Hour)
	}},
	{"Incr/non-integer value is an error", func(t *testing.T, c cache.Cache, ks keyspace) {
		k := ks.key("n")
		mustSet(t, c, k, "abc", 0)
		n, err := c.Incr(ctx(t), k, time.Minute)
		if err == nil || errors.Is(err, cache.ErrMiss) || errors.Is(err, cache.ErrUnavailable) {
			t.Fatalf("Incr on %q = %d, %v; want a data error", "abc", n, err)
		}
		wantValue(t, c, k, "abc")
	}},
}
