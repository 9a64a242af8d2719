package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/bootstrap"
	"github.com/authd/authd/internal/config"
)

const testSecret = "test-system-secret-0123456789abcdefghij"

// testServer is a fully wired authd behind a real HTTP server on loopback.
type testServer struct {
	App   *app.App
	URL   string
	Admin string
	Boot  *bootstrap.Result
	// close stops the public listener (authd "goes away" for its clients).
	close func()
}

// testConfig is a valid configuration on a fresh SQLite file (PostgreSQL
// with AUTHD_TEST_E2E_POSTGRES=1), and Redis when AUTHD_TEST_REDIS_URL is
// set.
func testConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg := config.Default()
	dir := t.TempDir()
	cfg.DataDir = dir
	cfg.Database.DSN = "sqlite://" + filepath.Join(dir, "authd.db")
	cfg.Secrets.System = testSecret
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Admin.Addr = "127.0.0.1:0"
	// AUTHD_TEST_E2E_POSTGRES=1 runs the end-to-end tests and benchmarks on
	// PostgreSQL (a fresh schema each) instead of SQLite.
	if dsn := os.Getenv("AUTHD_TEST_POSTGRES_DSN"); dsn != "" && os.Getenv("AUTHD_TEST_E2E_POSTGRES") == "1" {
		cfg.Database.DSN = akPostgresSchema(t, dsn)
	}
	if url := os.Getenv("AUTHD_TEST_REDIS_URL"); url != "" {
		cfg.Redis.URL = url
		// A random prefix: tests (and earlier runs) never share rate-limit
		// buckets, codes or revocations in the one Redis.
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Redis.KeyPrefix = "authd-e2e-" + hex.EncodeToString(b[:]) + ":"
	}
	return &cfg
}

// newTestServer starts authd on cfg (testConfig when nil), bootstraps it
// and serves the public and admin handlers with httptest, every exchange
// checked against openapi.yaml (oasCheck).
func newTestServer(t testing.TB, cfg *config.Config) *testServer {
	t.Helper()
	return newTestServerWith(t, cfg, app.Options{})
}

func newTestServerWith(t testing.TB, cfg *config.Config, opts app.Options) *testServer {
	t.Helper()
	return startTestServer(t, cfg, opts, nil)
}

// startTestServer is newTestServerWith logging JSON to logOut when set.
func startTestServer(t testing.TB, cfg *config.Config, opts app.Options, logOut io.Writer) *testServer {
	t.Helper()
	if cfg == nil {
		cfg = testConfig(t)
	}
	pub := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + pub.Listener.Addr().String()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if logOut != nil {
		logger = slog.New(slog.NewJSONHandler(logOut, nil))
	}
	ctx := context.Background()
	a, err := app.NewWithOptions(ctx, cfg, logger, opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := bootstrap.Run(ctx, a.Store, a.Hasher, a.KeyBox, bootstrap.Options{Issuer: cfg.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	pub.Config.Handler = oasCheck(t, a.Public, false)
	pub.Start()
	adm := httptest.NewServer(oasCheck(t, a.Admin, true))
	a.Start(ctx)
	stop := func() {
		a.OAuth.CloseStreams() // event streams never end by themselves
		pub.Close()
	}
	t.Cleanup(func() {
		stop()
		adm.Close()
		a.Close()
	})
	return &testServer{App: a, URL: pub.URL, Admin: adm.URL, Boot: res, close: stop}
}

// startListening starts a proxy's process, stops it when the test ends,
// and waits until it accepts connections on addr; logs tells why not.
func startListening(t testing.TB, cmd *exec.Cmd, addr string, within time.Duration, logs func() string) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s: %s", filepath.Base(cmd.Path), addr, logs())
		}
	}
}
