package keys

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/secretbox"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"defaults for algorithm and reload interval", func(c *Config) { c.Algorithm, c.ReloadInterval = "", 0 }, ""},
		{"rotation", func(c *Config) { c.RotationPeriod = 30 * 24 * time.Hour }, ""},
		{"bad algorithm", func(c *Config) { c.Algorithm = "HS256" }, `keys.algorithm ("HS256") must be ES256, RS256 or EdDSA`},
		{"none algorithm", func(c *Config) { c.Algorithm = "none" }, "keys.algorithm"},
		{"publish ahead below max age", func(c *Config) { c.PublishAhead = 30 * time.Second },
			"keys.publish_ahead (30s) must exceed keys.jwks_max_age (5m0s)"},
		{"publish ahead below max age + reload", func(c *Config) { c.PublishAhead = 5*time.Minute + 30*time.Second },
			"keys.publish_ahead (5m30s) must be at least keys.jwks_max_age + keys.reload_interval (6m0s)"},
		{"rotation not above publish ahead", func(c *Config) { c.RotationPeriod = time.Hour },
			"keys.rotation_period (1h0m0s) must exceed keys.publish_ahead (1h0m0s)"},
		{"negative rotation", func(c *Config) { c.RotationPeriod = -time.Hour }, "keys.rotation_period"},
		{"no token ttl", func(c *Config) { c.MaxTokenTTL = 0 }, "keys.max_token_ttl (0s) must be positive"},
		{"negative max age", func(c *Config) { c.JWKSMaxAge = -time.Second }, "keys.jwks_max_age"},
		{"negative reload", func(c *Config) { c.ReloadInterval = -time.Second }, "keys.reload_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			tt.mutate(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := New(&fakeStore{}, "short", testConfig(), nil, nil); err == nil {
		t.Fatal("New accepted a short system secret")
	}
}

func TestInitCreatesOneKey(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	m := initManager(t, st, clk, testConfig())
	if got := st.kids(); len(got) != 1 {
		t.Fatalf("keys after first Init = %v, want one", got)
	}
	if err := m.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if m.Algorithm() != ES256 || activeKID(t, m) != st.kids()[0] {
		t.Fatalf("alg %q kid %q, want ES256 %q", m.Algorithm(), activeKID(t, m), st.kids()[0])
	}

	lists, updates := st.lists.Load(), st.updates.Load()
	m2 := initManager(t, st, clk, testConfig())
	if got := st.kids(); len(got) != 1 {
		t.Fatalf("keys after second Init = %v, want one", got)
	}
	if l, u := st.lists.Load()-lists, st.updates.Load()-updates; l != 1 || u != 0 {
		t.Fatalf("second Init: %d SELECTs and %d updates, want 1 and 0", l, u)
	}
	if activeKID(t, m2) != activeKID(t, m) {
		t.Fatal("the two managers disagree on the active key")
	}
}

func TestInitConcurrentReplicas(t *testing.T) {
	for range 10 {
		st, clk := &fakeStore{}, newClock()
		a, b := newManager(t, st, clk, testConfig()), newManager(t, st, clk, testConfig())
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, m := range []*Manager{a, b} {
			wg.Go(func() { errs[i] = m.Init(bg()) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("Init: %v", err)
		}
		if got := st.kids(); len(got) != 1 {
			t.Fatalf("two replicas created %d keys", len(got))
		}
		if activeKID(t, a) != activeKID(t, b) {
			t.Fatal("replicas disagree on the active kid")
		}
		tok, _ := mustSign(t, a)
		if _, _, err := b.Verify(tok); err != nil {
			t.Fatalf("replica b cannot verify replica a's token: %v", err)
		}
	}
}

// TestRotationLifecycle follows one manual rotation from NEXT to deletion.
func TestRotationLifecycle(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	m := initManager(t, st, clk, testConfig())
	oldTok, oldKID := mustSign(t, m)
	_, etag0 := m.JWKS()

	clk.Advance(time.Hour)
	next, err := m.Rotate(bg(), false)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	signsFrom := clk.Now().Add(time.Hour)
	if next.State != StateNext || !next.SignsFrom.Equal(signsFrom) || next.Algorithm != ES256 {
		t.Fatalf("Rotate = %+v, want a NEXT ES256 key signing from %v", next, signsFrom)
	}
	if kids := jwksKIDs(t, m); !slices.Equal(kids, []string{oldKID, next.KID}) {
		t.Fatalf("JWKS kids = %v, want old and next", kids)
	}
	if _, etag := m.JWKS(); etag == etag0 {
		t.Fatal("ETag unchanged after a key was added")
	}

	clk.Set(signsFrom.Add(-time.Second))
	if _, kid := mustSign(t, m); kid != oldKID {
		t.Fatal("the NEXT key signed before its SignsFrom")
	}
	clk.Set(signsFrom)
	newTok, kid := mustSign(t, m)
	if kid != next.KID {
		t.Fatalf("token signed at SignsFrom has kid %s, want the new %s", kid, next.KID)
	}
	if _, _, err := m.Verify(oldTok); err != nil {
		t.Fatalf("a token signed before the rotation no longer verifies: %v", err)
	}

	list, err := m.List(bg())
	if err != nil {
		t.Fatal(err)
	}
	publishedUntil := signsFrom.Add(grace)
	if len(list) != 2 || list[0].State != StateRetired || list[1].State != StateActive ||
		!list[0].SignsUntil.Equal(signsFrom) || !list[0].PublishedUntil.Equal(publishedUntil) {
		t.Fatalf("List = %+v", list)
	}

	clk.Set(publishedUntil.Add(-time.Second))
	_, etagRetired := m.JWKS()
	if _, _, err := m.Verify(oldTok); err != nil {
		t.Fatalf("retired key stopped verifying before signs_until+MaxTokenTTL+leeway: %v", err)
	}
	if kids := jwksKIDs(t, m); len(kids) != 2 {
		t.Fatalf("retired key left the JWKS early: %v", kids)
	}
	if err := m.rotateIfDue(bg()); err != nil || len(st.kids()) != 2 {
		t.Fatalf("rotateIfDue before expiry: err %v, keys %v", err, st.kids())
	}

	clk.Set(publishedUntil)
	if _, _, err := m.Verify(oldTok); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Verify with an expired key = %v, want ErrUnknownKey", err)
	}
	if kids := jwksKIDs(t, m); !slices.Equal(kids, []string{next.KID}) {
		t.Fatalf("JWKS after expiry = %v, want only the new key", kids)
	}
	_, etagExpired := m.JWKS()
	if etagExpired == etagRetired {
		t.Fatal("ETag unchanged after a key expired")
	}
	if _, ok := st.get(oldKID); !ok {
		t.Fatal("the expired key was deleted before the rotation check")
	}
	if err := m.rotateIfDue(bg()); err != nil {
		t.Fatal(err)
	}
	if kids := st.kids(); !slices.Equal(kids, []string{next.KID}) {
		t.Fatalf("store after the rotation check = %v, want only the new key", kids)
	}
	if _, _, err := m.Verify(newTok); err != nil {
		t.Fatal(err)
	}
	if _, etag := m.JWKS(); etag != etagExpired {
		t.Fatal("ETag changed although the published set did not")
	}
}

func TestRotateIfDue(t *testing.T) {
	const period = 30 * 24 * time.Hour
	tests := []struct {
		name     string
		at       time.Duration // after the first key's SignsFrom
		pending  bool          // a NEXT key exists already
		wantAdd  bool
		wantFrom time.Duration // SignsFrom of the added key, after the first's
	}{
		{"long before", time.Hour, false, false, 0},
		{"just before publish time", period - time.Hour - time.Second, false, false, 0},
		{"at publish time", period - time.Hour, false, true, period},
		{"late: still publishes ahead", period - 30*time.Minute, false, true, period + 30*time.Minute},
		{"overdue: publishes ahead first", 2 * period, false, true, 2*period + time.Hour},
		{"pending key", period, true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, clk := &fakeStore{}, newClock()
			cfg := testConfig()
			cfg.RotationPeriod = period
			m := initManager(t, st, clk, cfg)
			t0 := clk.Now()
			if tt.pending {
				if _, err := m.Rotate(bg(), false); err != nil {
					t.Fatal(err)
				}
			}
			clk.Set(t0.Add(tt.at))
			before := st.kids()
			if err := m.rotateIfDue(bg()); err != nil {
				t.Fatalf("rotateIfDue: %v", err)
			}
			after := st.kids()
			if added := len(after) > len(before); added != tt.wantAdd {
				t.Fatalf("added = %v, want %v (keys %v)", added, tt.wantAdd, after)
			}
			if !tt.wantAdd {
				return
			}
			k, _ := st.get(after[len(after)-1])
			if want := t0.Add(tt.wantFrom); !k.SignsFrom.Equal(want) {
				t.Fatalf("new key signs from %v, want %v", k.SignsFrom, want)
			}
			if err := m.rotateIfDue(bg()); err != nil || len(st.kids()) != len(after) {
				t.Fatalf("second check added again: %v %v", err, st.kids())
			}
		})
	}
}

// TestRotateIfDueReplicas: a replica with a stale snapshot re-checks under
// the lock and adds nothing when another one already rotated.
func TestRotateIfDueReplicas(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	cfg := testConfig()
	cfg.RotationPeriod = 24 * time.Hour
	a, b := initManager(t, st, clk, cfg), initManager(t, st, clk, cfg)
	clk.Advance(23 * time.Hour)
	if err := a.rotateIfDue(bg()); err != nil {
		t.Fatal(err)
	}
	if err := b.rotateIfDue(bg()); err != nil { // b has not reloaded: it believes a rotation is due
		t.Fatal(err)
	}
	if n := len(st.kids()); n != 2 {
		t.Fatalf("two replicas left %d keys, want 2", n)
	}
	var wg sync.WaitGroup
	clk.Advance(24 * time.Hour)
	for _, m := range []*Manager{a, b} {
		wg.Go(func() {
			if err := m.reload(bg()); err != nil {
				t.Error(err)
			}
			if err := m.rotateIfDue(bg()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	list, err := a.List(bg()) // the first key expired and was deleted
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].State != StateActive || list[1].State != StateNext {
		t.Fatalf("concurrent rotation checks left %+v, want one active and one next key", list)
	}
}

func TestRotate(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	m := initManager(t, st, clk, testConfig())
	oldTok, oldKID := mustSign(t, m)
	clk.Advance(time.Minute)
	pending, err := m.Rotate(bg(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(bg(), false); !errors.Is(err, ErrRotationPending) {
		t.Fatalf("second Rotate = %v, want ErrRotationPending", err)
	}

	clk.Advance(time.Minute)
	now, err := m.Rotate(bg(), true)
	if err != nil {
		t.Fatalf("immediate Rotate: %v", err)
	}
	if now.State != StateActive || !now.SignsFrom.Equal(clk.Now()) {
		t.Fatalf("immediate Rotate = %+v, want active from now", now)
	}
	if _, kid := mustSign(t, m); kid != now.KID {
		t.Fatalf("signed with %s after an immediate rotation, want %s", kid, now.KID)
	}
	if kids := st.kids(); !slices.Equal(kids, []string{oldKID, now.KID}) {
		t.Fatalf("keys = %v, want the old and the immediate one (pending %s dropped)", kids, pending.KID)
	}
	if _, _, err := m.Verify(oldTok); err != nil {
		t.Fatalf("old token after an immediate rotation: %v", err)
	}
	list, _ := m.List(bg())
	if list[0].State != StateRetired || !list[0].PublishedUntil.Equal(clk.Now().Add(grace)) {
		t.Fatalf("old key after an immediate rotation: %+v", list[0])
	}

	// An immediate rotation in the same instant as the key it replaces.
	again, err := m.Rotate(bg(), true)
	if err != nil || !again.SignsFrom.After(now.SignsFrom) {
		t.Fatalf("same-instant immediate rotation: %+v %v", again, err)
	}
}

func TestAlgorithms(t *testing.T) {
	for _, alg := range []string{ES256, RS256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			st, clk := &fakeStore{}, newClock()
			cfg := testConfig()
			cfg.Algorithm = alg
			m := initManager(t, st, clk, cfg)
			tok, err := m.Sign([]byte(`{"sub":"x"}`), "at+jwt")
			if err != nil {
				t.Fatal(err)
			}
			payload, h, err := m.Verify(tok)
			if err != nil || string(payload) != `{"sub":"x"}` {
				t.Fatalf("Verify = %q, %v", payload, err)
			}
			if h.Algorithm != alg || h.Type != "at+jwt" || h.KID != activeKID(t, m) {
				t.Fatalf("header = %+v", h)
			}
			// A relying party that only has the JWKS verifies it too.
			if got := verifyWithJWKS(t, m, tok, alg); got != `{"sub":"x"}` {
				t.Fatalf("JWKS verification = %q", got)
			}
			if _, gotAlg, key, _ := m.Current(); gotAlg != alg || key == nil {
				t.Fatalf("Current = %s %T", gotAlg, key)
			}
		})
	}
}

func TestAlgorithmChange(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	es := initManager(t, st, clk, testConfig())
	esKID := activeKID(t, es)

	cfg := testConfig()
	cfg.Algorithm = RS256
	clk.Advance(time.Minute)
	rs := initManager(t, st, clk, cfg)
	list, _ := rs.List(bg())
	if len(list) != 2 || list[1].Algorithm != RS256 || list[1].State != StateNext ||
		!list[1].SignsFrom.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("after Init with RS256: %+v", list)
	}
	if rs.Algorithm() != ES256 || activeKID(t, rs) != esKID {
		t.Fatal("the algorithm changed before the new key's SignsFrom")
	}
	initManager(t, st, clk, cfg) // another RS256 replica: the rotation is pending already
	if n := len(st.kids()); n != 2 {
		t.Fatalf("a second RS256 Init added a key: %d keys", n)
	}
	clk.Advance(time.Hour)
	if tok, kid := mustSign(t, rs); kid != list[1].KID || rs.Algorithm() != RS256 {
		t.Fatalf("after SignsFrom: kid %s alg %s", kid, rs.Algorithm())
	} else if err := es.reload(bg()); err != nil {
		t.Fatal(err)
	} else if _, h, err := es.Verify(tok); err != nil || h.Algorithm != RS256 {
		t.Fatalf("the ES256 replica cannot verify RS256 tokens: %v", err)
	}

	// A pending key of the old algorithm: Init does not add another.
	st2, clk2 := &fakeStore{}, newClock()
	m := initManager(t, st2, clk2, testConfig())
	if _, err := m.Rotate(bg(), false); err != nil {
		t.Fatal(err)
	}
	initManager(t, st2, clk2, cfg)
	if n := len(st2.kids()); n != 2 {
		t.Fatalf("Init with a pending key scheduled another: %d keys", n)
	}
}

func TestPrivateKeysEncrypted(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	var logs bytes.Buffer
	m, err := New(st, testSecret, testConfig(), slog.New(slog.NewTextHandler(&logs, nil)), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Init(bg()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(bg(), false); err != nil {
		t.Fatal(err)
	}
	kid := activeKID(t, m)
	k, _ := st.get(kid)
	der, err := x509.MarshalPKCS8PrivateKey(m.set.Load().lookup(kid).private)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(k.Private, der) || bytes.Contains(k.Private, der[len(der)-32:]) {
		t.Fatal("the stored private key contains the plaintext DER")
	}
	if bytes.Contains(k.PublicJWK, []byte(`"d"`)) {
		t.Fatalf("PublicJWK holds private material: %s", k.PublicJWK)
	}
	if body, _ := m.JWKS(); bytes.Contains(body, []byte(`"d"`)) {
		t.Fatalf("the JWKS holds private material: %s", body)
	}
	if bytes.Contains(logs.Bytes(), []byte(`"d"`)) || bytes.Contains(logs.Bytes(), k.Private[:16]) {
		t.Fatalf("logs hold key material: %s", logs.String())
	}

	other, err := New(st, testSecret+"-other", testConfig(), nil, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	err = other.Init(bg())
	want := "cannot decrypt signing key " + kid + ": is AUTHD_SECRETS_SYSTEM the one the keys were created with?"
	if err == nil || err.Error() != want || !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("Init with another secret = %v, want %q", err, want)
	}
	if other.Ready() == nil {
		t.Fatal("a manager that failed Init is ready")
	}
}

func TestList(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	m := initManager(t, st, clk, testConfig())
	t0 := clk.Now()
	steps := []time.Duration{time.Hour, time.Hour + 10*time.Minute}
	for _, d := range steps {
		clk.Set(t0.Add(d))
		if _, err := m.Rotate(bg(), true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Rotate(bg(), false); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Hour + 20*time.Minute))
	list, err := m.List(bg())
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, k := range list {
		states = append(states, k.State)
	}
	if want := []string{StateExpired, StateRetired, StateActive, StateNext}; !slices.Equal(states, want) {
		t.Fatalf("states = %v, want %v", states, want)
	}
	if list[3].SignsUntil != nil || list[2].SignsUntil == nil || !list[2].SignsUntil.Equal(list[3].SignsFrom) {
		t.Fatalf("signs_until: %+v", list)
	}
}

func TestStart(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	cfg := testConfig()
	cfg.RotationPeriod = 24 * time.Hour
	cfg.ReloadInterval = 5 * time.Millisecond
	m := initManager(t, st, clk, cfg)
	clk.Advance(23 * time.Hour)
	c, cancel := context.WithCancel(bg())
	defer cancel()
	m.Start(c)
	deadline := time.Now().Add(5 * time.Second)
	for len(st.kids()) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("Start did not rotate")
		}
		time.Sleep(time.Millisecond)
	}
	clk.Advance(time.Hour)
	if kid := activeKID(t, m); kid != st.kids()[1] {
		t.Fatalf("active kid %s after the new key's SignsFrom, want %s", kid, st.kids()[1])
	}
}
