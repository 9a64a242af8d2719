package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

func get(t testing.TB, u string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	_, a := get(t, s.URL+"/.well-known/openid-configuration", nil)
	resp, b := get(t, s.URL+"/.well-known/oauth-authorization-server", nil)
	if resp.StatusCode != 200 || string(a) != string(b) {
		t.Fatalf("the two metadata documents differ:\n%s\n%s", a, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                 s.URL,
		"token_endpoint":         s.URL + "/oauth2/token",
		"introspection_endpoint": s.URL + "/oauth2/introspect",
		"revocation_endpoint":    s.URL + "/oauth2/revoke",
		"jwks_uri":               s.URL + "/.well-known/jwks.json",
		"grant_types_supported": []any{"client_credentials", "password", "refresh_token",
			"urn:authd:params:oauth:grant-type:otp", "urn:ietf:params:oauth:grant-type:token-exchange"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["authorization_endpoint"]; ok {
		t.Error("metadata advertises an authorization endpoint that does not exist")
	}
	// Every advertised endpoint answers (not 404).
	for _, k := range []string{"token_endpoint", "introspection_endpoint", "revocation_endpoint"} {
		r, _ := http.Post(m[k].(string), "application/x-www-form-urlencoded", strings.NewReader("x=y"))
		r.Body.Close()
		if r.StatusCode == 404 {
			t.Errorf("%s is advertised but answers 404", k)
		}
	}
}

func TestJWKSCaching(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	resp, body := get(t, s.URL+"/.well-known/jwks.json", nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || etag == "" || !strings.HasPrefix(etag, `"`) ||
		resp.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks %s", body)
	}
	k := set.Keys[0]
	if k["kty"] != "EC" || k["alg"] != "ES256" || k["use"] != "sig" || k["kid"] == nil || k["d"] != nil {
		t.Fatalf("key %v", k)
	}
	resp, body = get(t, s.URL+"/.well-known/jwks.json", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("conditional GET: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, s.URL+"/.well-known/jwks.json", map[string]string{"If-None-Match": `"stale"`})
	if resp.StatusCode != 200 {
		t.Fatalf("stale etag: %d", resp.StatusCode)
	}

	// A rotation publishes the next key: the ETag changes.
	if _, err := s.App.Keys.Rotate(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	resp, body = get(t, s.URL+"/.well-known/jwks.json", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
		t.Fatalf("after rotation: %d etag %s", resp.StatusCode, resp.Header.Get("ETag"))
	}
	_ = json.Unmarshal(body, &set)
	if len(set.Keys) != 2 {
		t.Fatalf("next key not published: %s", body)
	}
}

// TestRotationKeepsOldTokensValid: a token signed before a rotation still
// verifies (introspection and a remote JWKS verifier), and tokens signed
// after it carry the new kid.
func TestRotationKeepsOldTokensValid(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	ctx := context.Background()
	before, err := s.clientCredentials().Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldKid := decodeHeader(t, before.AccessToken)["kid"]

	keySet := oidc.NewRemoteKeySet(ctx, s.URL+"/.well-known/jwks.json")
	verifier := oidc.NewVerifier(s.URL, keySet, &oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: []string{"ES256"}})
	if _, err := verifier.Verify(ctx, before.AccessToken); err != nil {
		t.Fatal(err)
	}

	// An immediate rotation (the emergency path): the new key signs now.
	if _, err := s.App.Keys.Rotate(ctx, true); err != nil {
		t.Fatal(err)
	}
	after, err := s.clientCredentials().Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newKid := decodeHeader(t, after.AccessToken)["kid"]
	if newKid == oldKid || newKid == nil {
		t.Fatalf("kid did not change: %v", newKid)
	}
	for name, tok := range map[string]string{"before": before.AccessToken, "after": after.AccessToken} {
		if m := s.introspect(t, tok, ""); m["active"] != true {
			t.Fatalf("%s rotation token inactive: %v", name, m)
		}
		// go-oidc refetches the JWKS on an unknown kid.
		if _, err := verifier.Verify(ctx, tok); err != nil {
			t.Fatalf("%s rotation token: %v", name, err)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	if _, err := s.clientCredentials().Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, _ := get(t, s.Admin+"/healthz", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	resp, body := get(t, s.Admin+"/readyz", nil)
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	_ = json.Unmarshal(body, &ready)
	if resp.StatusCode != 200 || ready.Status != "ok" || ready.Checks["revocation"] != "ok" || ready.Checks["signing_key"] != "ok" {
		t.Fatalf("readyz %d %s", resp.StatusCode, body)
	}
	// An invented method is counted as OTHER: clients cannot mint series.
	req, _ := http.NewRequest("FROBNICATE", s.URL+"/no/such/path", nil)
	if r, err := http.DefaultClient.Do(req); err == nil {
		r.Body.Close()
	}
	_, body = get(t, s.Admin+"/metrics", nil)
	if strings.Contains(string(body), "FROBNICATE") {
		t.Error("an invented method became a metric label")
	}
	for _, want := range []string{
		`authd_http_requests_total{method="OTHER",route="unmatched",status="404"} 1`,
		`authd_tokens_issued_total{grant_type="client_credentials"} 1`,
		`authd_http_requests_total{method="POST",route="/oauth2/token",status="200"} 1`,
		`authd_http_request_duration_seconds_bucket`,
		`authd_dependency_up{dependency="database"} 1`,
		`authd_revocation_lag_seconds`,
		`authd_revocation_entries 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestBackendOutage: with the database gone, token requests answer 503
// temporarily_unavailable (not a misleading invalid_client); the replica
// stays ready (it can still verify) and /healthz and the metrics say the
// database is down; nothing panics.
func TestBackendOutage(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	secret := s.Boot.Clients.Introspection.ClientSecret
	if err := s.App.Store.Close(); err != nil {
		t.Fatal(err)
	}
	resp, m := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, "introspection", secret)
	if resp.StatusCode != http.StatusServiceUnavailable || m["error"] != "temporarily_unavailable" {
		t.Fatalf("token during outage: %d %v", resp.StatusCode, m)
	}
	resp, m = s.postForm(t, "/oauth2/introspect", url.Values{"token": {"x"}}, "introspection", secret)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("introspect during outage: %d %v", resp.StatusCode, m)
	}
	// The CRM-style endpoints answer a problem with a code, never a 500.
	code, pm, h := s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": "a@b.example", "password": "whatever-long"})
	if code != http.StatusServiceUnavailable || pm["code"] != "SERVICE_UNAVAILABLE" || h.Get("Retry-After") == "" {
		t.Fatalf("problem during outage: %d %v", code, pm)
	}
	r, body := get(t, s.Admin+"/readyz", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("readyz during a database outage: %d %s", r.StatusCode, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body = get(t, s.Admin+"/healthz", nil)
		var h struct {
			Details struct {
				Dependencies map[string]struct {
					Up bool `json:"up"`
				} `json:"dependencies"`
			} `json:"details"`
		}
		_ = json.Unmarshal(body, &h)
		if d, ok := h.Details.Dependencies["database"]; ok && !d.Up {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz never reported the database down: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, m := get(t, s.Admin+"/metrics", nil); !strings.Contains(string(m), `authd_dependency_up{dependency="database"} 0`) {
		t.Error("authd_dependency_up does not say the database is down")
	}
}

func TestProblemAnswers(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	resp, body := get(t, s.URL+"/no/such/path", nil)
	var p map[string]any
	_ = json.Unmarshal(body, &p)
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" || p["code"] != "NOT_FOUND" || p["status"] != float64(404) {
		t.Fatalf("404: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp.Header.Get("X-Request-Id") == "" || p["request_id"] != resp.Header.Get("X-Request-Id") {
		t.Fatalf("request id not echoed: %v", p)
	}
	// A wrong method: problem+json, except on /oauth2/*, which answers in
	// RFC 6749's format.
	req, _ := http.NewRequest(http.MethodDelete, s.URL+"/.well-known/jwks.json", nil)
	dr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := io.ReadAll(dr.Body)
	dr.Body.Close()
	p = map[string]any{}
	_ = json.Unmarshal(db, &p)
	if dr.StatusCode != 405 || dr.Header.Get("Content-Type") != "application/problem+json" || p["code"] != "METHOD_NOT_ALLOWED" {
		t.Fatalf("DELETE jwks: %d %s", dr.StatusCode, db)
	}
	for _, path := range []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"} {
		resp, body = get(t, s.URL+path, nil)
		p = map[string]any{}
		_ = json.Unmarshal(body, &p)
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || p["error"] != "invalid_request" || p["code"] != nil {
			t.Fatalf("GET %s: %d %v %s", path, resp.StatusCode, resp.Header, body)
		}
	}
	big := strings.NewReader("grant_type=client_credentials&pad=" + strings.Repeat("x", 2<<20))
	r, err := http.Post(s.URL+"/oauth2/token", "application/x-www-form-urlencoded", big)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "invalid_request") {
		t.Fatalf("oversized body: %d %s", r.StatusCode, b)
	}
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	cfg := testConfig(t)
	s := newTestServer(t, cfg)
	a := s.App
	slow := a.Public
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	a.Public = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		<-release // in flight until the shutdown has begun
		slow.ServeHTTP(w, r)
	})
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- a.Serve(ctx, func(pub, _ net.Addr) { addr <- pub.String() })
	}()
	base := "http://" + <-addr
	result := make(chan int, 1)
	go func() {
		r, err := http.Get(base + "/.well-known/jwks.json")
		if err != nil {
			result <- -1
			return
		}
		r.Body.Close()
		result <- r.StatusCode
	}()
	<-entered // the request is in flight
	cancel()
	// Shutdown has begun once new connections are refused; only then may
	// the in-flight request finish.
	hostport := strings.TrimPrefix(base, "http://")
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.DialTimeout("tcp", hostport, 100*time.Millisecond)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts 5s after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	if code := <-result; code != 200 {
		t.Fatalf("in-flight request ended with %d", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get(base + "/.well-known/jwks.json"); err == nil {
		t.Fatal("listener still accepting after shutdown")
	}
}

// TestShutdownDrain: after SIGTERM (ctx cancelled) /readyz answers 503 for
// http.shutdown_drain while requests are still served, then the listeners
// close.
func TestShutdownDrain(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.ShutdownDrain = 600 * time.Millisecond
	s := newTestServer(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.App.Serve(ctx, func(pub, adm net.Addr) { addrs <- [2]string{pub.String(), adm.String()} })
	}()
	a := <-addrs
	pub, adm := "http://"+a[0], "http://"+a[1]
	if r, _ := get(t, adm+"/readyz", nil); r.StatusCode != 200 {
		t.Fatalf("readyz before shutdown: %d", r.StatusCode)
	}
	cancel()
	var body []byte
	for deadline := time.Now().Add(500 * time.Millisecond); ; time.Sleep(10 * time.Millisecond) {
		var r *http.Response
		r, body = get(t, adm+"/readyz", nil)
		if r.StatusCode == 503 && strings.Contains(string(body), "draining") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz while draining: %d %s", r.StatusCode, body)
		}
	}
	if r, _ := get(t, pub+"/.well-known/jwks.json", nil); r.StatusCode != 200 {
		t.Fatalf("request while draining: %d", r.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(pub + "/.well-known/jwks.json"); err == nil {
		t.Fatal("still serving after the drain")
	}
}

// TestTextThatCannotBeStored: NUL characters and invalid UTF-8 anywhere a
// client can put them answer 400 (invalid_request on /oauth2/*), never a
// 503 as if the database were down (PostgreSQL refuses such text); and a
// malformed Content-Type is refused.
func TestTextThatCannotBeStored(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	s := n.s
	sk := s.Boot.APIKeys["live"].Secret
	do := func(method, path string, header map[string]string, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	bearer := map[string]string{"Authorization": "Bearer " + n.adminToken, "Content-Type": "application/json"}
	for _, path := range []string{"/backoffice/v1/organisations/%00", "/backoffice/v1/organisations/%ff%fe", "/backoffice/v1/users?organisation_id=%00"} {
		if code, m := do("GET", path, bearer, ""); code != 400 || m["code"] != "BAD_REQUEST" {
			t.Fatalf("GET %s: %d %v", path, code, m)
		}
	}
	if code, m := do("GET", "/backoffice/v1/contacts/%00", map[string]string{"api_key": sk}, ""); code != 400 || m["code"] != "BAD_REQUEST" {
		t.Fatalf("contact id with a NUL: %d %v", code, m)
	}
	if code, m := do("POST", "/backoffice/v1/organisations", bearer, `{"name":"A\u0000B","type":"merchant","parent_id":"`+n.bizA+`"}`); code != 400 || m["code"] != "BAD_REQUEST" {
		t.Fatalf("organisation name with a NUL: %d %v", code, m)
	}
	malformed := map[string]string{"Authorization": "Bearer " + n.adminToken, "Content-Type": "application/json;;;==="}
	if code, m := do("POST", "/backoffice/v1/organisations", malformed, `{"name":"X","type":"merchant","parent_id":"`+n.bizA+`"}`); code != 415 || m["code"] != "UNSUPPORTED_MEDIA_TYPE" {
		t.Fatalf("malformed Content-Type: %d %v", code, m)
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if code, m := do("POST", "/oauth2/token", form, "grant_type=password&client_id=backoffice&username=%00&password=%00"); code != 400 || m["error"] != "invalid_request" {
		t.Fatalf("token request with NUL credentials: %d %v", code, m)
	}
	basic := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic /zr/"} // \xff:\xff
	for _, path := range []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"} {
		if code, m := do("POST", path, basic, "grant_type=client_credentials&token=x"); code != 400 || m["error"] != "invalid_request" {
			t.Fatalf("%s with invalid UTF-8 Basic credentials: %d %v", path, code, m)
		}
	}
}
