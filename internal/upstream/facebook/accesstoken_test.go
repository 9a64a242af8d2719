package facebook_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/upstream/facebook"
	fbt "github.com/authd/authd/internal/upstream/facebook/facebooktest"
)

func TestVerifyAccessToken(t *testing.T) {
	noEmail := facebook.Profile{ID: "20000000000000002", FirstName: "Bob", LastName: "Builder"}
	tests := []struct {
		name     string
		token    string
		register bool
		opts     []fbt.TokenOption
		profile  facebook.Profile // registered with the fake
		setup    func(e *env)
		want     facebook.Profile
		wantErr  error
		wantCall [2]int // debug_token, /me
	}{
		{name: "valid user token", token: "EAAvalid1", register: true, profile: alice,
			want: alice, wantCall: [2]int{1, 1}},
		{name: "valid, no email granted, default silhouette picture", token: "EAAvalid2", register: true, profile: noEmail,
			want: noEmail, wantCall: [2]int{1, 1}},
		{name: "valid, never expires (expires_at 0)", token: "EAAvalid3", register: true, profile: alice,
			opts: []fbt.TokenOption{fbt.ExpiresAt(time.Time{})}, want: alice, wantCall: [2]int{1, 1}},
		{name: "token of another app", token: "EAAother", register: true, profile: alice,
			opts: []fbt.TokenOption{fbt.OtherApp("999999")}, wantErr: facebook.ErrInvalidToken, wantCall: [2]int{1, 0}},
		{name: "expired token", token: "EAAexpired", register: true, profile: alice,
			opts: []fbt.TokenOption{fbt.Expired()}, wantErr: facebook.ErrInvalidToken, wantCall: [2]int{1, 0}},
		{name: "expired by our clock while Graph still calls it valid", token: "EAAskew", register: true, profile: alice,
			setup: func(e *env) {
				// Graph's clock is 3h behind ours: the token (2h) is valid
				// for Graph, expired for us.
				e.graph.SetNow(func() time.Time { return e.clock.Now().Add(-3 * time.Hour) })
			},
			wantErr: facebook.ErrInvalidToken, wantCall: [2]int{1, 0}},
		{name: "revoked token (app removed)", token: "EAArevoked", register: true, profile: alice,
			opts: []fbt.TokenOption{fbt.Revoked()}, wantErr: facebook.ErrInvalidToken, wantCall: [2]int{1, 0}},
		{name: "revoked token (password changed)", token: "EAApassword", register: true, profile: alice,
			opts: []fbt.TokenOption{fbt.RevokedWith(460)}, wantErr: facebook.ErrInvalidToken, wantCall: [2]int{1, 0}},
		{name: "page token", token: "EAApage", register: true, profile: alice,
			opts: []fbt.TokenOption{fbt.PageToken()}, wantErr: facebook.ErrInvalidToken, wantCall: [2]int{1, 0}},
		{name: "app token", token: "EAAapp", register: true, profile: alice,
			opts: []fbt.TokenOption{fbt.AppToken()}, wantErr: facebook.ErrInvalidToken, wantCall: [2]int{1, 0}},
		{name: "garbage Graph does not know", token: "EAAgarbage-not-a-real-token",
			wantErr: facebook.ErrInvalidToken, wantCall: [2]int{1, 0}},
		{name: "/me names another user than debug_token", token: "EAAmismatch", register: true, profile: alice,
			opts: []fbt.TokenOption{fbt.MeID("666")}, wantErr: facebook.ErrInvalidToken, wantCall: [2]int{1, 1}},
		{name: "empty token: refused without a call", token: "",
			wantErr: facebook.ErrInvalidToken, wantCall: [2]int{0, 0}},
		{name: "token with a space: refused without a call", token: "EAA abc",
			wantErr: facebook.ErrInvalidToken, wantCall: [2]int{0, 0}},
		{name: "token with a newline: refused without a call", token: "EAA\nabc",
			wantErr: facebook.ErrInvalidToken, wantCall: [2]int{0, 0}},
		{name: "oversized token: refused without a call", token: strings.Repeat("A", 5000),
			wantErr: facebook.ErrInvalidToken, wantCall: [2]int{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			if tc.register {
				e.graph.AddUser(tc.token, tc.profile, tc.opts...)
			}
			got, err := e.client.VerifyAccessToken(background(), tc.token)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("VerifyAccessToken: %v", err)
				}
				if got != tc.want {
					t.Errorf("profile = %+v, want %+v", got, tc.want)
				}
			} else {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if errors.Is(err, facebook.ErrUnavailable) {
					t.Errorf("err %v is also ErrUnavailable", err)
				}
				if got != (facebook.Profile{}) {
					t.Errorf("profile = %+v alongside an error", got)
				}
			}
			if c := e.calls(); c != tc.wantCall {
				t.Errorf("Graph calls (debug_token, /me) = %v, want %v", c, tc.wantCall)
			}
		})
	}
}

func TestAnswerCacheServesVerifiedProfile(t *testing.T) {
	e := newEnv(t)
	const token = "EAAcached"
	e.graph.AddUser(token, alice)
	for i := range 3 {
		got, err := e.client.VerifyAccessToken(background(), token)
		if err != nil || got != alice {
			t.Fatalf("call %d: %+v, %v", i, got, err)
		}
	}
	if c := e.calls(); c != [2]int{1, 1} {
		t.Fatalf("Graph calls = %v, want one round trip for three verifications", c)
	}

	// The cache holds the profile under the token's hash, never the token.
	raw, err := e.cache.Get(background(), cacheKeyOf(token))
	if err != nil {
		t.Fatalf("cache entry under the documented key: %v", err)
	}
	if strings.Contains(string(raw), token) || !strings.Contains(string(raw), alice.ID) {
		t.Errorf("cache value = %s: want the profile and not the token", raw)
	}

	// Another replica sharing the cache is served from it too.
	other := e.newClient(e.cfg, nil)
	if got, err := other.VerifyAccessToken(background(), token); err != nil || got != alice {
		t.Fatalf("second replica: %+v, %v", got, err)
	}
	if c := e.calls(); c != [2]int{1, 1} {
		t.Fatalf("Graph calls after second replica = %v, want [1 1]", c)
	}

	// Revoked at Facebook: the cached answer stands until CacheTTL...
	e.graph.Revoke(token)
	e.clock.Advance(59 * time.Second)
	if _, err := e.client.VerifyAccessToken(background(), token); err != nil {
		t.Fatalf("within CacheTTL: %v", err)
	}
	// ...and no longer.
	e.clock.Advance(2 * time.Second)
	if _, err := e.client.VerifyAccessToken(background(), token); !errors.Is(err, facebook.ErrInvalidToken) {
		t.Fatalf("after CacheTTL: err = %v, want ErrInvalidToken", err)
	}
	if c := e.calls(); c != [2]int{2, 1} {
		t.Fatalf("Graph calls = %v, want [2 1]", c)
	}
}

func TestAnswerCacheBoundedByTokenExpiry(t *testing.T) {
	e := newEnv(t) // CacheTTL: one minute
	const token = "EAAshortlived"
	e.graph.AddUser(token, alice, fbt.ExpiresAt(e.clock.Now().Add(10*time.Second)))
	if _, err := e.client.VerifyAccessToken(background(), token); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(11 * time.Second)
	if _, err := e.client.VerifyAccessToken(background(), token); !errors.Is(err, facebook.ErrInvalidToken) {
		t.Fatalf("after the token expired: err = %v, want ErrInvalidToken", err)
	}
	if got := e.graph.Calls("debug_token"); got != 2 {
		t.Fatalf("debug_token calls = %d, want 2 (the cached answer must end with the token)", got)
	}
}

func TestAnswerCacheRefusals(t *testing.T) {
	tests := []struct {
		name       string
		invalidTTL time.Duration
		advance    time.Duration
		wantCalls  int // debug_token calls after two verifications
	}{
		{name: "refusal remembered for the default 30s", advance: 29 * time.Second, wantCalls: 1},
		{name: "refusal forgotten after 30s", advance: 31 * time.Second, wantCalls: 2},
		{name: "refusals not cached when InvalidTTL < 0", invalidTTL: -1, wantCalls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *facebook.Config) { c.InvalidTTL = tc.invalidTTL })
			for i := range 2 {
				if _, err := e.client.VerifyAccessToken(background(), "EAAunknown"); !errors.Is(err, facebook.ErrInvalidToken) {
					t.Fatalf("call %d: err = %v, want ErrInvalidToken", i, err)
				}
				e.clock.Advance(tc.advance)
			}
			if got := e.graph.Calls("debug_token"); got != tc.wantCalls {
				t.Fatalf("debug_token calls = %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestAnswerCacheNeverKeepsOutages(t *testing.T) {
	e := newEnv(t)
	const token = "EAAflaky"
	e.graph.AddUser(token, alice)
	e.graph.SetMode(fbt.Down)
	if _, err := e.client.VerifyAccessToken(background(), token); !errors.Is(err, facebook.ErrUnavailable) {
		t.Fatalf("down: err = %v, want ErrUnavailable", err)
	}
	e.graph.SetMode(fbt.Up)
	if got, err := e.client.VerifyAccessToken(background(), token); err != nil || got != alice {
		t.Fatalf("back up: %+v, %v", got, err)
	}
	if got := e.graph.Calls("debug_token"); got != 2 {
		t.Fatalf("debug_token calls = %d, want 2", got)
	}
}

func TestNilCacheAsksGraphEachTime(t *testing.T) {
	e := newEnv(t)
	c, err := facebook.New(e.cfg, nil, nil, e.clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.graph.AddUser("EAAnocache", alice)
	for range 2 {
		if _, err := c.VerifyAccessToken(background(), "EAAnocache"); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.graph.Calls("debug_token"); got != 2 {
		t.Fatalf("debug_token calls = %d, want 2", got)
	}
}

func TestConcurrentVerificationsShareOneCall(t *testing.T) {
	e := newEnv(t)
	c, err := facebook.New(e.cfg, nil, nil, e.clock.Now, nil) // no cache: only the flight can collapse calls
	if err != nil {
		t.Fatal(err)
	}
	e.graph.AddUser("EAAsame", alice)
	e.graph.AddUser("EAAsecond", alice)
	e.graph.SetDelay(200 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		tok := "EAAsame"
		if i%8 == 0 {
			tok = "EAAsecond"
		}
		wg.Go(func() {
			p, err := c.VerifyAccessToken(background(), tok)
			if err == nil && p != alice {
				err = errors.New("wrong profile")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.calls(); got != [2]int{2, 2} {
		t.Fatalf("Graph calls = %v, want one round trip per distinct token ([2 2])", got)
	}
}

func TestCallerLeavingEarlyDoesNotCancelOthers(t *testing.T) {
	e := newEnv(t)
	e.graph.AddUser("EAAshared", alice)
	e.graph.SetDelay(300 * time.Millisecond)
	impatient, cancel := context.WithTimeout(background(), 50*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var errA, errB error
	var tookA time.Duration
	wg.Go(func() {
		start := time.Now()
		_, errA = e.client.VerifyAccessToken(impatient, "EAAshared")
		tookA = time.Since(start)
	})
	time.Sleep(10 * time.Millisecond)
	wg.Go(func() { _, errB = e.client.VerifyAccessToken(background(), "EAAshared") })
	wg.Wait()
	if !errors.Is(errA, facebook.ErrUnavailable) || !errors.Is(errA, context.DeadlineExceeded) || tookA > 250*time.Millisecond {
		t.Errorf("impatient caller: err = %v after %v, want ErrUnavailable(deadline) promptly", errA, tookA)
	}
	if errB != nil {
		t.Errorf("patient caller: %v", errB)
	}
	if got := e.graph.Calls("debug_token"); got != 1 {
		t.Errorf("debug_token calls = %d, want 1", got)
	}
}

func TestNew(t *testing.T) {
	good := facebook.Config{AppID: "1", AppSecret: "s", GraphURL: "https://graph.facebook.com", GraphVersion: "v21.0",
		LimitedLoginJWKSURL: "https://limited.facebook.com/.well-known/oauth/openid/jwks/", LimitedLoginIssuer: "https://www.facebook.com"}
	tests := []struct {
		name   string
		mod    func(*facebook.Config)
		wantOK bool
	}{
		{name: "defaults", mod: func(*facebook.Config) {}, wantOK: true},
		{name: "no version", mod: func(c *facebook.Config) { c.GraphVersion = "" }, wantOK: true},
		{name: "no app id", mod: func(c *facebook.Config) { c.AppID = "" }},
		{name: "no app secret", mod: func(c *facebook.Config) { c.AppSecret = "" }},
		{name: "app id with a pipe", mod: func(c *facebook.Config) { c.AppID = "1|2" }},
		{name: "relative graph url", mod: func(c *facebook.Config) { c.GraphURL = "graph.facebook.com" }},
		{name: "graph url with a query", mod: func(c *facebook.Config) { c.GraphURL = "https://graph.facebook.com/?x=1" }},
		{name: "version with a slash", mod: func(c *facebook.Config) { c.GraphVersion = "v1/../x" }},
		{name: "no jwks url", mod: func(c *facebook.Config) { c.LimitedLoginJWKSURL = "" }},
		{name: "ftp jwks url", mod: func(c *facebook.Config) { c.LimitedLoginJWKSURL = "ftp://x/jwks" }},
		{name: "no issuer", mod: func(c *facebook.Config) { c.LimitedLoginIssuer = "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mod(&cfg)
			_, err := facebook.New(cfg, nil, nil, nil, nil)
			if (err == nil) != tc.wantOK {
				t.Fatalf("New: err = %v, want ok = %v", err, tc.wantOK)
			}
		})
	}
}

func TestAnswerCacheDownFallsBackToGraph(t *testing.T) {
	e := newEnv(t)
	broken := memcache.New(memcache.Options{})
	_ = broken.Close() // every method now fails with cache.ErrUnavailable
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := facebook.New(e.cfg, broken, nil, e.clock.Now, logger)
	if err != nil {
		t.Fatal(err)
	}
	e.graph.AddUser("EAAnocache", alice)
	for i := range 2 {
		if got, err := c.VerifyAccessToken(background(), "EAAnocache"); err != nil || got != alice {
			t.Fatalf("call %d: %+v, %v", i, got, err)
		}
	}
	if got := e.graph.Calls("debug_token"); got != 2 {
		t.Errorf("debug_token calls = %d, want 2", got)
	}
	if !strings.Contains(e.logs.String(), "answer cache unavailable") {
		t.Errorf("cache failure not logged:\n%s", e.logs.String())
	}
}
