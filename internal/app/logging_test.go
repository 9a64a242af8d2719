package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/authd/authd/internal/app"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the JSON log lines whose msg is msg (any msg when empty)
// and whose level is level (any when empty), and resets the buffer.
func (s *syncBuffer) take(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	s.b.Reset()
	return out
}

func count(lines []map[string]any, level, msg string) int {
	n := 0
	for _, m := range lines {
		if m["msg"] == "dependency down" {
			continue // the background probe's own line, once per outage
		}
		if (level == "" || m["level"] == level) && (msg == "" || m["msg"] == msg) {
			n++
		}
	}
	return n
}

// TestRequestLogs: successful requests are logged as log.requests says
// (off, sampled, all); refusals always; a failure gives exactly one ERROR
// line, whichever door it went through.
func TestRequestLogs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode        string
		every, want int
	}{{"off", 1, 0}, {"sampled", 3, 2}, {"all", 1, 6}} {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Log.Requests, cfg.Log.SampleEvery = tc.mode, tc.every
			var buf syncBuffer
			s := startTestServer(t, cfg, app.Options{}, &buf)
			buf.take(t)
			for range 6 {
				if r, _ := get(t, s.URL+"/.well-known/jwks.json", nil); r.StatusCode != 200 {
					t.Fatal(r.Status)
				}
			}
			if got := count(buf.take(t), "INFO", "http request"); got != tc.want {
				t.Errorf("%d access-log lines for 6 successful requests, want %d", got, tc.want)
			}
			if r, _ := get(t, s.URL+"/no/such/path", nil); r.StatusCode != 404 {
				t.Fatal(r.Status)
			}
			if got := count(buf.take(t), "INFO", "http request"); got != 1 {
				t.Errorf("%d lines for a refused request, want 1", got)
			}
		})
	}
	t.Run("one error line per failure", func(t *testing.T) {
		var buf syncBuffer
		s := startTestServer(t, nil, app.Options{}, &buf)
		secret := s.Boot.Clients.Introspection.ClientSecret
		if err := s.App.Store.Close(); err != nil {
			t.Fatal(err)
		}
		buf.take(t)
		resp, _ := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, "introspection", secret)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("token: %d", resp.StatusCode)
		}
		lines := buf.take(t)
		if got := count(lines, "ERROR", ""); got != 1 {
			t.Errorf("/oauth2/token failure: %d ERROR lines, want 1: %v", got, lines)
		}
		code, _, _ := s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": "a@b.example", "password": "whatever-long"})
		if code != http.StatusServiceUnavailable {
			t.Fatalf("authenticate: %d", code)
		}
		lines = buf.take(t)
		if got := count(lines, "ERROR", ""); got != 1 {
			t.Errorf("CRM endpoint failure: %d ERROR lines, want 1: %v", got, lines)
		}
		if got := count(lines, "", "http request"); got != 1 {
			t.Errorf("CRM endpoint failure: %d access-log lines, want 1", got)
		}
	})
}
