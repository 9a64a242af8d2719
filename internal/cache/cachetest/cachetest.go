package cachetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache"
)

// test is one conformance check; it gets a fresh cache from the backend.
type test struct {
	name string
	run  func(t *testing.T, c cache.Cache, ks keyspace)
}

// RunTests runs the conformance suite against the caches newCache returns.
// newCache is called once per subtest; RunTests closes each cache when its
// subtest ends (Close must therefore be idempotent, as the contract says).
// Subtests run in parallel and the whole suite takes a few seconds, most
// of it spent sleeping through short TTLs.
func RunTests(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	t.Helper()
	var all []test
	all = append(all, kvTests...)
	all = append(all, counterTests...)
	all = append(all, rateTests...)
	all = append(all, pubsubTests...)
	all = append(all, lifecycleTests...)
	for _, tt := range all {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCache(t)
			t.Cleanup(func() { _ = c.Close() })
			tt.run(t, c, newKeyspace(t))
		})
	}
}

// keyspace makes key and channel names unique to one test run.
type keyspace string

func newKeyspace(t *testing.T) keyspace {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random key prefix: %v", err)
	}
	return keyspace("cachetest:" + hex.EncodeToString(b) + ":")
}

func (ks keyspace) key(name string) string { return string(ks) + name }

// ctx is the context for one call; it ends with the test.
func ctx(t *testing.T) context.Context {
	return t.Context()
}

func mustSet(t *testing.T, c cache.Cache, key, val string, ttl time.Duration) {
	t.Helper()
	if err := c.Set(ctx(t), key, []byte(val), ttl); err != nil {
		t.Fatalf("Set(%q, %q, %v): %v", key, val, ttl, err)
	}
}

// wantValue checks that key holds want.
func wantValue(t *testing.T, c cache.Cache, key, want string) {
	t.Helper()
	got, err := c.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

// wantMiss checks that key is absent.
func wantMiss(t *testing.T, c cache.Cache, key string) {
	t.Helper()
	got, err := c.Get(ctx(t), key)
	if !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("Get(%q) = %q, %v; want ErrMiss", key, got, err)
	}
	if got != nil {
		t.Fatalf("Get(%q) returned %q with ErrMiss, want nil", key, got)
	}
}

// wantTTL checks that key's TTL is in (lo, hi].
func wantTTL(t *testing.T, c cache.Cache, key string, lo, hi time.Duration) {
	t.Helper()
	got, err := c.TTL(ctx(t), key)
	if err != nil {
		t.Fatalf("TTL(%q): %v", key, err)
	}
	if got <= lo || got > hi {
		t.Fatalf("TTL(%q) = %v, want in (%v, %v]", key, got, lo, hi)
	}
}

// wantNoExpiry checks that key exists and has no expiry.
func wantNoExpiry(t *testing.T, c cache.Cache, key string) {
	t.Helper()
	got, err := c.TTL(ctx(t), key)
	if err != nil || got != 0 {
		t.Fatalf("TTL(%q) = %v, %v; want 0 (no expiry), nil", key, got, err)
	}
}

// lifecycleTests cover Ping, cancelled contexts and Close.
var lifecycleTests = []test{
	{"Ping", func(t *testing.T, c cache.Cache, _ keyspace) {
		if err := c.Ping(ctx(t)); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}},
	{"Lifecycle/cancelled context", func(t *testing.T, c cache.Cache, ks keyspace) {
		cctx, cancel := context.WithCancel(ctx(t))
		cancel()
		if _, err := c.Get(cctx, ks.key("k")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with cancelled ctx: %v, want context.Canceled", err)
		}
		if err := c.Set(cctx, ks.key("k"), []byte("v"), time.Minute); !errors.Is(err, context.Canceled) {
			t.Fatalf("Set with cancelled ctx: %v, want context.Canceled", err)
		}
		wantMiss(t, c, ks.key("k"))
	}},
	{"Lifecycle/closed cache is unavailable", func(t *testing.T, c cache.Cache, ks keyspace) {
		k := ks.key("k")
		mustSet(t, c, k, "v", time.Minute)
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("second Close: %v, want nil", err)
		}
		x := context.Background()
		calls := []struct {
			name string
			call func() error
		}{
			{"Get", func() error { _, err := c.Get(x, k); return err }},
			{"Set", func() error { return c.Set(x, k, []byte("v"), 0) }},
			{"SetNX", func() error { _, err := c.SetNX(x, k, []byte("v"), 0); return err }},
			{"GetDel", func() error { _, err := c.GetDel(x, k); return err }},
			{"Incr", func() error { _, err := c.Incr(x, k, 0); return err }},
			{"Del", func() error { return c.Del(x, k) }},
			{"TTL", func() error { _, err := c.TTL(x, k); return err }},
			{"Allow", func() error { _, err := c.Allow(x, k, cache.PerMinute(1)); return err }},
			{"Publish", func() error { return c.Publish(x, k, []byte("m")) }},
			{"Subscribe", func() error { _, err := c.Subscribe(x, k); return err }},
			{"Ping", func() error { return c.Ping(x) }},
		}
		for _, tc := range calls {
			if err := tc.call(); !errors.Is(err, cache.ErrUnavailable) {
				t.Errorf("%s after Close: %v, want ErrUnavailable", tc.name, err)
			}
		}
	}},
}
