package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
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
	t.Parallel()
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

// TestEnvoyGRPCExtAuthz runs authd's listeners with grpc.addr set and
// calls Authorization/Check with Envoy's generated types the way Envoy's
// ext_authz filter does (grpc_service, transport_api_version V3): the
// request's attributes with its lower-case headers, pseudo-headers
// included, its path with query and its method. The decision is
// /forward-auth's, rules included. Shutting down stops the gRPC listener
// with the others.
func TestEnvoyGRPCExtAuthz(t *testing.T) {
	cfg := testConfig(t)
	cfg.ForwardAuth.Rules = faRules
	cfg.GRPC.Addr = "127.0.0.1:0"
	s := newTestServer(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.App.Serve(ctx, func(_, _ net.Addr) { close(ready) }) }()
	<-ready
	addr := s.App.GRPCAddr()
	if addr == nil {
		t.Fatal("no gRPC listener")
	}
	conn, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := authv3.NewAuthorizationClient(conn)

	check := func(method, path string, headers map[string]string) *authv3.CheckResponse {
		t.Helper()
		h := map[string]string{":authority": "crm.example.com", ":method": method, ":path": path, ":scheme": "https",
			"x-forwarded-proto": "https", "x-request-id": "3c1e7a52-9b0f-4d7e-a5c1-2f8e6d4b9a10", "user-agent": "curl/8.5.0",
			"accept": "*/*"}
		for k, v := range headers {
			h[k] = v
		}
		req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
				SocketAddress: &corev3.SocketAddress{Address: "203.0.113.7", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 51234}}}}},
			Destination: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
				SocketAddress: &corev3.SocketAddress{Address: "10.0.0.2", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 10000}}}}},
			Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
				Id: "1234567890", Method: method, Headers: h, Path: path, Host: "crm.example.com",
				Scheme: "https", Protocol: "HTTP/1.1", Size: 0,
			}},
		}}
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer ccancel()
		resp, err := client.Check(cctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	upstream := func(resp *authv3.CheckResponse) map[string]string {
		m := map[string]string{}
		for _, o := range resp.GetOkResponse().GetHeaders() {
			m[o.GetHeader().GetKey()] = o.GetHeader().GetValue()
		}
		return m
	}

	user := akAdmin(t, s, "live")
	sk, pk := s.Boot.APIKeys["live"].Secret, s.Boot.APIKeys["live"].Public
	resp := check("POST", "/admin/users?page=2", map[string]string{"authorization": "Bearer " + user, "x-authd-subject": "forged"})
	if resp.GetStatus().GetCode() != int32(codes.OK) {
		t.Fatalf("user on a user-only path: %v %s", resp.GetStatus(), resp.GetDeniedResponse().GetBody())
	}
	if h := upstream(resp); h["x-authd-subject"] != s.Boot.Admin.ID || h["x-authd-subject-type"] != "user" ||
		h["x-authd-organisation"] != s.Boot.Business.ID || h["x-authd-mode"] != "live" {
		t.Fatalf("identity headers %v", h)
	}
	resp = check("GET", "/hello", map[string]string{"api_key": pk})
	if h := upstream(resp); resp.GetStatus().GetCode() != 0 || h["x-authd-subject-type"] != "api_key" ||
		h["x-authd-scopes"] != "contacts:register otp:send contacts:authenticate" {
		t.Fatalf("public key: %v %v", resp.GetStatus(), h)
	}

	for _, tc := range []struct {
		name, method, path string
		headers            map[string]string
		status             int32
		code               string
	}{
		{"key on a user-only path", "GET", "/admin/users", map[string]string{"api_key": sk}, 403, "FORBIDDEN"},
		{"encoded path", "GET", "/%61dmin/users", map[string]string{"api_key": sk}, 403, "FORBIDDEN"},
		{"dot segments", "DELETE", "/x/../admin/users", map[string]string{"api_key": sk}, 403, "FORBIDDEN"},
		{"scope missing", "GET", "/contacts/1", map[string]string{"api_key": pk}, 403, "INSUFFICIENT_SCOPE"},
		{"no credentials", "GET", "/hello", nil, 401, "INVALID_TOKEN"},
		{"bad token", "GET", "/hello", map[string]string{"authorization": "Bearer eyJ.bad.token"}, 401, "INVALID_TOKEN"},
		{"bad key", "GET", "/hello", map[string]string{"api_key": "sk_live_nope"}, 401, "INVALID_API_KEY"},
		// Envoy sends the path it routes: a URI header from the client is not read.
		{"URI header ignored", "GET", "/admin/users", map[string]string{"api_key": sk, "x-original-uri": "/hello"}, 403, "FORBIDDEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := check(tc.method, tc.path, tc.headers)
			d := resp.GetDeniedResponse()
			if resp.GetStatus().GetCode() == 0 || d == nil || int32(d.GetStatus().GetCode()) != tc.status {
				t.Fatalf("%v %v", resp.GetStatus(), d)
			}
			var p map[string]any
			if err := json.Unmarshal([]byte(d.GetBody()), &p); err != nil || p["code"] != tc.code {
				t.Fatalf("body %q", d.GetBody())
			}
			var challenge bool
			for _, o := range d.GetHeaders() {
				challenge = challenge || o.GetHeader().GetKey() == "www-authenticate"
			}
			if challenge != (tc.status == 401) {
				t.Fatalf("WWW-Authenticate on %d: %v", tc.status, challenge)
			}
		})
	}

	// The same decision as /forward-auth, through the same verified-token
	// cache: revoking the token refuses it here too.
	resp2, _ := s.postForm(t, "/oauth2/revoke", url.Values{"token": {user}},
		s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret)
	if resp2.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp2.StatusCode)
	}
	if resp := check("GET", "/hello", map[string]string{"authorization": "Bearer " + user}); resp.GetStatus().GetCode() == 0 {
		t.Fatal("a revoked token allowed over gRPC")
	}

	hc := healthpb.NewHealthClient(conn)
	if r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "envoy.service.auth.v3.Authorization"}); err != nil ||
		r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", r, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		_ = c.Close()
		t.Fatal("the gRPC listener still accepts after shutdown")
	}
}

// TestForwardAuthAsTraefik calls /forward-auth the way Traefik's
// ForwardAuth middleware does (deploy/examples/traefik/dynamic.yml): GET
// whatever the original method, the client's headers, and the original
// request in X-Forwarded-Method, -Proto, -Host, -Uri and -For, with
// forward_auth.uri_header set to X-Forwarded-Uri.
func TestForwardAuthAsTraefik(t *testing.T) {
	cfg := testConfig(t)
	cfg.ForwardAuth.Rules = faRules
	cfg.ForwardAuth.URIHeader = "X-Forwarded-Uri"
	s := newTestServer(t, cfg)
	traefik := func(method, uri string, client map[string]string) akResp {
		t.Helper()
		h := map[string]string{"X-Forwarded-Method": method, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "crm.example.com",
			"X-Forwarded-Uri": uri, "X-Forwarded-For": "203.0.113.7", "User-Agent": "curl/8.5.0", "Accept": "*/*"}
		for k, v := range client {
			h[k] = v
		}
		return akDo(t, s, http.MethodGet, "/forward-auth", h, nil)
	}
	sk, pk := s.Boot.APIKeys["live"].Secret, s.Boot.APIKeys["live"].Public
	user := akAdmin(t, s, "live")
	for _, tc := range []struct {
		name, method, uri string
		client            map[string]string
		status            int
	}{
		{"user, POST on a user-only path", "POST", "/admin/users", akBearer(user), 200},
		{"key on a user-only path", "DELETE", "/admin/users?x=1", akKey(sk), 403},
		{"key, encoded path", "GET", "/%61dmin/users", akKey(sk), 403},
		{"public key lacks a scope", "GET", "/contacts/42", akKey(pk), 403},
		{"public key on an open path", "PUT", "/hello", akKey(pk), 200},
		// Traefik does not set X-Original-URI: a client's copy is not read.
		{"client's X-Original-URI", "GET", "/admin/users", map[string]string{"api_key": sk, "X-Original-URI": "/hello"}, 403},
		{"no credentials", "GET", "/hello", nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := traefik(tc.method, tc.uri, tc.client)
			if r.Status != tc.status {
				t.Fatalf("%d, want %d: %s", r.Status, tc.status, r.Raw)
			}
			if tc.status == 200 && r.Header.Get("X-Authd-Subject") == "" {
				t.Fatalf("no identity headers: %v", r.Header)
			}
			if tc.status != 200 && r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("refusal without a problem body (Traefik shows it to the client): %v", r.Header)
			}
		})
	}
}
