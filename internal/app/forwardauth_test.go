package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/token"
)

// Forward-auth end to end: plain HTTP against /forward-auth, then a real
// nginx auth_request in front of a local upstream.

var faRules = []config.ForwardAuthRule{
	{PathPrefix: "/admin/", Kinds: []string{"user"}},
	{PathPrefix: "/contacts", Scopes: []string{"contacts:read"}},
	{PathPrefix: "/live-only", Modes: []string{"live"}},
}

func faServer(t *testing.T) *testServer {
	cfg := testConfig(t)
	cfg.ForwardAuth.Rules = faRules
	return newTestServer(t, cfg)
}

func TestForwardAuth(t *testing.T) {
	t.Parallel()
	s := faServer(t)
	user := akAdmin(t, s, "live")
	expired, err := s.App.Tokens.Issue(token.Claims{Kind: token.KindUser, Subject: s.Boot.Admin.ID, Org: s.Boot.Business.ID, Mode: "live",
		IssuedAt: time.Now().Add(-2 * time.Hour).Unix(), ExpiresAt: time.Now().Add(-time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := s.clientCredentials("tokens:introspect").Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pk, sk, testSK := s.Boot.APIKeys["live"].Public, s.Boot.APIKeys["live"].Secret, s.Boot.APIKeys["test"].Secret
	pkID := s.introspect(t, pk, "api_key")["key_id"]

	for _, tc := range []struct {
		name    string
		method  string
		headers map[string]string
		status  int
		code    string
		subject any
		typ     string
		mode    string
		scopes  string
	}{
		{"user token", "GET", akBearer(user), 200, "", s.Boot.Admin.ID, "user", "live", ""},
		{"client token", "GET", akBearer(cc.AccessToken), 200, "", "introspection", "client", "", "tokens:introspect"},
		{"public key", "GET", akKey(pk), 200, "", pkID, "api_key", "live", "contacts:register otp:send contacts:authenticate"},
		{"secret key, POST", "POST", akKey(sk), 200, "", nil, "api_key", "live", "*"},
		{"test key, PUT", "PUT", akKey(testSK), 200, "", nil, "api_key", "test", "*"},
		{"PATCH", "PATCH", akKey(sk), 200, "", nil, "api_key", "live", "*"},
		{"DELETE", "DELETE", akKey(sk), 200, "", nil, "api_key", "live", "*"},
		{"OPTIONS", "OPTIONS", akKey(sk), 200, "", nil, "api_key", "live", "*"},
		{"HEAD", "HEAD", akKey(sk), 200, "", nil, "api_key", "live", "*"},
		{"nothing", "GET", nil, 401, "INVALID_TOKEN", nil, "", "", ""},
		{"bad bearer", "GET", akBearer("eyJ.bad.token"), 401, "INVALID_TOKEN", nil, "", "", ""},
		{"expired bearer", "GET", akBearer(expired), 401, "TOKEN_EXPIRED", nil, "", "", ""},
		{"bad key", "GET", akKey("sk_live_nope"), 401, "INVALID_API_KEY", nil, "", "", ""},
		{"key on a user-only path", "GET", map[string]string{"api_key": sk, "X-Original-URI": "/admin/users"}, 403, "FORBIDDEN", nil, "", "", ""},
		{"user on a user-only path", "GET", map[string]string{"Authorization": "Bearer " + user, "X-Original-URI": "/admin/users"}, 200, "", s.Boot.Admin.ID, "user", "live", ""},
		{"dot segments", "GET", map[string]string{"api_key": sk, "X-Original-URI": "/x/../admin/users"}, 403, "FORBIDDEN", nil, "", "", ""},
		{"public key lacks a scope", "GET", map[string]string{"api_key": pk, "X-Original-URI": "/contacts/42"}, 403, "INSUFFICIENT_SCOPE", nil, "", "", ""},
		{"* holds every scope", "GET", map[string]string{"api_key": sk, "X-Original-URI": "/contacts/42?x=1"}, 200, "", nil, "api_key", "live", "*"},
		{"test key on a live-only path", "GET", map[string]string{"api_key": testSK, "X-Original-URI": "/live-only/x"}, 403, "FORBIDDEN", nil, "", "", ""},
		// Only the configured header (forward_auth.uri_header, here nginx's
		// X-Original-URI) is read: a client's own X-Forwarded-Uri, which
		// nginx passes through, cannot choose the path the rules see.
		{"spoofed X-Forwarded-Uri", "GET", map[string]string{"api_key": sk, "X-Original-URI": "/admin/users", "X-Forwarded-Uri": "/hello"}, 403, "FORBIDDEN", nil, "", "", ""},
		{"spoofed X-Forwarded-Uri, test key", "GET", map[string]string{"api_key": testSK, "X-Original-URI": "/live-only/x", "X-Forwarded-Uri": "/hello"}, 403, "FORBIDDEN", nil, "", "", ""},
		{"only X-Forwarded-Uri", "GET", map[string]string{"api_key": sk, "X-Forwarded-Uri": "/hello"}, 403, "FORBIDDEN", nil, "", "", ""},
		// Rules are configured: without the original URI they cannot be
		// applied, so the request is refused.
		{"rules but no URI", "GET", akKey(sk), 403, "FORBIDDEN", nil, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			for k, v := range tc.headers {
				h[k] = v
			}
			if tc.name != "rules but no URI" && tc.name != "only X-Forwarded-Uri" && h["X-Original-URI"] == "" {
				h["X-Original-URI"] = "/somewhere"
			}
			r := akDo(t, s, tc.method, "/forward-auth", h, nil)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Raw)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
			if tc.status != 200 {
				if tc.method != "HEAD" && r.Body["code"] != tc.code {
					t.Fatalf("code %v, want %s", r.Body["code"], tc.code)
				}
				if (tc.status == 401) != (r.Header.Get("WWW-Authenticate") != "") {
					t.Fatalf("WWW-Authenticate %q on %d", r.Header.Get("WWW-Authenticate"), tc.status)
				}
				if r.Header.Get("X-Authd-Subject") != "" {
					t.Fatal("identity headers on a refusal")
				}
				return
			}
			if got := r.Header.Get("X-Authd-Subject"); got == "" || (tc.subject != nil && got != tc.subject) {
				t.Fatalf("subject %q, want %v", got, tc.subject)
			}
			org := s.Boot.Business.ID
			if tc.typ == "client" {
				org = ""
			}
			if r.Header.Get("X-Authd-Subject-Type") != tc.typ || r.Header.Get("X-Authd-Organisation") != org ||
				r.Header.Get("X-Authd-Mode") != tc.mode || r.Header.Get("X-Authd-Scopes") != tc.scopes {
				t.Fatalf("identity headers %v", r.Header)
			}
		})
	}
}

// TestForwardAuthBehindNginx runs nginx with auth_request in front of a
// local upstream that echoes the identity headers it receives.
func TestForwardAuthBehindNginx(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed (apt-get install -y nginx)")
	}
	s := faServer(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"path": r.URL.Path, "method": r.Method, "body": string(body),
			"subject": r.Header.Get("X-Authd-Subject"), "type": r.Header.Get("X-Authd-Subject-Type"),
			"org": r.Header.Get("X-Authd-Organisation"), "mode": r.Header.Get("X-Authd-Mode"), "scopes": r.Header.Get("X-Authd-Scopes"),
			"api_key": r.Header.Get("api_key"),
		})
	}))
	t.Cleanup(upstream.Close)
	proxy := startNginx(t, nginx, strings.TrimPrefix(s.URL, "http://"), strings.TrimPrefix(upstream.URL, "http://"))

	do := func(method, path string, headers map[string]string, body string) (int, map[string]string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, proxy+path, strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		if resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, m, resp.Header
	}

	pk := s.Boot.APIKeys["live"].Public
	pkID := s.introspect(t, pk, "api_key")["key_id"].(string)
	// A client cannot smuggle its own identity headers past the proxy.
	code, m, _ := do("GET", "/hello", map[string]string{"api_key": pk, "X-Authd-Subject": "evil", "X-Authd-Organisation": "evil"}, "")
	if code != 200 || m["subject"] != pkID || m["type"] != "api_key" || m["org"] != s.Boot.Business.ID || m["mode"] != "live" ||
		m["scopes"] != "contacts:register otp:send contacts:authenticate" || m["path"] != "/hello" {
		t.Fatalf("public key through nginx: %d %v", code, m)
	}
	user := akAdmin(t, s, "live")
	code, m, _ = do("POST", "/admin/users", map[string]string{"Authorization": "Bearer " + user}, `{"a":1}`)
	if code != 200 || m["subject"] != s.Boot.Admin.ID || m["type"] != "user" || m["method"] != "POST" || m["body"] != `{"a":1}` {
		t.Fatalf("user through nginx: %d %v", code, m)
	}
	code, _, h := do("GET", "/hello", nil, "")
	if code != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no credentials through nginx: %d %v", code, h)
	}
	if code, _, _ := do("GET", "/hello", map[string]string{"api_key": "sk_live_0000000000000000000000000000000000000"}, ""); code != 401 {
		t.Fatalf("bad key through nginx: %d", code)
	}
	for _, path := range []string{"/admin/users", "/public/../admin/users", "/%61dmin/users"} {
		if code, _, _ := do("GET", path, map[string]string{"api_key": s.Boot.APIKeys["live"].Secret}, ""); code != 403 {
			t.Fatalf("key on %s through nginx: %d", path, code)
		}
	}
	if code, _, _ := do("GET", "/contacts/1", map[string]string{"api_key": pk}, ""); code != 403 {
		t.Fatalf("public key on /contacts through nginx: %d", code)
	}
	// nginx passes the client's own headers to auth_request: a forged
	// X-Forwarded-Uri must not choose the path the rules are checked
	// against (authd reads only forward_auth.uri_header, X-Original-URI).
	for _, c := range []struct{ path, key string }{
		{"/admin/users", s.Boot.APIKeys["live"].Secret},
		{"/live-only/x", s.Boot.APIKeys["test"].Secret},
		{"/contacts/1", pk},
	} {
		if code, _, _ := do("GET", c.path, map[string]string{"api_key": c.key, "X-Forwarded-Uri": "/hello"}, ""); code != 403 {
			t.Fatalf("forged X-Forwarded-Uri on %s through nginx: %d", c.path, code)
		}
	}

	// Revocation is honoured through the proxy at once.
	tok := akAdmin(t, s, "live")
	k := akCreate(t, s, tok, map[string]any{"type": "secret", "name": "proxied", "scopes": []string{"*"}})
	if code, _, _ := do("GET", "/contacts/1", map[string]string{"api_key": k["key"].(string)}, ""); code != 200 {
		t.Fatalf("new key through nginx: %d", code)
	}
	akDo(t, s, "DELETE", "/backoffice/v1/api-keys/"+k["id"].(string), akBearer(tok), nil)
	if code, _, _ := do("GET", "/contacts/1", map[string]string{"api_key": k["key"].(string)}, ""); code != 401 {
		t.Fatalf("revoked key through nginx: %d", code)
	}
}

// startNginx runs nginx in the foreground on a free loopback port with the
// example configuration (deploy/examples/nginx/authd.conf), its addresses
// pointed at authd and upstream; it returns the proxy's base URL.
func startNginx(t *testing.T, bin, authd, upstream string) string {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	example, err := os.ReadFile("../../deploy/examples/nginx/authd.conf")
	if err != nil {
		t.Fatal(err)
	}
	server := string(example)
	for from, to := range map[string]string{"server 127.0.0.1:8080;": "server " + authd + ";",
		"server 127.0.0.1:3000;": "server " + upstream + ";", "listen 80;": "listen " + addr + ";"} {
		if strings.Count(server, from) != 1 {
			t.Fatalf("deploy/examples/nginx/authd.conf: %q appears %d times, want once", from, strings.Count(server, from))
		}
		server = strings.Replace(server, from, to, 1)
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
%[2]s
}
`, dir, server)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	startListening(t, cmd, addr, 10*time.Second, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return string(log)
	})
	return "http://" + addr
}

// TestForwardAuthTraefikHeader: with forward_auth.uri_header set to
// Traefik's X-Forwarded-Uri, that header is read and X-Original-URI (which
// Traefik does not set) is ignored.
func TestForwardAuthTraefikHeader(t *testing.T) {
	cfg := testConfig(t)
	cfg.ForwardAuth.Rules = faRules
	cfg.ForwardAuth.URIHeader = "X-Forwarded-Uri"
	s := newTestServer(t, cfg)
	sk := s.Boot.APIKeys["live"].Secret
	if r := akDo(t, s, "GET", "/forward-auth", map[string]string{"api_key": sk, "X-Forwarded-Uri": "/admin/users"}, nil); r.Status != 403 {
		t.Fatalf("key on a user-only path: %d %s", r.Status, r.Raw)
	}
	if r := akDo(t, s, "GET", "/forward-auth", map[string]string{"api_key": sk, "X-Forwarded-Uri": "/admin/users", "X-Original-URI": "/hello"}, nil); r.Status != 403 {
		t.Fatalf("X-Original-URI chose the path: %d %s", r.Status, r.Raw)
	}
	if r := akDo(t, s, "GET", "/forward-auth", map[string]string{"api_key": sk, "X-Forwarded-Uri": "/hello"}, nil); r.Status != 200 {
		t.Fatalf("key on an open path: %d %s", r.Status, r.Raw)
	}
}
