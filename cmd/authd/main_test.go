package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSecret = "cli-test-system-secret-0123456789abcdef"

// run executes the CLI in-process and returns stdout and the exit code
// main would use.
func run(ctx context.Context, t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	var out syncBuffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(ctx)
	code := 0
	if err != nil {
		code = exitError
		var ee *exitErr
		if errors.As(err, &ee) {
			code = ee.code
		}
	}
	return out.String(), code, err
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

func useTempDB(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("AUTHD_DATABASE_DSN", "sqlite://"+filepath.Join(dir, "authd.db"))
	t.Setenv("AUTHD_SECRETS_SYSTEM", testSecret)
	t.Setenv("AUTHD_LOG_LEVEL", "error")
	return dir
}

func TestBootstrapTwice(t *testing.T) {
	useTempDB(t)
	ctx := context.Background()
	out, code, err := run(ctx, t, "bootstrap", "--json", "--business-name", "Acme", "--admin-email", "Root@Acme.test")
	if code != 0 {
		t.Fatalf("first bootstrap: code %d err %v out %s", code, err, out)
	}
	var res struct {
		Issuer       string                    `json:"issuer"`
		ServiceOwner struct{ ID, Name string } `json:"service_owner"`
		Business     struct{ ID, Name string }
		Admin        struct{ ID, Email, Password string }
		Clients      map[string]map[string]string
		APIKeys      map[string]map[string]string `json:"api_keys"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if res.Issuer != "http://localhost:8080" || res.Business.Name != "Acme" || res.ServiceOwner.ID == "" ||
		res.Admin.Email != "root@acme.test" || len(res.Admin.Password) < 12 ||
		res.Clients["backoffice"]["client_id"] == "" || res.Clients["selfservice"]["client_id"] == "" ||
		res.Clients["introspection"]["client_secret"] == "" || res.Clients["backoffice"]["client_secret"] != "" {
		t.Fatalf("bootstrap JSON %+v", res)
	}
	for _, mode := range []string{"live", "test"} {
		if !strings.HasPrefix(res.APIKeys[mode]["public"], "pk_"+mode+"_") || !strings.HasPrefix(res.APIKeys[mode]["secret"], "sk_"+mode+"_") {
			t.Fatalf("api keys %v", res.APIKeys)
		}
	}

	keysBefore, code, err := run(ctx, t, "keys", "list", "--json")
	if code != 0 {
		t.Fatalf("keys list: %d %v", code, err)
	}
	// A second bootstrap, even with another key algorithm configured,
	// changes nothing: no key is created or rotated, and listing keys
	// does not create one either.
	t.Setenv("AUTHD_KEYS_ALGORITHM", "RS256")
	out2, code, err := run(ctx, t, "bootstrap", "--json")
	if code != exitNotEmpty || err == nil || strings.Contains(out2, "password") {
		t.Fatalf("second bootstrap: code %d err %v out %q", code, err, out2)
	}
	if keysAfter, _, _ := run(ctx, t, "keys", "list", "--json"); keysAfter != keysBefore {
		t.Fatalf("keys changed by a refused bootstrap or a listing:\nbefore %s\nafter  %s", keysBefore, keysAfter)
	}
}

func TestBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad algorithm", map[string]string{"AUTHD_KEYS_ALGORITHM": "HS256"}, []string{"migrate"}, "keys.algorithm"},
		{"missing secret", map[string]string{"AUTHD_SECRETS_SYSTEM": ""}, []string{"migrate"}, "secrets.system"},
		{"short secret", map[string]string{"AUTHD_SECRETS_SYSTEM": "too-short"}, []string{"bootstrap", "--json"}, "at least 32"},
		{"bad duration", map[string]string{"AUTHD_TOKENS_ACCESS_TOKEN_TTL": "soon"}, []string{"migrate"}, "tokens.access_token_ttl"},
		{"bad dsn", map[string]string{"AUTHD_DATABASE_DSN": "mysql://x"}, []string{"migrate"}, "database.dsn"},
		{"missing config file", nil, []string{"migrate", "--config", "/nonexistent/authd.yaml"}, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			useTempDB(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, code, err := run(context.Background(), t, tc.args...)
			if code != exitConfig || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("code %d err %v, want exit %d naming %q", code, err, exitConfig, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestServeDevBootstrapsOnce(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("AUTHD_HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("AUTHD_ADMIN_ADDR", "127.0.0.1:0")
	t.Setenv("AUTHD_LOG_LEVEL", "error")

	serveOnce := func() string {
		ctx, cancel := context.WithCancel(context.Background())
		var out syncBuffer
		cmd := newRootCmd()
		cmd.SetArgs([]string{"serve", "--dev"})
		cmd.SetOut(&out)
		done := make(chan error, 1)
		go func() { done <- cmd.ExecuteContext(ctx) }()
		// serve is up once the signing key exists and (first time) the
		// JSON is out; give it a moment, then stop it like SIGTERM would.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(filepath.Join(dir, "data", "authd.db")); err == nil && (strings.Contains(out.String(), "}\n") || time.Since(deadline.Add(-10*time.Second)) > 1500*time.Millisecond) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("serve --dev: %v", err)
		}
		return out.String()
	}

	first := serveOnce()
	var res map[string]any
	if err := json.Unmarshal([]byte(first), &res); err != nil || res["admin"] == nil || res["api_keys"] == nil {
		t.Fatalf("first start did not print the bootstrap JSON: %v %q", err, first)
	}
	st, err := os.Stat(filepath.Join(dir, "data", "system-secret"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("system secret file: %v %v", st, err)
	}
	if second := serveOnce(); second != "" {
		t.Fatalf("second start printed again: %q", second)
	}
}

func TestKeysListAndRotate(t *testing.T) {
	useTempDB(t)
	ctx := context.Background()
	if _, code, err := run(ctx, t, "migrate"); code != 0 {
		t.Fatal(err)
	}
	out, code, err := run(ctx, t, "keys", "list", "--json")
	if code != 0 {
		t.Fatal(err)
	}
	var infos []struct {
		KID, Algorithm, State string
	}
	// Listing only reads: after migrate there is no key yet (serve, or
	// a rotation, creates the first).
	if err := json.Unmarshal([]byte(out), &infos); err != nil || len(infos) != 0 {
		t.Fatalf("keys list after migrate: %v %s", err, out)
	}
	out, code, err = run(ctx, t, "keys", "rotate")
	if code != 0 || !strings.Contains(out, "published") {
		t.Fatalf("rotate: %d %v %s", code, err, out)
	}
	if _, code, _ := run(ctx, t, "keys", "rotate"); code == 0 {
		t.Fatal("a second rotation while one is pending succeeded")
	}
	out, _, _ = run(ctx, t, "keys", "list", "--json")
	infos = nil
	_ = json.Unmarshal([]byte(out), &infos)
	if len(infos) != 2 || infos[0].State == infos[1].State || infos[0].Algorithm != "ES256" {
		t.Fatalf("after rotate: %s", out)
	}
	text, _, _ := run(ctx, t, "keys", "list")
	if !strings.Contains(text, "next") || !strings.Contains(text, "active") {
		t.Fatalf("table: %s", text)
	}
}

func TestVersion(t *testing.T) {
	out, code, _ := run(context.Background(), t, "version")
	if code != 0 || !strings.HasPrefix(out, "authd ") || !strings.Contains(out, "commit:") {
		t.Fatalf("version: %q", out)
	}
}
