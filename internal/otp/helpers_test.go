package otp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/cache/rediscache"
	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/store"
)

const (
	testSecret   = "otp-test-system-secret-0123456789abcdef"
	testRedisEnv = "AUTHD_TEST_REDIS_URL"
	testPhone    = "+447566224395"
	testEmail    = "jimmy@example.com"
)

// newClock is the injected time; memcache shares it, Redis keeps its own.
func newClock() *clock.Fake { return clock.NewFake(time.Now().Truncate(time.Second)) }

// backend builds a cache for one test.
type backend struct {
	name string
	// realTime: the cache's TTLs and rate limits run on the wall clock
	// (Redis), not the injected one.
	realTime bool
	open     func(t testing.TB, clk *clock.Fake) cache.Cache
}

func backends() []backend {
	return []backend{
		{name: "memcache", open: func(t testing.TB, clk *clock.Fake) cache.Cache {
			c := memcache.New(memcache.Options{Now: clk.Now})
			t.Cleanup(func() { c.Close() })
			return c
		}},
		{name: "redis", realTime: true, open: func(t testing.TB, _ *clock.Fake) cache.Cache {
			url := os.Getenv(testRedisEnv)
			if url == "" {
				t.Skipf("%s not set, skipping OTP storage conformance on Redis", testRedisEnv)
			}
			prefix := uniquePrefix(t, url)
			c, err := rediscache.New(context.Background(), url, rediscache.Options{KeyPrefix: prefix})
			if err != nil {
				t.Fatalf("rediscache: %v", err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}},
	}
}

// uniquePrefix isolates a test's Redis keys and deletes them afterwards.
func uniquePrefix(t testing.TB, url string) string {
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "authdtest:otp:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Error(err)
			return
		}
		rc := redis.NewClient(opts)
		defer rc.Close()
		ctx := context.Background()
		iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rc.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// env is one service under test with everything it talks to.
type env struct {
	b      backend
	svc    *Service
	cache  cache.Cache
	spy    *spyCache
	sender *sender.Fake
	clock  *clock.Fake
	logs   *syncBuffer
}

// wait lets d pass for the service and, on a real-time backend, for the
// cache too.
func (e *env) wait(d time.Duration) {
	e.clock.Advance(d)
	if e.b.realTime {
		time.Sleep(d)
	}
}

// testConfig has no limits, so tests enable only what they exercise.
func testConfig() Config {
	return Config{CodeLength: 6, TTL: 5 * time.Minute, SendTimeout: 2 * time.Second, MaxAttempts: 5}
}

func newEnv(t testing.TB, b backend, cfg Config) *env {
	t.Helper()
	clk := newClock()
	c := b.open(t, clk)
	spy := &spyCache{Cache: c}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := &sender.Fake{}
	svc, err := New(spy, f, testSecret, cfg, logger, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	svc.pacer = newPacer(time.Millisecond, svc.cfg.SendTimeout) // undelivered requests: fast in tests
	return &env{b: b, svc: svc, cache: c, spy: spy, sender: f, clock: clk, logs: logs}
}

// forEachBackend runs fn against every cache backend (Redis when
// AUTHD_TEST_REDIS_URL is set).
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

func smsRequest(to string) Request {
	return Request{BusinessID: "biz-1", Mode: store.ModeLive, APIKeyID: "key-1", IP: "203.0.113.7",
		Channel: ChannelSMS, To: to, Region: "GB", Purpose: PurposeSignIn, Deliver: true,
		Data: map[string]string{"contact_id": "contact-secret-42"}}
}

func emailRequest(to string) Request {
	return Request{BusinessID: "biz-1", Mode: store.ModeTest, APIKeyID: "key-1", IP: "203.0.113.7",
		Channel: ChannelEmail, To: to, Purpose: PurposeRegister, Deliver: true}
}

// issue issues r and returns the id and the delivered code.
func (e *env) issue(t testing.TB, r Request) (Issued, string) {
	t.Helper()
	is, err := e.svc.Issue(context.Background(), r)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	m, ok := e.sender.Last()
	if !ok || m.OTPID != is.ID {
		t.Fatalf("no message delivered for %s", is.ID)
	}
	return is, m.Code
}

// spyCache records every key written and every value stored, so tests
// can check nothing sensitive reaches the cache in the clear.
type spyCache struct {
	cache.Cache
	mu     sync.Mutex
	keys   []string
	values [][]byte
}

func (s *spyCache) note(key string, v []byte) {
	s.mu.Lock()
	s.keys = append(s.keys, key)
	if v != nil {
		s.values = append(s.values, bytes.Clone(v))
	}
	s.mu.Unlock()
}

func (s *spyCache) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	s.note(key, v)
	return s.Cache.Set(ctx, key, v, ttl)
}

func (s *spyCache) SetNX(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	s.note(key, v)
	return s.Cache.SetNX(ctx, key, v, ttl)
}

func (s *spyCache) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	s.note(key, nil)
	return s.Cache.Incr(ctx, key, ttl)
}

func (s *spyCache) Allow(ctx context.Context, key string, l cache.Limit) (cache.Result, error) {
	s.note(key, nil)
	return s.Cache.Allow(ctx, key, l)
}

func (s *spyCache) written() ([]string, [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.keys...), append([][]byte(nil), s.values...)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines decodes the JSON log lines.
func (s *syncBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func slogJSON(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
