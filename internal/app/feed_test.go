package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/oauth"
	"github.com/authd/authd/internal/store"
)

// feedEvent is one Server-Sent Event of /oauth2/revocations.
type feedEvent struct {
	id, event string
	data      map[string]any
}

// feedStream reads the revocation feed of s as its client, from cursor
// lastID ("" for the start); events arrive on the channel until ctx ends.
func feedStream(t *testing.T, ctx context.Context, s *testServer, lastID string) <-chan feedEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/oauth2/revocations", nil)
	req.SetBasicAuth(s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("feed: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan feedEvent, 64)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev feedEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					out <- ev
				}
				ev = feedEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			}
		}
	}()
	return out
}

// next waits for the next event of kind event, failing after d.
func next(t *testing.T, events <-chan feedEvent, event string, d time.Duration) feedEvent {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the feed ended while waiting for %s", event)
			}
			if ev.event == event {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within %v", event, d)
		}
	}
}

// TestRevocationFeed: the feed replays the revocations in force, then
// streams new ones at once, resumes after Last-Event-ID, answers pollers
// in JSON, and serves only clients allowed to read it.
func TestRevocationFeed(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, lenient(testConfig(t)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	_, refresh := signInTokens(t, s)
	revokeAt(t, s, refresh) // a family revoked before anyone listens
	events := feedStream(t, ctx, s, "")
	first := next(t, events, "revocation", 2*time.Second)
	if first.data["kind"] != store.RevokeFamily || first.data["key"] == "" || first.data["until"].(float64) <= first.data["at"].(float64) {
		t.Fatalf("replayed entry %+v", first.data)
	}
	ready := next(t, events, "ready", time.Second)
	if ready.data["cursor"] == nil || ready.data["cursor"].(float64) < 1 {
		t.Fatalf("ready %+v", ready.data)
	}

	// A revocation made now arrives on the open stream.
	access, _ := signInTokens(t, s)
	revokeAt(t, s, access)
	start := time.Now()
	live := next(t, events, "revocation", time.Second)
	claims, err := s.App.Tokens.Parse(access)
	if err != nil {
		t.Fatal(err)
	}
	if live.data["kind"] != store.RevokeToken || live.data["key"] != claims.ID || live.id == "" || live.id == first.id {
		t.Fatalf("live entry %+v (id %s)", live.data, live.id)
	}
	t.Logf("live revocation streamed after %v", time.Since(start))

	// Resuming after the first entry skips it.
	cancel()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	resumed := feedStream(t, ctx2, s, first.id)
	if ev := next(t, resumed, "revocation", time.Second); ev.id != live.id {
		t.Fatalf("resumed after %s, got %s first", first.id, ev.id)
	}

	// Pollers: JSON after a cursor.
	poll := func(since string, user, pass string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/oauth2/revocations?since="+url.QueryEscape(since), nil)
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	intro := s.Boot.Clients.Introspection
	resp, m := poll("0", intro.ClientID, intro.ClientSecret)
	if resp.StatusCode != 200 || len(m["revocations"].([]any)) != 2 || m["cursor"].(float64) < 2 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("poll since 0: %d %v", resp.StatusCode, m)
	}
	if _, m := poll(live.id, intro.ClientID, intro.ClientSecret); len(m["revocations"].([]any)) != 0 {
		t.Fatalf("poll after the last entry: %v", m)
	}
	if resp, m := poll("x", intro.ClientID, intro.ClientSecret); resp.StatusCode != 400 || m["error"] != "invalid_request" {
		t.Fatalf("bad cursor: %d %v", resp.StatusCode, m)
	}

	// Only confidential clients holding revocations:read.
	secret := "another-client-secret-0123456789abcdef"
	if err := s.App.Store.CreateClient(context.Background(), store.Client{ID: "svc", Name: "svc", SecretHash: oauth.HashSecret(secret),
		Scopes: []string{oauth.ScopeIntrospect}, GrantTypes: []string{"client_credentials"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if resp, m := poll("0", "svc", secret); resp.StatusCode != 400 || m["error"] != "unauthorized_client" {
		t.Fatalf("client without revocations:read: %d %v", resp.StatusCode, m)
	}
	if resp, _ := poll("0", intro.ClientID, "wrong"); resp.StatusCode != 401 {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/oauth2/revocations", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("no client: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestFaultFeedAcrossReplicas: a stream opened on replica B hears a
// revocation made on replica A within a second, also after Redis lost
// everything (the feed follows the durable log).
func TestFaultFeedAcrossReplicas(t *testing.T) {
	e := newFaultEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := feedStream(t, ctx, e.b, "")
	next(t, events, "ready", 2*time.Second)
	for _, restart := range []bool{false, true} {
		if restart {
			e.redis.Restart()
		}
		access, _ := signInTokens(t, e.a)
		revokeAt(t, e.a, access)
		start := time.Now()
		ev := next(t, events, "revocation", revocationBound)
		claims, _ := e.a.App.Tokens.Parse(access)
		if ev.data["key"] != claims.ID {
			t.Fatalf("B streamed %+v, want the jti revoked on A", ev.data)
		}
		t.Logf("Redis restarted: %v; B streamed A's revocation after %v", restart, time.Since(start))
	}
}
