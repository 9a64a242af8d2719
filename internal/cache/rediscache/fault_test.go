package rediscache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/cache/rediscache"
	"github.com/authd/authd/internal/cache/rediscache/redistest"
)

// TestHungServer: a paused Redis costs each call at most the operation
// timeout, and after a few failures nothing (the breaker answers at once);
// once the server answers again, so does the cache.
func TestHungServer(t *testing.T) {
	srv := redistest.Start(t)
	const op = 150 * time.Millisecond
	c, err := rediscache.New(context.Background(), srv.URL(), rediscache.Options{OpTimeout: op, BreakerCooldown: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	for i := range 3 {
		start := time.Now()
		_, err := c.Get(ctx, "k")
		took := time.Since(start)
		if !errors.Is(err, cache.ErrUnavailable) {
			t.Fatalf("call %d to a hung server: %v, want ErrUnavailable", i, err)
		}
		if took > 2*op+100*time.Millisecond {
			t.Errorf("call %d to a hung server took %v, want about %v", i, took, op)
		}
	}
	if !c.BreakerOpen() {
		t.Fatal("the breaker did not open after repeated failures")
	}
	start := time.Now()
	if _, err := c.Get(ctx, "k"); !errors.Is(err, cache.ErrUnavailable) || time.Since(start) > 20*time.Millisecond {
		t.Errorf("with the breaker open: %v after %v, want an immediate ErrUnavailable", err, time.Since(start))
	}
	srv.Resume()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := c.Get(ctx, "k")
		if err == nil && string(b) == "v" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the server resumed: %q %v", b, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c.BreakerOpen() {
		t.Error("the breaker stayed open after a successful call")
	}
}

// TestStartWithoutServer: Open does not need the server; calls fail until
// it listens, then work.
func TestStartWithoutServer(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	c, err := rediscache.Open(srv.URL(), rediscache.Options{OpTimeout: 100 * time.Millisecond, BreakerCooldown: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Ping(ctx); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("ping with no server: %v", err)
	}
	srv.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("never connected once the server listened")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
