package lastgood_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/lastgood"
)

var (
	errDown     = errors.New("dependency down")
	errNotFound = errors.New("not found")
)

// backend is a loader whose answer and health the test sets.
type backend struct {
	calls atomic.Int32
	value atomic.Value
	mu    sync.Mutex
	err   error
}

func (b *backend) load(context.Context) (string, error) {
	b.calls.Add(1)
	b.mu.Lock()
	e := b.err
	b.mu.Unlock()
	if e != nil {
		return "", e
	}
	return b.value.Load().(string), nil
}

func (b *backend) fail(err error) { b.mu.Lock(); b.err = err; b.mu.Unlock() }
func (b *backend) heal()          { b.fail(nil) }

func newCache(clk *clock.Fake) *lastgood.Cache[string, string] {
	return lastgood.New[string, string](lastgood.Config{
		Fresh: 10 * time.Second, StaleIfError: time.Minute, Backoff: time.Second,
		Outage: func(err error) bool { return errors.Is(err, errDown) }, Now: clk.Now,
	}, func(k string) string { return k })
}

func TestFreshThenStaleIfError(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	c := newCache(clk)
	b := &backend{}
	b.value.Store("v1")
	b.heal()
	ctx := context.Background()
	get := func() (string, error) { return c.Get(ctx, "k", b.load) }

	if v, err := get(); v != "v1" || err != nil {
		t.Fatalf("first get %q %v", v, err)
	}
	if v, _ := get(); v != "v1" || b.calls.Load() != 1 {
		t.Fatalf("fresh get loaded again (%d calls)", b.calls.Load())
	}
	b.value.Store("v2")
	clk.Advance(11 * time.Second)
	if v, _ := get(); v != "v2" || b.calls.Load() != 2 {
		t.Fatalf("after Fresh: %q, %d calls", v, b.calls.Load())
	}

	clk.Advance(11 * time.Second)
	b.fail(errDown)
	if v, err := get(); v != "v2" || err != nil {
		t.Fatalf("outage within stale-if-error: %q %v", v, err)
	}
	calls := b.calls.Load()
	for range 5 {
		if v, err := get(); v != "v2" || err != nil {
			t.Fatalf("outage: %q %v", v, err)
		}
	}
	if b.calls.Load() != calls {
		t.Errorf("the failing dependency was called %d more times within the back-off", b.calls.Load()-calls)
	}
	clk.Advance(2 * time.Second)
	_, _ = get()
	if b.calls.Load() != calls+1 {
		t.Errorf("after the back-off the dependency was not tried again")
	}
	if c.StaleAnswers() == 0 {
		t.Error("stale answers not counted")
	}
	clk.Advance(time.Minute)
	if _, err := get(); !errors.Is(err, errDown) {
		t.Fatalf("beyond stale-if-error: %v, want the outage", err)
	}
	b.heal()
	if v, err := get(); v != "v2" || err != nil {
		t.Fatalf("after recovery: %q %v", v, err)
	}
}

// TestAnswersAreNotOutages: an error that is an answer (not found) is
// returned at once, never papered over by an old value.
func TestAnswersAreNotOutages(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	c := newCache(clk)
	b := &backend{}
	b.value.Store("v1")
	b.heal()
	ctx := context.Background()
	if _, err := c.Get(ctx, "k", b.load); err != nil {
		t.Fatal(err)
	}
	clk.Advance(11 * time.Second)
	b.fail(errNotFound)
	if _, err := c.Get(ctx, "k", b.load); !errors.Is(err, errNotFound) {
		t.Fatalf("got %v, want not found", err)
	}
}

// TestRemove: a removed key loads again, and a load that began before the
// removal is not stored.
func TestRemove(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	c := newCache(clk)
	ctx := context.Background()
	if _, err := c.Get(ctx, "k", func(context.Context) (string, error) {
		c.Remove("k") // an invalidation while the read is in flight
		return "old", nil
	}); err != nil {
		t.Fatal(err)
	}
	v, _ := c.Get(ctx, "k", func(context.Context) (string, error) { return "new", nil })
	if v != "new" {
		t.Fatalf("a value read before Remove was kept: %q", v)
	}
}
