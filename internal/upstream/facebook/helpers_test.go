package facebook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/upstream/facebook"
	"github.com/authd/authd/internal/upstream/facebook/facebooktest"
)

const (
	appID     = "1234567890"
	appSecret = "app-secret-0f9e8d7c6b5a"
	version   = "v21.0"
)

// fakeClock is the injected clock: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Second)} }

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

// syncBuffer collects log output from concurrent goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one client wired to fakes, sharing one clock.
type env struct {
	t      *testing.T
	graph  *facebooktest.Server
	ll     *facebooktest.LimitedLogin // nil unless newIDEnv
	clock  *fakeClock
	logs   *syncBuffer
	cache  *memcache.Cache
	cfg    facebook.Config
	client *facebook.Client
}

// newEnv starts a fake Graph API and a client for it, with a memcache
// answer cache; mods change the client's config.
func newEnv(t *testing.T, mods ...func(*facebook.Config)) *env {
	t.Helper()
	return newEnvWith(t, nil, mods...)
}

// newIDEnv is newEnv plus a fake Limited Login issuer.
func newIDEnv(t *testing.T, mods ...func(*facebook.Config)) *env {
	t.Helper()
	return newEnvWith(t, facebooktest.NewLimitedLogin(t), mods...)
}

func newEnvWith(t *testing.T, ll *facebooktest.LimitedLogin, mods ...func(*facebook.Config)) *env {
	t.Helper()
	e := &env{t: t, ll: ll, clock: newClock(), logs: &syncBuffer{}}
	e.graph = facebooktest.NewServer(t, appID, appSecret)
	e.graph.SetVersion(version)
	e.graph.SetNow(e.clock.Now)
	e.cache = memcache.New(memcache.Options{Now: e.clock.Now})
	t.Cleanup(func() { _ = e.cache.Close() })
	e.cfg = facebook.Config{
		AppID:               appID,
		AppSecret:           appSecret,
		GraphURL:            e.graph.URL(),
		GraphVersion:        version,
		LimitedLoginJWKSURL: "http://127.0.0.1:9/unused",
		LimitedLoginIssuer:  facebooktest.LimitedLoginIssuer,
		Timeout:             2 * time.Second,
		CacheTTL:            time.Minute,
	}
	if ll != nil {
		e.cfg.LimitedLoginJWKSURL = ll.JWKSURL()
		e.cfg.LimitedLoginIssuer = ll.Issuer()
	}
	for _, m := range mods {
		m(&e.cfg)
	}
	e.client = e.newClient(e.cfg, nil)
	return e
}

// newClient makes another client on e's cache, clock and logs.
func (e *env) newClient(cfg facebook.Config, hc *http.Client) *facebook.Client {
	e.t.Helper()
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := facebook.New(cfg, e.cache, hc, e.clock.Now, logger)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return c
}

// calls is the fake Graph's (debug_token, /me) call counts.
func (e *env) calls() [2]int { return [2]int{e.graph.Calls("/debug_token"), e.graph.Calls("/me")} }

// proofOf is appsecret_proof computed here, independently of the client.
func proofOf(secret, token string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// cacheKeyOf is the documented answer-cache key of token.
func cacheKeyOf(token string) string {
	sum := sha256.Sum256([]byte(appID + "\x00" + token))
	return "fb:at:" + hex.EncodeToString(sum[:])
}

// assertNoSecrets fails when s mentions any of secrets.
func assertNoSecrets(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Errorf("%s mentions the secret %q:\n%s", what, sec, s)
		}
	}
}

// rewriteTransport lets a test change requests on their way to Graph.
type rewriteTransport struct {
	base    http.RoundTripper
	rewrite func(*http.Request)
}

func (rt rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	rt.rewrite(r)
	return rt.base.RoundTrip(r)
}

func background() context.Context { return context.Background() }

var alice = facebook.Profile{
	ID:         "10215241773831025",
	FirstName:  "Alice",
	LastName:   "Liddell",
	Email:      "alice@example.com",
	PictureURL: "https://scontent.example.fbcdn.net/alice.jpg",
}

// newTestServer serves h until the test ends and returns its URL.
func newTestServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
