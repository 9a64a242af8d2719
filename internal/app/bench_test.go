package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/otp/sender"
)

// In-process benchmarks of whole requests through the gin engine (no
// network): what one request costs the server.

func BenchmarkJWKSHandler(b *testing.B) {
	s := newTestServer(b, nil)
	req := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.App.Public.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkClientCredentialsGrant(b *testing.B) {
	s := newTestServer(b, nil)
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("introspection", s.Boot.Clients.Introspection.ClientSecret)
		w := httptest.NewRecorder()
		s.App.Public.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

func BenchmarkIntrospectAccessToken(b *testing.B) {
	s := newTestServer(b, nil)
	tok, err := s.clientCredentials().Token(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"token": {tok.AccessToken}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/oauth2/introspect", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("introspection", s.Boot.Clients.Introspection.ClientSecret)
		w := httptest.NewRecorder()
		s.App.Public.ServeHTTP(w, req)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"active":true`) {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// Loopback benchmarks: a real HTTP server and parallel keep-alive clients.

func loopback(b *testing.B, path string, do func(c *http.Client, base string) (*http.Response, error)) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer() // the server's start-up (bootstrap hashes a password) is not the request's cost
	b.RunParallel(func(pb *testing.PB) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		for pb.Next() {
			resp, err := do(c, path)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func BenchmarkLoopbackHealthz(b *testing.B) {
	s := newTestServer(b, nil)
	loopback(b, s.Admin+"/healthz", func(c *http.Client, u string) (*http.Response, error) { return c.Get(u) })
}

func BenchmarkLoopbackJWKS(b *testing.B) {
	s := newTestServer(b, nil)
	loopback(b, s.URL+"/.well-known/jwks.json", func(c *http.Client, u string) (*http.Response, error) { return c.Get(u) })
}

func BenchmarkLoopbackIntrospectAccessToken(b *testing.B) {
	s := newTestServer(b, nil)
	tok, err := s.clientCredentials().Token(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"token": {tok.AccessToken}}.Encode()
	secret := s.Boot.Clients.Introspection.ClientSecret
	loopback(b, s.URL+"/oauth2/introspect", func(c *http.Client, u string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("introspection", secret)
		return c.Do(req)
	})
}

// Sign-in benchmarks. The password grant runs argon2id at the
// configured (OWASP) cost; refresh and exchange cost one indexed read, one
// write and one signature.

func benchNetwork(b *testing.B) *network {
	cfg := testConfig(b)
	cfg.RateLimits.PasswordPerIPPerMinute = 1 << 30
	cfg.RateLimits.PasswordPerAccountPerHour = 1 << 30
	return newNetwork(b, cfg)
}

func serveForm(b *testing.B, s *testServer, form url.Values) map[string]any {
	req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.App.Public.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatal(w.Code, w.Body.String())
	}
	var m map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &m)
	return m
}

func BenchmarkPasswordGrant(b *testing.B) {
	n := benchNetwork(b)
	form := url.Values{"grant_type": {"password"}, "client_id": {"backoffice"}, "username": {n.alice}, "password": {userPassword}}
	b.ReportAllocs()
	for b.Loop() {
		serveForm(b, n.s, form)
	}
}

func BenchmarkRefreshGrant(b *testing.B) {
	n := benchNetwork(b)
	rt := n.s.signIn(b, n.alice, userPassword)["refresh_token"].(string)
	b.ReportAllocs()
	for b.Loop() {
		m := serveForm(b, n.s, url.Values{"grant_type": {"refresh_token"}, "client_id": {"backoffice"}, "refresh_token": {rt}})
		rt = m["refresh_token"].(string)
	}
}

func BenchmarkTokenExchange(b *testing.B) {
	n := benchNetwork(b)
	at := n.s.signIn(b, n.s.Boot.Admin.Email, n.s.Boot.Admin.Password)["access_token"].(string)
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {"backoffice"},
		"subject_token": {at}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "organisation_id": {n.bizB}}
	b.ReportAllocs()
	for b.Loop() {
		serveForm(b, n.s, form)
	}
}

// API-key benchmarks: introspecting a key over loopback, against
// BenchmarkLoopbackHealthz on the same machine (target: ≥ 60 % of its
// throughput), and the same key through /forward-auth.

func BenchmarkLoopbackIntrospectAPIKey(b *testing.B) {
	s := newTestServer(b, nil)
	if m := s.introspect(b, s.Boot.APIKeys["live"].Secret, "api_key"); m["active"] != true {
		b.Fatalf("the key is inactive: %v", m)
	}
	body := url.Values{"token": {s.Boot.APIKeys["live"].Secret}, "token_type_hint": {"api_key"}}.Encode()
	secret := s.Boot.Clients.Introspection.ClientSecret
	loopback(b, s.URL+"/oauth2/introspect", func(c *http.Client, u string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("introspection", secret)
		return c.Do(req)
	})
}

func BenchmarkLoopbackForwardAuthAPIKey(b *testing.B) {
	s := newTestServer(b, nil)
	key := s.Boot.APIKeys["live"].Secret
	loopback(b, s.URL+"/forward-auth", func(c *http.Client, u string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("api_key", key)
		return c.Do(req)
	})
}

func BenchmarkIntrospectAPIKey(b *testing.B) {
	s := newTestServer(b, nil)
	body := url.Values{"token": {s.Boot.APIKeys["live"].Secret}, "token_type_hint": {"api_key"}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/oauth2/introspect", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("introspection", s.Boot.Clients.Introspection.ClientSecret)
		w := httptest.NewRecorder()
		s.App.Public.ServeHTTP(w, req)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"active":true`) {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// OTP benchmarks: a fake sender, so delivery is excluded;
// cooldown and limits are out of the way.

func benchOTP(b *testing.B) (*testServer, *sender.Fake, string) {
	cfg := testConfig(b)
	cfg.OTP.ResendCooldown = 0
	cfg.OTP.PerIdentifierPerHour = 1 << 30
	cfg.OTP.PerIPPerHour = 1 << 30
	cfg.OTP.PerAPIKeyPerMinute = 1 << 30
	cfg.OTP.SMSBudgetPerBusinessPerHour = 0
	fake := &sender.Fake{}
	s := newTestServerWith(b, cfg, app.Options{OTPSender: fake})
	key := s.Boot.APIKeys["live"].Public
	// a registered contact to sign in
	serveJSON(b, s, "/self-service/v1/contacts/register", key,
		`{"first_name":"B","identity":{"provider":"EMAIL","email":"bench@example.com","password":"bench-long-password"}}`, 201)
	return s, fake, key
}

func serveJSON(b *testing.B, s *testServer, path, key, body string, want int) []byte {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api_key", key)
	w := httptest.NewRecorder()
	s.App.Public.ServeHTTP(w, req)
	if w.Code != want {
		b.Fatal(w.Code, w.Body.String())
	}
	return w.Body.Bytes()
}

func BenchmarkOTPRequest(b *testing.B) {
	s, _, key := benchOTP(b)
	b.ReportAllocs()
	for b.Loop() {
		serveJSON(b, s, "/self-service/v1/otps", key, `{"channel":"EMAIL","email":"bench@example.com"}`, 201)
	}
}

func BenchmarkOTPValidateAndIssue(b *testing.B) {
	s, fake, key := benchOTP(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var o struct {
			OTPID string `json:"otp_id"`
		}
		_ = json.Unmarshal(serveJSON(b, s, "/self-service/v1/otps", key, `{"channel":"EMAIL","email":"bench@example.com"}`, 201), &o)
		m, _ := fake.Last()
		b.StartTimer()
		serveJSON(b, s, "/self-service/v1/otps/"+o.OTPID+"/validate", key, `{"code":"`+m.Code+`"}`, 200)
	}
}

// In-process references for the API-key figures: the admin listener's
// /healthz and /forward-auth with an API key, through their engines.

func BenchmarkHealthzHandler(b *testing.B) {
	s := newTestServer(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.App.Admin.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkForwardAuthAPIKey(b *testing.B) {
	s := newTestServer(b, nil)
	key := s.Boot.APIKeys["live"].Secret
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/forward-auth", nil)
		req.Header.Set("api_key", key)
		w := httptest.NewRecorder()
		s.App.Public.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkRefreshGrantParallel: refreshes/s of the whole server, each
// client rotating its own family (GOMAXPROCS goroutines × -cpu).
func BenchmarkRefreshGrantParallel(b *testing.B) {
	n := benchNetwork(b)
	const clients = 32 // SetParallelism(8) × GOMAXPROCS 2 = 16 goroutines
	tokens := make(chan string, clients)
	for i := 0; i < clients; i++ {
		tokens <- n.s.signIn(b, n.alice, userPassword)["refresh_token"].(string)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rt := <-tokens
		for pb.Next() {
			m := serveForm(b, n.s, url.Values{"grant_type": {"refresh_token"}, "client_id": {"backoffice"}, "refresh_token": {rt}})
			rt = m["refresh_token"].(string)
		}
	})
}
