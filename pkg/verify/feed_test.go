package verify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/pkg/verify/verifytest"
)

func TestFeedRevokesCachedTokens(t *testing.T) {
	tests := []struct {
		name   string
		claims func(c map[string]any)
		kind   string
		key    string
		cutoff bool // tokens issued after the entry's at stay valid
	}{
		{name: "jti", kind: "token", key: "jti-1", claims: func(c map[string]any) { c["jti"] = "jti-1" }},
		{name: "family", kind: "family", key: "family-9", claims: func(c map[string]any) { c["sid"] = "family-9" }},
		{name: "user", kind: "user", key: "user-1", cutoff: true},
		{name: "contact", kind: "contact", key: "biz-1/test/contact-7", cutoff: true, claims: func(c map[string]any) {
			c["kind"], c["sub"], c["org"], c["mode"] = "contact", "contact-7", "biz-1", "test"
		}},
		{name: "client", kind: "client", key: "backoffice", cutoff: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, feedOn()...)
			ctx := context.Background()
			tok := e.token(tc.claims)
			if _, err := e.v.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Second)
			seq := e.authd.Revoke(tc.kind, tc.key, e.clock.Now(), e.clock.Now().Add(10*time.Minute))
			e.waitFor("the entry", func() bool { return e.v.Status().Cursor >= seq })
			if _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrRevoked) {
				t.Fatalf("cached token after its revocation: %v", err)
			}
			if _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrRevoked) {
				t.Fatalf("presented again: %v", err)
			}
			if tc.cutoff {
				e.clock.Advance(time.Second)
				if _, err := e.v.Verify(ctx, e.token(tc.claims)); err != nil {
					t.Fatalf("a token issued after the cut-off: %v", err)
				}
			}
			// Another subject is not affected.
			other := e.token(func(c map[string]any) {
				c["sub"], c["jti"], c["sid"], c["client_id"] = "user-2", "jti-2", "family-2", "selfservice"
			})
			if _, err := e.v.Verify(ctx, other); err != nil {
				t.Fatalf("another token: %v", err)
			}
		})
	}
}

func TestFeedReplayedBeforeNewReturns(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	e.authd.Revoke("user", "user-1", now, now.Add(10*time.Minute))
	e.authd.Revoke("token", "lapsed", now.Add(-time.Hour), now.Add(-time.Minute)) // no longer in force
	seq := e.authd.Revoke("token", "jti-3", now, now.Add(10*time.Minute))
	e.v = e.newVerifier(feedOn()...)
	st := e.v.Status()
	if !st.Feed || !st.FeedCurrent || st.Cursor != seq || st.Revocations != 2 {
		t.Fatalf("status %+v", st)
	}
	if _, err := e.v.Verify(context.Background(), e.token(nil)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked before New: %v", err)
	}
}

func TestFeedReconnectsAndResumes(t *testing.T) {
	e := start(t, feedOn()...)
	ctx := context.Background()
	now := e.clock.Now()
	first := e.authd.Revoke("token", "jti-a", now, now.Add(time.Hour))
	e.waitFor("the first entry", func() bool { return e.v.Status().Cursor == first })

	e.authd.DropFeed()
	e.waitFor("a second connection, caught up", func() bool {
		return len(e.authd.FeedConnections()) == 2 && e.v.Status().FeedCurrent
	})
	if got := e.authd.FeedConnections(); got[0] != "" || got[1] != "1" {
		t.Fatalf("Last-Event-ID of the connections: %q; want [\"\" \"1\"]", got)
	}
	second := e.authd.Revoke("token", "jti-b", now, now.Add(time.Hour))
	e.waitFor("the entry after the reconnection", func() bool { return e.v.Status().Cursor == second })
	for _, jti := range []string{"jti-a", "jti-b"} {
		if _, err := e.v.Verify(ctx, e.token(func(c map[string]any) { c["jti"] = jti })); !errors.Is(err, ErrRevoked) {
			t.Fatalf("%s: %v", jti, err)
		}
	}

	// Dropped again and again: each reconnection resumes from the cursor.
	for range 3 {
		e.authd.DropFeed()
	}
	e.waitFor("a fresh connection", func() bool {
		c := e.authd.FeedConnections()
		return len(c) >= 3 && e.v.Status().FeedCurrent
	})
	for _, id := range e.authd.FeedConnections()[2:] {
		if id != "2" {
			t.Fatalf("resumed from %q, want 2", id)
		}
	}
}

func TestFeedDropsLapsedEntries(t *testing.T) {
	e := start(t, feedOn()...)
	now := e.clock.Now()
	e.authd.Revoke("user", "user-1", now, now.Add(time.Minute))
	seq := e.authd.Revoke("family", "family-1", now, now.Add(time.Hour))
	e.waitFor("the entries", func() bool { return e.v.Status().Cursor == seq })
	if n := e.v.Status().Revocations; n != 2 {
		t.Fatalf("held %d", n)
	}
	e.clock.Advance(2 * time.Minute)
	e.authd.Keepalive()
	e.waitFor("the lapsed entry to go", func() bool { return e.v.Status().Revocations == 1 })
}

func TestFeedIgnoresOtherKinds(t *testing.T) {
	e := start(t, feedOn()...)
	now := e.clock.Now()
	e.authd.Revoke("api_key", "ab12", now, now.Add(time.Hour))
	e.authd.Revoke("contact", "no-slashes", now, now.Add(time.Hour))
	seq := e.authd.Revoke("something-new", "x", now, now.Add(time.Hour))
	e.waitFor("the entries", func() bool { return e.v.Status().Cursor == seq })
	if st := e.v.Status(); st.Revocations != 0 || !st.FeedCurrent {
		t.Fatalf("status %+v", st)
	}
	if _, err := e.v.Verify(context.Background(), e.token(nil)); err != nil {
		t.Fatal(err)
	}
}

func TestFeedRefusesBadCredentials(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := New(ctx, e.authd.URL(), WithAudience(e.authd.URL()), WithHTTPClient(e.authd.Client()), WithLogger(quiet),
		WithRevocationFeed(verifytest.FeedClientID, "wrong"))
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "invalid_client") || ctx.Err() != nil {
		t.Fatalf("New = %v (ctx %v); want a 401 invalid_client at once", err, ctx.Err())
	}
	// Form-encoded Basic credentials (RFC 6749 §2.3.1): reserved characters survive.
	e.authd.SetFeedClient("id:with/odd chars", "s3cr%t:+")
	e.newVerifier(WithRevocationFeed("id:with/odd chars", "s3cr%t:+"))
}

func TestCloseStopsTheFeed(t *testing.T) {
	e := start(t, feedOn()...)
	e.v.Close()
	if e.v.Status().FeedCurrent {
		t.Fatal("current after Close")
	}
	select {
	case <-e.v.done:
	default:
		t.Fatal("feed goroutine still running")
	}
	e.v.Close() // idempotent
	if _, err := e.v.Verify(context.Background(), e.token(nil)); err != nil {
		t.Fatalf("Verify after Close: %v", err)
	}
}

// scriptedFeed answers the feed requests with scripted responses (and
// passes others to base), recording each request's Last-Event-ID. Past
// the script, a stream stays open and silent.
type scriptedFeed struct {
	base http.RoundTripper
	mu   sync.Mutex
	next []scripted
	ids  []string
}

type scripted struct {
	status int
	body   string
	hold   bool // keep the stream open after body
}

func (s *scriptedFeed) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/oauth2/revocations" {
		return s.base.RoundTrip(r)
	}
	s.mu.Lock()
	s.ids = append(s.ids, r.Header.Get("Last-Event-ID"))
	sc := scripted{status: http.StatusOK, hold: true}
	if len(s.next) > 0 {
		sc, s.next = s.next[0], s.next[1:]
	}
	s.mu.Unlock()
	body := io.NopCloser(strings.NewReader(sc.body))
	if sc.hold {
		pr, pw := io.Pipe()
		go func() {
			_, _ = io.WriteString(pw, sc.body)
			<-r.Context().Done()
			pw.CloseWithError(r.Context().Err())
		}()
		body = pr
	}
	h := http.Header{"Content-Type": {"text/event-stream; charset=utf-8"}}
	return &http.Response{StatusCode: sc.status, Status: http.StatusText(sc.status), Header: h, Body: body, Request: r}, nil
}

func (s *scriptedFeed) lastEventIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

func (e *env) scriptedVerifier(ctx context.Context, script ...scripted) (*Verifier, *scriptedFeed, error) {
	sf := &scriptedFeed{base: e.authd.Client().Transport, next: script}
	v, err := New(ctx, e.authd.URL(), WithAudience(e.authd.URL()), WithClock(e.clock.Now), WithLogger(quiet),
		WithHTTPClient(&http.Client{Transport: sf}), withFeedHooks(e.events), feedOn()[0])
	if v != nil {
		e.t.Cleanup(v.Close)
	}
	return v, sf, err
}

func TestFeedStreamParsing(t *testing.T) {
	e := newEnv(t)
	until := e.clock.Now().Add(time.Hour).Unix()
	u := func(s string) string { return strings.ReplaceAll(s, "UNTIL", itoa(until)) }
	v, sf, err := e.scriptedVerifier(context.Background(),
		scripted{status: http.StatusServiceUnavailable, body: `{"error":"temporarily_unavailable"}`},
		scripted{status: http.StatusOK, body: u(
			": hello\r\n\r\n" +
				"retry: 10\r\nid: 1\r\nevent: revocation\r\ndata: {\"seq\":1,\"kind\":\"token\",\r\ndata: \"key\":\"jti-1\",\"at\":1,\"until\":UNTIL}\r\n\r\n" +
				"event: something-else\ndata: {}\n\n" +
				"data: no event name\n\n" +
				"id: 2\nevent:revocation\ndata:{\"seq\":2,\"kind\":\"user\",\"key\":\"user-1\",\"at\":9999999999,\"until\":UNTIL}\n\n" +
				"event: ready\ndata: {\"cursor\":5}\n\n"), hold: true},
	)
	if err != nil {
		t.Fatalf("New (after a 503): %v", err)
	}
	if st := v.Status(); st.Cursor != 5 || st.Revocations != 2 || !st.FeedCurrent {
		t.Fatalf("status %+v", st)
	}
	if ids := sf.lastEventIDs(); len(ids) != 2 || ids[0] != "" || ids[1] != "" {
		t.Fatalf("Last-Event-IDs %q", ids)
	}
}

func TestFeedUnreadableEntryIsFetchedAgain(t *testing.T) {
	e := newEnv(t)
	until := itoa(e.clock.Now().Add(time.Hour).Unix())
	good := "id: 1\nevent: revocation\ndata: {\"seq\":1,\"kind\":\"token\",\"key\":\"a\",\"at\":1,\"until\":" + until + "}\n\n"
	v, sf, err := e.scriptedVerifier(context.Background(),
		scripted{status: http.StatusOK, body: good + "id: 2\nevent: revocation\ndata: {\"seq\":2,\"kind\n\n", hold: true},
		scripted{status: http.StatusOK, body: "id: 2\nevent: revocation\ndata: {\"seq\":2,\"kind\":\"token\",\"key\":\"b\",\"at\":1,\"until\":" + until + "}\n\nevent: ready\ndata: {\"cursor\":2}\n\n", hold: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	if ids := sf.lastEventIDs(); len(ids) != 2 || ids[1] != "1" {
		t.Fatalf("Last-Event-IDs %q; want the second to resume after 1", ids)
	}
	if st := v.Status(); st.Cursor != 2 || st.Revocations != 2 {
		t.Fatalf("status %+v", st)
	}
}

func TestNewGivesUpWhenTheFeedNeverCatchesUp(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _, err := e.scriptedVerifier(ctx) // a stream that stays silent
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New = %v", err)
	}
}

func TestFeedRefusesNonStream(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	sf := &scriptedFeed{base: e.authd.Client().Transport}
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := sf.RoundTrip(r)
		if err == nil && r.URL.Path == "/oauth2/revocations" {
			resp.Header.Set("Content-Type", "application/json")
		}
		return resp, err
	})}
	_, err := New(ctx, e.authd.URL(), WithAudience(e.authd.URL()), WithLogger(quiet), WithHTTPClient(hc), withFeedHooks(e.events), feedOn()[0])
	if err == nil || len(sf.lastEventIDs()) < 2 {
		t.Fatalf("New = %v after %d attempts; want retries, then the deadline", err, len(sf.lastEventIDs()))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestFeedReconnectsWhenSilent(t *testing.T) {
	e := newEnv(t)
	ready := "event: ready\ndata: {\"cursor\":0}\n\n"
	withIdle := func(c *config) { c.feedIdle = 50 * time.Millisecond }
	sf := &scriptedFeed{base: e.authd.Client().Transport, next: []scripted{
		{status: http.StatusOK, body: ready, hold: true}, // then silent: no keepalive
		{status: http.StatusOK, body: ready, hold: true},
	}}
	v, err := New(context.Background(), e.authd.URL(), WithAudience(e.authd.URL()), WithClock(e.clock.Now), WithLogger(quiet),
		WithHTTPClient(&http.Client{Transport: sf}), withFeedHooks(e.events), feedOn()[0], withIdle)
	if err != nil {
		t.Fatal(err)
	}
	e.v = v
	t.Cleanup(v.Close)
	e.waitFor("a second connection after the first went silent", func() bool { return len(sf.lastEventIDs()) >= 2 })
}
