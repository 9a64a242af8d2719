package app_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// In-process costs of the proxies' hot paths through the public engine
// (no network), beside BenchmarkForwardAuthAPIKey, BenchmarkJWKSHandler,
// BenchmarkIntrospectAccessToken and BenchmarkHealthzHandler.

func benchForwardAuth(b *testing.B, s *testServer, header, value string) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, "/forward-auth", nil)
	req.Header.Set(header, value)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := *req
		s.App.Public.ServeHTTP(w, &r)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkForwardAuthJWT: one user's access token presented again and
// again (verified-token cache hits, the subject check included).
func BenchmarkForwardAuthJWT(b *testing.B) {
	s := newTestServer(b, nil)
	benchForwardAuth(b, s, "Authorization", "Bearer "+akAdmin(b, s, "live"))
}

// BenchmarkForwardAuthJWTNeverSeen: every request a token not verified
// before (a full ES256 verification each).
func BenchmarkForwardAuthJWTNeverSeen(b *testing.B) {
	s := newTestServer(b, nil)
	toks := make([]string, 0, 4096)
	for range cap(toks) {
		toks = append(toks, "Bearer "+akAdmin(b, s, "live"))
	}
	req := httptest.NewRequest(http.MethodGet, "/forward-auth", nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(toks) {
			b.StopTimer()
			s.App.Tokens.SetCache(10000, 8<<20) // a new, empty cache: the tokens are unseen again
			i = 0
			b.StartTimer()
		}
		r := *req
		r.Header = http.Header{"Authorization": {toks[i]}}
		i++
		w := httptest.NewRecorder()
		s.App.Public.ServeHTTP(w, &r)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
