package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/cache/cachetest"
	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/clock"
)

func TestConformance(t *testing.T) {
	cachetest.RunTests(t, func(*testing.T) cache.Cache {
		return memcache.New(memcache.Options{})
	})
}

// newClock is a settable clock for Options.Now.
func newClock() *clock.Fake { return clock.NewFake(time.Unix(1_700_000_000, 0)) }

func newCache(t *testing.T, opts memcache.Options) *memcache.Cache {
	t.Helper()
	c := memcache.New(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestInjectedClockExpiry(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	c := newCache(t, memcache.Options{Now: clk.Now})
	if err := c.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Incr(ctx, "n", time.Minute); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name    string
		advance time.Duration
		wantHit bool
		wantTTL time.Duration
	}{
		{"fresh", 0, true, time.Minute},
		{"just before expiry", time.Minute - time.Nanosecond, true, time.Nanosecond},
		{"at expiry", time.Nanosecond, false, 0},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		_, err := c.Get(ctx, "k")
		if hit := err == nil; hit != s.wantHit {
			t.Fatalf("%s: Get err = %v, want hit %v", s.name, err, s.wantHit)
		}
		ttl, err := c.TTL(ctx, "k")
		switch {
		case s.wantHit && (err != nil || ttl != s.wantTTL):
			t.Fatalf("%s: TTL = %v, %v; want %v", s.name, ttl, err, s.wantTTL)
		case !s.wantHit && !errors.Is(err, cache.ErrMiss):
			t.Fatalf("%s: TTL err = %v, want ErrMiss", s.name, err)
		}
	}
	if n, err := c.Incr(ctx, "n", time.Minute); n != 1 || err != nil {
		t.Fatalf("Incr after expiry = %d, %v; want 1", n, err)
	}
}

func TestAllowInjectedClock(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name  string
		limit cache.Limit
	}{
		{"per second", cache.PerSecond(10)},
		{"fractional emission interval", cache.Limit{Rate: 3, Burst: 3, Period: 2 * time.Second}},
		{"burst above rate", cache.Limit{Rate: 7, Burst: 20, Period: time.Second}},
		{"burst below rate", cache.Limit{Rate: 100, Burst: 3, Period: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			c := newCache(t, memcache.Options{Now: clk.Now})
			l := tt.limit
			emission := l.Period / time.Duration(l.Rate)

			// With a frozen clock, exactly Burst events pass.
			for want := l.Burst - 1; want >= 0; want-- {
				res, err := c.Allow(ctx, "k", l)
				if err != nil || !res.Allowed || res.Remaining != want || res.RetryAfter != 0 {
					t.Fatalf("Allow = %+v, %v; want allowed, remaining %d", res, err, want)
				}
			}
			res, err := c.Allow(ctx, "k", l)
			if err != nil || res.Allowed || res.Remaining != 0 {
				t.Fatalf("Allow past burst = %+v, %v; want refused", res, err)
			}
			if d := res.RetryAfter - emission; d < -time.Microsecond || d > time.Microsecond {
				t.Fatalf("RetryAfter = %v, want one emission interval %v", res.RetryAfter, emission)
			}

			// Just before RetryAfter: still refused; at RetryAfter: allowed.
			clk.Advance(res.RetryAfter - time.Nanosecond)
			if res, _ := c.Allow(ctx, "k", l); res.Allowed {
				t.Fatalf("Allow 1ns before RetryAfter = %+v, want refused", res)
			}
			clk.Advance(time.Nanosecond)
			if res, _ := c.Allow(ctx, "k", l); !res.Allowed || res.Remaining != 0 {
				t.Fatalf("Allow at RetryAfter = %+v, want allowed, remaining 0", res)
			}

			// After a whole burst's worth of time the bucket is full again.
			clk.Advance(l.Period*time.Duration(l.Burst)/time.Duration(l.Rate) + time.Nanosecond)
			if res, _ := c.Allow(ctx, "k", l); !res.Allowed || res.Remaining != l.Burst-1 {
				t.Fatalf("Allow after refill = %+v, want remaining %d", res, l.Burst-1)
			}
		})
	}
}

func TestMaxEntriesBound(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	const max = 10
	c := newCache(t, memcache.Options{Now: clk.Now, MaxEntries: max})

	set := func(k string, ttl time.Duration) {
		t.Helper()
		if err := c.Set(ctx, k, []byte(k), ttl); err != nil {
			t.Fatal(err)
		}
	}
	hit := func(k string) bool {
		_, err := c.Get(ctx, k)
		return err == nil
	}

	// 4 keys without expiry, 6 with expiries 1..6 minutes.
	for i := range 4 {
		set(fmt.Sprint("forever", i), 0)
	}
	for i := 1; i <= 6; i++ {
		set(fmt.Sprint("ttl", i), time.Duration(i)*time.Minute)
	}
	if n := c.Len(); n != max {
		t.Fatalf("Len = %d, want %d", n, max)
	}

	// ttl1 and ttl2 have expired: they go before anything live.
	clk.Advance(150 * time.Second)
	set("new1", 0)
	set("new2", 0)
	for _, k := range []string{"ttl1", "ttl2"} {
		if hit(k) {
			t.Fatalf("%s survived eviction", k)
		}
	}
	// Nothing has expired now: the entry closest to expiry (ttl3) goes.
	set("new3", 0)
	if hit("ttl3") || !hit("ttl4") {
		t.Fatalf("want ttl3 evicted before ttl4")
	}
	// Overwriting an existing key evicts nothing.
	set("ttl4", time.Hour)
	if !hit("ttl5") || !hit("ttl6") {
		t.Fatalf("overwrite evicted an entry")
	}
	// Once only keys without expiry are left, they are evicted too.
	for i := range 20 {
		set(fmt.Sprint("more", i), 0)
	}
	if n := c.Len(); n != max {
		t.Fatalf("Len = %d, want %d", n, max)
	}
	for i := 10; i < 20; i++ {
		if !hit(fmt.Sprint("more", i)) {
			t.Fatalf("more%d, just written, was evicted", i)
		}
	}

	// Incr, SetNX and Allow respect the bound as well.
	for i := range 50 {
		if _, err := c.Incr(ctx, fmt.Sprint("n", i), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SetNX(ctx, fmt.Sprint("nx", i), nil, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Allow(ctx, fmt.Sprint("rl", i), cache.PerMinute(5)); err != nil {
			t.Fatal(err)
		}
		if n := c.Len(); n > max {
			t.Fatalf("Len = %d, want <= %d", n, max)
		}
	}
}

func TestSweeperRemovesExpired(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	c := newCache(t, memcache.Options{Now: clk.Now})
	for i := range 3000 {
		if err := c.Set(ctx, fmt.Sprint("k", i), nil, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Set(ctx, "forever", nil, 0); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for c.Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("Len = %d after 5s, want 1: the sweeper did not run", c.Len())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSlowSubscriberDoesNotBlockPublish(t *testing.T) {
	ctx := t.Context()
	c := newCache(t, memcache.Options{})
	slow, err := c.Subscribe(ctx, "ch")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for i := range 10 * memcache.SubscriptionBuffer {
			if err := c.Publish(ctx, "ch", []byte{byte(i)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	if n := len(slow); n != memcache.SubscriptionBuffer {
		t.Fatalf("slow subscriber holds %d messages, want a full buffer of %d", n, memcache.SubscriptionBuffer)
	}
	if got := <-slow; got[0] != 0 {
		t.Fatalf("first buffered message = %d, want 0 (the oldest are kept)", got[0])
	}
}

func TestConcurrentMixedUse(t *testing.T) {
	// Exercises every method at once for the race detector.
	ctx, cancel := context.WithCancel(t.Context())
	c := newCache(t, memcache.Options{MaxEntries: 64})
	sub, err := c.Subscribe(ctx, "ch")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := fmt.Sprint("k", (g*i)%100)
				_ = c.Set(ctx, k, []byte("v"), time.Duration(i%3)*time.Millisecond)
				_, _ = c.Get(ctx, k)
				_, _ = c.SetNX(ctx, k, []byte("w"), time.Second)
				_, _ = c.GetDel(ctx, k)
				_, _ = c.Incr(ctx, k+"n", time.Second)
				_, _ = c.TTL(ctx, k)
				_ = c.Del(ctx, k, k+"n")
				_, _ = c.Allow(ctx, k, cache.PerSecond(100))
				_ = c.Publish(ctx, "ch", []byte(k))
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 64 {
		t.Fatalf("Len = %d, want <= 64", n)
	}
	cancel()
	for range sub {
	}
}

func BenchmarkAllow(b *testing.B) {
	c := memcache.New(memcache.Options{})
	defer c.Close()
	cachetest.BenchAllow(b, c)
}

func BenchmarkGetSet(b *testing.B) {
	c := memcache.New(memcache.Options{})
	defer c.Close()
	cachetest.BenchGetSet(b, c)
}
