package app_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The proxies' side of authd: Envoy's HTTP ext_authz (the original path
// appended to /forward-auth) and the verified-token cache seen through
// forward-auth, introspection and the bearer endpoints.

// envoyCheck sends the authorization request Envoy's HTTP ext_authz makes
// for an original request (method, path with query, host, headers):
// path_prefix /forward-auth plus the original path, the original method,
// no body (Content-Length: 0), the headers allowed_headers lets through,
// and Envoy's own x-request-id, x-forwarded-proto and
// x-envoy-expected-rq-timeout-ms.
func envoyCheck(t *testing.T, s *testServer, method, path string, headers map[string]string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+"/forward-auth"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "crm.example.com"
	req.ContentLength = 0
	req.Header.Set("Content-Length", "0")
	req.Header.Set("X-Request-Id", "8f9b5a3c-5c37-4a3e-9d8e-0f5b1f3b2a11")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Envoy-Expected-Rq-Timeout-Ms", "1000")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

func TestForwardAuthEnvoyHTTP(t *testing.T) {
	s := faServer(t)
	user := akAdmin(t, s, "live")
	pk, sk, testSK := s.Boot.APIKeys["live"].Public, s.Boot.APIKeys["live"].Secret, s.Boot.APIKeys["test"].Secret
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		status  int
	}{
		{"user on a user-only path", "GET", "/admin/users", akBearer(user), 200},
		{"user, POST with a query", "POST", "/admin/users?page=2", akBearer(user), 200},
		{"key on a user-only path", "GET", "/admin/users", akKey(sk), 403},
		{"key on an open path", "DELETE", "/hello/world", akKey(sk), 200},
		{"root", "GET", "/", akKey(sk), 200},
		{"percent-encoded rule path", "GET", "/%61dmin/users", akKey(sk), 403},
		{"dot segments", "GET", "/public/../admin/users", akKey(sk), 403},
		{"double slash", "GET", "//admin//users", akKey(sk), 403},
		{"scope missing", "GET", "/contacts/1?x=1", akKey(pk), 403},
		{"test key on a live-only path", "PUT", "/live-only/x", akKey(testSK), 403},
		{"no credentials", "GET", "/hello", nil, 401},
		{"bad token", "GET", "/hello", akBearer("eyJ.bad.token"), 401},
		// The path in the URL decides; the URI header a client may send
		// through a proxy that does not set it is not read here.
		{"URI header ignored", "GET", "/admin/users", map[string]string{"api_key": sk, "X-Original-URI": "/hello"}, 403},
		{"URI header cannot open a path", "GET", "/hello", map[string]string{"api_key": sk, "X-Original-URI": "/admin/users"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h := envoyCheck(t, s, tc.method, tc.path, tc.headers)
			if code != tc.status {
				t.Fatalf("%s %s: %d, want %d", tc.method, tc.path, code, tc.status)
			}
			if code == 200 && (h.Get("X-Authd-Subject") == "" || h.Get("X-Authd-Subject-Type") == "") {
				t.Fatalf("no identity headers: %v", h)
			}
			if code != 200 && h.Get("X-Authd-Subject") != "" {
				t.Fatalf("identity headers on a refusal: %v", h)
			}
			if code == 401 && h.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	// The plain endpoint still reads the configured URI header.
	if r := akDo(t, s, "GET", "/forward-auth", map[string]string{"api_key": sk, "X-Original-URI": "/admin/users"}, nil); r.Status != 403 {
		t.Fatalf("plain /forward-auth with X-Original-URI: %d", r.Status)
	}
	if r := akDo(t, s, "GET", "/forward-auth", map[string]string{"api_key": sk, "X-Original-URI": "/hello"}, nil); r.Status != 200 {
		t.Fatalf("plain /forward-auth on an open path: %d", r.Status)
	}
}

// TestVerifiedTokenCacheEndToEnd: tokens verified once (and so cached) are
// refused at once, on every bearer path, when revoked, when their user is
// disabled and when the membership they act through is removed.
func TestVerifiedTokenCacheEndToEnd(t *testing.T) {
	n := newNetwork(t, nil)
	s := n.s
	fa := func(tok string) int {
		t.Helper()
		return akDo(t, s, "GET", "/forward-auth", akBearer(tok), nil).Status
	}
	me := func(tok string) int {
		t.Helper()
		code, _, _ := s.call(t, "GET", "/backoffice/v1/users/me/organisations", tok, nil)
		return code
	}
	active := func(tok string) any { t.Helper(); return s.introspect(t, tok, "")["active"] }
	warm := func(tok string) {
		t.Helper()
		for range 3 {
			if code := fa(tok); code != 200 {
				t.Fatalf("forward-auth: %d", code)
			}
		}
		if active(tok) != true || me(tok) != 200 {
			t.Fatal("a valid token is refused")
		}
	}

	// RFC 7009 revocation of one access token.
	alice := s.signIn(t, n.alice, userPassword)["access_token"].(string)
	other := s.signIn(t, n.alice, userPassword)["access_token"].(string)
	warm(alice)
	warm(other)
	resp, _ := s.postForm(t, "/oauth2/revoke", url.Values{"token": {alice}, "token_type_hint": {"access_token"}},
		s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret)
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if fa(alice) != 401 || active(alice) != false || me(alice) != 401 {
		t.Fatal("a revoked token verified from the cache")
	}
	if fa(other) != 200 {
		t.Fatal("revoking one token refused another")
	}

	// A disabled user.
	bob := s.signIn(t, n.bob, userPassword)["access_token"].(string)
	warm(bob)
	if code, m, _ := s.call(t, "POST", "/backoffice/v1/users/"+n.bobID+"/disable", n.adminToken, nil); code != 204 {
		t.Fatalf("disable: %d %v", code, m)
	}
	if fa(bob) != 401 || active(bob) != false || me(bob) != 401 {
		t.Fatal("a disabled user's cached token still works")
	}

	// A removed membership.
	mia := s.signIn(t, n.mia, userPassword)["access_token"].(string)
	warm(mia)
	if code, m, _ := s.call(t, "DELETE", "/backoffice/v1/users/"+n.miaID+"/memberships/"+n.merchM, n.adminToken, nil); code != 204 {
		t.Fatalf("remove membership: %d %v", code, m)
	}
	if fa(mia) != 401 || active(mia) != false || me(mia) != 401 {
		t.Fatal("a token acting through a removed membership still works")
	}
	if !strings.HasPrefix(alice, "eyJ") {
		t.Fatal("not a JWT")
	}
}
