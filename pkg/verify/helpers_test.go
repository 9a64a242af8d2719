package verify

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/pkg/verify/verifytest"
)

// fakeClock is a clock moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// withFeedHooks makes the feed reconnect within milliseconds and tells
// events of every event it handled (":" for a comment).
func withFeedHooks(events chan<- string) Option {
	return func(c *config) {
		c.minBackoff, c.maxBackoff = time.Millisecond, 5*time.Millisecond
		c.afterEvent = func(name string) {
			select {
			case events <- name:
			default:
			}
		}
	}
}

// env is a fake authd and a Verifier of it, on one fake clock.
type env struct {
	t      testing.TB
	authd  *verifytest.Issuer
	clock  *fakeClock
	v      *Verifier
	events chan string
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newEnv starts a fake authd on a fake clock.
func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, authd: verifytest.NewIssuer(), clock: newClock(), events: make(chan string, 1024)}
	e.authd.SetClock(e.clock.Now)
	t.Cleanup(e.authd.Close)
	return e
}

// start starts a fake authd and a Verifier of it (e.v): the issuer as
// audience, the fake clock, then opts.
func start(t testing.TB, opts ...Option) *env {
	t.Helper()
	e := newEnv(t)
	e.v = e.newVerifier(opts...)
	return e
}

// newVerifier returns a Verifier of the fake authd, closed at the end of
// the test.
func (e *env) newVerifier(opts ...Option) *Verifier {
	e.t.Helper()
	base := []Option{WithAudience(e.authd.URL()), WithClock(e.clock.Now), WithLogger(quiet),
		WithHTTPClient(e.authd.Client()), withFeedHooks(e.events)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := New(ctx, e.authd.URL(), append(base, opts...)...)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.t.Cleanup(v.Close)
	return v
}

// feedOn is the option list of a Verifier that follows the feed.
func feedOn() []Option {
	return []Option{WithRevocationFeed(verifytest.FeedClientID, verifytest.FeedClientSecret)}
}

// waitFor waits, as the feed handles events, until cond holds.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-e.events:
		case <-deadline.C:
			e.t.Fatalf("timed out waiting for %s (status %+v)", what, e.v.Status())
		}
	}
}

// token signs the default claims changed by edit.
func (e *env) token(edit func(c map[string]any)) string {
	c := e.authd.Claims()
	if edit != nil {
		edit(c)
	}
	return e.authd.Token(c)
}
