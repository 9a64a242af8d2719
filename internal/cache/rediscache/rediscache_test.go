package rediscache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/cache/cachetest"
	"github.com/authd/authd/internal/cache/rediscache"
)

const testRedisEnv = "AUTHD_TEST_REDIS_URL"

// redisURL returns the test server's URL or skips the test.
func redisURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(testRedisEnv)
	if u == "" {
		tb.Skipf("%s not set, skipping Redis conformance tests", testRedisEnv)
	}
	return u
}

// uniquePrefix returns a fresh KeyPrefix and deletes its keys when tb ends.
func uniquePrefix(tb testing.TB, url string) string {
	tb.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	prefix := "authdtest:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() { deleteKeys(tb, url, prefix+"*") })
	return prefix
}

// rawClient is a plain go-redis client on the test server.
func rawClient(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(opts)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func deleteKeys(tb testing.TB, url, pattern string) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Error(err)
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("cleaning up %s: %v", pattern, err)
	}
}

func newTestCache(tb testing.TB) *rediscache.Cache {
	tb.Helper()
	url := redisURL(tb)
	c, err := rediscache.New(context.Background(), url, rediscache.Options{KeyPrefix: uniquePrefix(tb, url)})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	redisURL(t)
	cachetest.RunTests(t, func(t *testing.T) cache.Cache { return newTestCache(t) })
}

func TestNewUnreachableFailsFast(t *testing.T) {
	start := time.Now()
	c, err := rediscache.New(t.Context(), "redis://:secretpw@127.0.0.1:1/0", rediscache.Options{})
	if err == nil {
		_ = c.Close()
		t.Fatal("New on an unreachable server: nil error")
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("New took %v to fail, want a few seconds at most", took)
	}
	if !errors.Is(err, cache.ErrUnavailable) {
		t.Errorf("New error %q does not wrap ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "secretpw") {
		t.Errorf("New error leaks the password: %q", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("New error %q does not name the server", err)
	}
}

func TestNewWrongPassword(t *testing.T) {
	url := redisURL(t)
	bad := strings.Replace(url, "redis://", "redis://authd-test-user:wrongpw-7f3a@", 1)
	if strings.Contains(url, "@") {
		t.Skip("test server URL already has credentials")
	}
	c, err := rediscache.New(t.Context(), bad, rediscache.Options{})
	if err == nil {
		_ = c.Close()
		t.Fatal("New with wrong credentials: nil error")
	}
	if !errors.Is(err, cache.ErrUnavailable) {
		t.Errorf("New error %q does not wrap ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "wrongpw-7f3a") {
		t.Errorf("New error leaks the password: %q", err)
	}
}

func TestUnreachableServerIsUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{
		Addr:          "127.0.0.1:1",
		MaxRetries:    -1,
		DialerRetries: 1,
		DialTimeout:   time.Second,
	})
	c := rediscache.NewFromClient(client, rediscache.Options{})
	t.Cleanup(func() { _ = c.Close() })
	ctx := t.Context()
	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := c.Get(ctx, "k"); return err }},
		{"Set", func() error { return c.Set(ctx, "k", []byte("v"), time.Minute) }},
		{"SetNX", func() error { _, err := c.SetNX(ctx, "k", []byte("v"), time.Minute); return err }},
		{"GetDel", func() error { _, err := c.GetDel(ctx, "k"); return err }},
		{"Incr", func() error { _, err := c.Incr(ctx, "k", time.Minute); return err }},
		{"Del one", func() error { return c.Del(ctx, "k") }},
		{"Del many", func() error { return c.Del(ctx, "k", "l") }},
		{"TTL", func() error { _, err := c.TTL(ctx, "k"); return err }},
		{"Allow", func() error { _, err := c.Allow(ctx, "k", cache.PerMinute(5)); return err }},
		{"Publish", func() error { return c.Publish(ctx, "ch", []byte("m")) }},
		{"Subscribe", func() error { _, err := c.Subscribe(ctx, "ch"); return err }},
		{"Ping", func() error { return c.Ping(ctx) }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, cache.ErrUnavailable) {
				t.Fatalf("%s: %v, want an error wrapping ErrUnavailable", tc.name, err)
			}
			if errors.Is(err, cache.ErrMiss) {
				t.Fatalf("%s: %v also matches ErrMiss", tc.name, err)
			}
		})
	}
}

func TestKeyPrefixOnKeysBucketsAndChannels(t *testing.T) {
	url := redisURL(t)
	prefix := uniquePrefix(t, url)
	c, err := rediscache.New(t.Context(), url, rediscache.Options{KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	raw := rawClient(t, url)
	ctx := t.Context()

	if err := c.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Allow(ctx, "rl", cache.PerMinute(3)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{prefix + "k", prefix + "rate:rl"} {
		if n, err := raw.Exists(ctx, k).Result(); err != nil || n != 1 {
			t.Errorf("EXISTS %s = %d, %v; want 1", k, n, err)
		}
	}
	if n, err := raw.Exists(ctx, "k", "rate:rl").Result(); err != nil || n != 0 {
		t.Errorf("unprefixed keys exist: %d, %v", n, err)
	}

	ps := raw.Subscribe(ctx, prefix+"ch")
	t.Cleanup(func() { _ = ps.Close() })
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "ch", []byte("m")); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	msg, err := ps.ReceiveMessage(rctx)
	if err != nil || msg.Payload != "m" {
		t.Fatalf("message on %sch = %v, %v; want \"m\"", prefix, msg, err)
	}
}

func TestDefaultKeyPrefix(t *testing.T) {
	url := redisURL(t)
	raw := rawClient(t, url)
	c := rediscache.NewFromClient(rawClient(t, url), rediscache.Options{})
	t.Cleanup(func() { _ = c.Close() })
	key := "authdtest-default:" + rand.Text()
	t.Cleanup(func() { raw.Del(context.Background(), rediscache.DefaultKeyPrefix+key) })
	if err := c.Set(t.Context(), key, []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := raw.Get(t.Context(), rediscache.DefaultKeyPrefix+key).Result(); err != nil || got != "v" {
		t.Fatalf("GET %s%s = %q, %v; want \"v\"", rediscache.DefaultKeyPrefix, key, got, err)
	}
}

func BenchmarkAllow(b *testing.B) {
	cachetest.BenchAllow(b, newTestCache(b))
}

func BenchmarkGetSet(b *testing.B) {
	cachetest.BenchGetSet(b, newTestCache(b))
}
