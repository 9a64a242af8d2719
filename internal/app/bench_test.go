package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
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
