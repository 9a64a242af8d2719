package facebook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/internal/upstream/facebook"
)

func TestVerifyIDToken(t *testing.T) {
	e := newIDEnv(t)
	now := e.clock.Now()
	claims := func(change func(map[string]any)) map[string]any {
		c := e.ll.Claims(appID, alice, now)
		c["nonce"] = "n-0S6_WzA2Mj"
		if change != nil {
			change(c)
		}
		return c
	}
	signed := func(change func(map[string]any)) func() string {
		return func() string { return e.ll.Sign(claims(change)) }
	}
	valid := e.ll.Sign(claims(nil))
	parts := strings.Split(valid, ".")
	other := e.ll.Sign(claims(func(c map[string]any) { c["sub"] = "666" }))
	tampered := parts[0] + "." + strings.Split(other, ".")[1] + "." + parts[2]

	tests := []struct {
		name    string
		token   func() string
		nonce   string
		want    facebook.Profile
		wantErr error
	}{
		{name: "valid", token: signed(nil), want: alice},
		{name: "valid, nonce matches", token: signed(nil), nonce: "n-0S6_WzA2Mj", want: alice},
		{name: "valid, aud as a one-element array", token: signed(func(c map[string]any) { c["aud"] = []string{appID} }), want: alice},
		{name: "valid, expired within the leeway", token: signed(func(c map[string]any) {
			c["iat"] = now.Add(-time.Hour).Unix()
			c["exp"] = now.Add(-10 * time.Second).Unix()
		}), want: alice},
		{name: "valid, no email, non-web picture dropped", token: signed(func(c map[string]any) {
			delete(c, "email")
			c["picture"] = "javascript:alert(1)"
		}), want: facebook.Profile{ID: alice.ID, FirstName: alice.FirstName, LastName: alice.LastName}},
		{name: "bad nonce", token: signed(nil), nonce: "n-other", wantErr: facebook.ErrInvalidToken},
		{name: "nonce prefix", token: signed(nil), nonce: "n-0S6_WzA2M", wantErr: facebook.ErrInvalidToken},
		{name: "nonce wanted, none in the token", token: signed(func(c map[string]any) { delete(c, "nonce") }), nonce: "n-0S6_WzA2Mj", wantErr: facebook.ErrInvalidToken},
		{name: "wrong aud", token: signed(func(c map[string]any) { c["aud"] = "999999" }), wantErr: facebook.ErrInvalidToken},
		{name: "aud shared with another party", token: signed(func(c map[string]any) { c["aud"] = []string{appID, "999999"} }), wantErr: facebook.ErrInvalidToken},
		{name: "no aud", token: signed(func(c map[string]any) { delete(c, "aud") }), wantErr: facebook.ErrInvalidToken},
		{name: "wrong iss", token: signed(func(c map[string]any) { c["iss"] = "https://evil.example" }), wantErr: facebook.ErrInvalidToken},
		{name: "no iss", token: signed(func(c map[string]any) { delete(c, "iss") }), wantErr: facebook.ErrInvalidToken},
		{name: "expired", token: signed(func(c map[string]any) {
			c["iat"] = now.Add(-time.Hour).Unix()
			c["exp"] = now.Add(-2 * time.Minute).Unix()
		}), wantErr: facebook.ErrInvalidToken},
		{name: "no exp", token: signed(func(c map[string]any) { delete(c, "exp") }), wantErr: facebook.ErrInvalidToken},
		{name: "iat in the future", token: signed(func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() }), wantErr: facebook.ErrInvalidToken},
		{name: "no iat", token: signed(func(c map[string]any) { delete(c, "iat") }), wantErr: facebook.ErrInvalidToken},
		{name: "iat after exp", token: signed(func(c map[string]any) { c["iat"] = now.Unix(); c["exp"] = now.Add(-time.Second).Unix() }), wantErr: facebook.ErrInvalidToken},
		{name: "nbf in the future", token: signed(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() }), wantErr: facebook.ErrInvalidToken},
		{name: "no sub", token: signed(func(c map[string]any) { delete(c, "sub") }), wantErr: facebook.ErrInvalidToken},
		{name: "nonce of the wrong type", token: signed(func(c map[string]any) { c["nonce"] = 42 }), nonce: "42", wantErr: facebook.ErrInvalidToken},
		{name: "alg none", token: func() string { return e.ll.SignNone(claims(nil)) }, wantErr: facebook.ErrInvalidToken},
		{name: "HS256 keyed with the public key", token: func() string { return e.ll.SignHS256(claims(nil)) }, wantErr: facebook.ErrInvalidToken},
		{name: "signed by an unpublished key under the current kid", token: func() string { return e.ll.Forge(claims(nil)) }, wantErr: facebook.ErrInvalidToken},
		{name: "no kid", token: func() string { return e.ll.SignWithKID(claims(nil), "") }, wantErr: facebook.ErrInvalidToken},
		{name: "payload swapped under a valid signature", token: func() string { return tampered }, wantErr: facebook.ErrInvalidToken},
		{name: "signature stripped", token: func() string { return parts[0] + "." + parts[1] + "." }, wantErr: facebook.ErrInvalidToken},
		{name: "empty", token: func() string { return "" }, wantErr: facebook.ErrInvalidToken},
		{name: "garbage", token: func() string { return "garbage" }, wantErr: facebook.ErrInvalidToken},
		{name: "three garbage parts", token: func() string { return "a.b.c" }, wantErr: facebook.ErrInvalidToken},
		{name: "a Graph access token", token: func() string { return "EAAvalid1" }, wantErr: facebook.ErrInvalidToken},
		{name: "oversized", token: func() string { return strings.Repeat("a", 20000) + ".b.c" }, wantErr: facebook.ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.client.VerifyIDToken(background(), tc.token(), tc.nonce)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("VerifyIDToken: %v", err)
				}
				if got != tc.want {
					t.Errorf("profile = %+v, want %+v", got, tc.want)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || errors.Is(err, facebook.ErrUnavailable) {
				t.Fatalf("err = %v, want %v only", err, tc.wantErr)
			}
			if got != (facebook.Profile{}) {
				t.Errorf("profile = %+v alongside an error", got)
			}
		})
	}
	if got := e.ll.Fetches(); got != 1 {
		t.Errorf("JWKS fetches = %d, want 1 (keys cached)", got)
	}
	if got := e.graph.Calls("debug_token") + e.graph.Calls("me"); got != 0 {
		t.Errorf("id tokens called Graph %d times", got)
	}
}

func TestIDTokenKeyRotation(t *testing.T) {
	e := newIDEnv(t)
	verify := func(tok string) error {
		_, err := e.client.VerifyIDToken(background(), tok, "")
		return err
	}
	// Tokens last three hours so that only keys matter here.
	sign := func() string {
		c := e.ll.Claims(appID, alice, e.clock.Now())
		c["exp"] = e.clock.Now().Add(3 * time.Hour).Unix()
		return e.ll.Sign(c)
	}
	old := sign()
	if err := verify(old); err != nil {
		t.Fatal(err)
	}
	oldKID := e.ll.KeyID()

	e.ll.Rotate()
	rotated := sign()
	steps := []struct {
		name        string
		advance     time.Duration
		token       string
		wantErr     error
		wantFetches int
	}{
		{name: "unknown kid within a minute of the last fetch: refused, no fetch", advance: 10 * time.Second,
			token: rotated, wantErr: facebook.ErrInvalidToken, wantFetches: 1},
		{name: "unknown kid a minute later: one fetch, valid", advance: 51 * time.Second,
			token: rotated, wantFetches: 2},
		{name: "known kid: no fetch", token: rotated, wantFetches: 2},
		{name: "previous key still published: valid", token: old, wantFetches: 2},
		{name: "forged kid right after a fetch: refused, no fetch",
			token: e.ll.SignWithKID(e.ll.Claims(appID, alice, e.clock.Now()), "forged-kid"), wantErr: facebook.ErrInvalidToken, wantFetches: 2},
	}
	for _, s := range steps {
		e.clock.Advance(s.advance)
		err := verify(s.token)
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil) != (err == nil) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.wantErr)
		}
		if got := e.ll.Fetches(); got != s.wantFetches {
			t.Fatalf("%s: JWKS fetches = %d, want %d", s.name, got, s.wantFetches)
		}
	}

	// A storm of verifications with a new kid: one fetch.
	e.ll.Rotate()
	newest := sign()
	e.clock.Advance(61 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() { errs <- verify(newest) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.ll.Fetches(); got != 3 {
		t.Fatalf("JWKS fetches after 50 concurrent verifications = %d, want 3", got)
	}

	// A retired key stops verifying once the set is refreshed (hourly):
	// the first use of the hour-old set is answered from it at once and
	// starts the refresh in the background; once that lands, the retired
	// key is refused.
	e.ll.Retire(oldKID)
	e.clock.Advance(time.Hour)
	if err := verify(old); err != nil {
		t.Fatalf("first use of the hour-old set: %v (want it answered from the old set)", err)
	}
	waitFetches(t, e.ll.Fetches, 4)
	waitFor(t, "the retired key refused", func() bool { return errors.Is(verify(old), facebook.ErrInvalidToken) })
	if got := e.ll.Fetches(); got != 4 {
		t.Fatalf("JWKS fetches = %d, want 4", got)
	}
}

// waitFetches waits until the JWKS was fetched want times (a background
// refresh), and fails if it goes past.
func waitFetches(t *testing.T, fetches func() int, want int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d JWKS fetches", want), func() bool { return fetches() >= want })
	if got := fetches(); got != want {
		t.Fatalf("JWKS fetches = %d, want %d", got, want)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 3 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIDTokenJWKSUnavailable(t *testing.T) {
	e := newIDEnv(t, func(c *facebook.Config) { c.Timeout = 300 * time.Millisecond })
	sign := func() string {
		c := e.ll.Claims(appID, alice, e.clock.Now())
		c["exp"] = e.clock.Now().Add(3 * time.Hour).Unix()
		return e.ll.Sign(c)
	}
	tok := sign()
	steps := []struct {
		name        string
		down        bool
		advance     time.Duration
		wantErr     error
		wantFetches int
	}{
		{name: "JWKS down at first use", down: true, wantErr: facebook.ErrUnavailable, wantFetches: 1},
		{name: "again at once: no new fetch", down: true, advance: 5 * time.Second, wantErr: facebook.ErrUnavailable, wantFetches: 1},
		{name: "back up, retried after 10s", advance: 6 * time.Second, wantFetches: 2},
		{name: "keys an hour old, JWKS down: stale keys serve", down: true, advance: time.Hour, wantFetches: 3},
		{name: "still down: no fetch storm", down: true, advance: time.Second, wantFetches: 3},
	}
	for _, s := range steps {
		e.ll.SetDown(s.down)
		e.clock.Advance(s.advance)
		_, err := e.client.VerifyIDToken(background(), tok, "")
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil) != (err == nil) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.wantErr)
		}
		if s.wantErr != nil && errors.Is(err, facebook.ErrInvalidToken) {
			t.Fatalf("%s: err = %v is also ErrInvalidToken", s.name, err)
		}
		waitFetches(t, e.ll.Fetches, s.wantFetches)
	}
}

func TestIDTokenJWKSHangsWithinTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	jwks := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	})
	e := newIDEnv(t, func(c *facebook.Config) {
		c.Timeout = timeout
	})
	cfg := e.cfg
	cfg.LimitedLoginJWKSURL = jwks + "/jwks"
	c := e.newClient(cfg, nil)
	start := time.Now()
	_, err := c.VerifyIDToken(background(), e.ll.Sign(e.ll.Claims(appID, alice, e.clock.Now())), "")
	took := time.Since(start)
	if !errors.Is(err, facebook.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping the deadline", err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Fatalf("took %v, want about %v", took, timeout)
	}
}

// TestIDTokenOldKeysDoNotWait: once the set is an hour old, a known kid is
// answered at once while the refresh runs in the background, even when the
// JWKS endpoint hangs.
func TestIDTokenOldKeysDoNotWait(t *testing.T) {
	const timeout = 2 * time.Second
	e := newIDEnv(t, func(c *facebook.Config) { c.Timeout = timeout })
	var hanging atomic.Bool
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	proxy := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if hanging.Load() {
			select {
			case <-r.Context().Done():
			case <-hang:
			}
			return
		}
		resp, err := http.Get(e.ll.JWKSURL())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	})
	cfg := e.cfg
	cfg.LimitedLoginJWKSURL = proxy + "/jwks"
	c := e.newClient(cfg, nil)
	tok := func() string {
		claims := e.ll.Claims(appID, alice, e.clock.Now())
		return e.ll.Sign(claims)
	}
	if _, err := c.VerifyIDToken(background(), tok(), ""); err != nil {
		t.Fatal(err)
	}
	hanging.Store(true)
	e.clock.Advance(time.Hour + time.Minute)
	start := time.Now()
	if _, err := c.VerifyIDToken(background(), tok(), ""); err != nil {
		t.Fatalf("known key in an hour-old set: %v", err)
	}
	if took := time.Since(start); took > timeout/2 {
		t.Fatalf("took %v: the verification waited for the refresh", took)
	}
}
