package revocation_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/revocation"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/store/sqlstore"
	"github.com/authd/authd/internal/token"
)

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "authd.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a settable clock shared by the services of a test.

func newClock() *clock.Fake { return clock.NewFake(time.Now().Truncate(time.Second)) }

func loaded(t *testing.T, st revocation.Store, ps revocation.PubSub, cfg revocation.Config, now func() time.Time) *revocation.Service {
	t.Helper()
	s := revocation.New(st, ps, cfg, quiet, now)
	if err := s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(kind, sub string, iat time.Time) token.Claims {
	return token.Claims{ID: "jti-" + sub, Subject: sub, Kind: kind, ClientID: "app", Org: "biz", Mode: "live",
		IssuedAt: iat.Unix(), ExpiresAt: iat.Add(15 * time.Minute).Unix()}
}

// TestRevokedByKind: each kind of entry covers exactly what it names.
func TestRevokedByKind(t *testing.T) {
	clk := newClock()
	s := loaded(t, openStore(t), nil, revocation.Config{}, clk.Now)
	ctx := t.Context()
	exp := clk.Now().Add(time.Hour)
	before := clk.Now().Add(-time.Minute)
	after := clk.Now().Add(time.Second)

	tok := claims(token.KindUser, "u-token", before)
	fam := claims(token.KindUser, "u-fam", before)
	fam.Family = "fam-1"
	contact := claims(token.KindContact, "c1", before)
	otherMode := contact
	otherMode.Mode = "test"
	client := claims(token.KindClient, "svc", before)
	client.ClientID = "svc"

	cases := []struct {
		name  string
		c     token.Claims
		entry store.Revocation
		// same: a token the entry must not cover
		same token.Claims
	}{
		{"jti", tok, store.Revocation{Kind: store.RevokeToken, Key: tok.ID}, claims(token.KindUser, "u-token-2", before)},
		{"family", fam, store.Revocation{Kind: store.RevokeFamily, Key: "fam-1"}, claims(token.KindUser, "u-fam", before)},
		{"user before the cut", claims(token.KindUser, "u1", before), store.Revocation{Kind: store.RevokeUser, Key: "u1"}, claims(token.KindUser, "u1", after)},
		{"contact of its business and mode", contact, store.Revocation{Kind: store.RevokeContact, Key: store.ContactKey("biz", store.ModeLive, "c1")}, otherMode},
		{"client", client, store.Revocation{Kind: store.RevokeClient, Key: "svc"}, claims(token.KindUser, "u-svc", before)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if s.Revoked(tc.c) || s.Revoked(tc.same) {
				t.Fatal("revoked before any entry")
			}
			tc.entry.ExpiresAt = exp
			if err := s.Revoke(ctx, tc.entry); err != nil {
				t.Fatal(err)
			}
			if !s.Revoked(tc.c) {
				t.Errorf("%+v not revoked by %+v", tc.c, tc.entry)
			}
			if s.Revoked(tc.same) {
				t.Errorf("%+v revoked by %+v, which does not cover it", tc.same, tc.entry)
			}
		})
	}
	if err := s.Revoke(ctx, store.Revocation{Kind: store.RevokeAPIKey, Key: "abc", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if !s.APIKeyChanged("abc") || s.APIKeyChanged("abd") {
		t.Error("APIKeyChanged does not answer by hash")
	}
	if err := s.Revoke(ctx, store.Revocation{Kind: store.RevokeToken}); err == nil {
		t.Error("an entry without key or expiry was accepted")
	}
}

// TestDurable: a revocation survives the process (a restart loads it from
// the log), and another replica learns it from the log alone.
func TestDurable(t *testing.T) {
	clk := newClock()
	st := openStore(t)
	a := loaded(t, st, nil, revocation.Config{}, clk.Now)
	b := loaded(t, st, nil, revocation.Config{}, clk.Now)
	c := claims(token.KindUser, "u1", clk.Now())
	if err := a.Revoke(t.Context(), store.Revocation{Kind: store.RevokeToken, Key: c.ID, ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if !a.Revoked(c) {
		t.Fatal("the revoking process still accepts the token")
	}
	if b.Revoked(c) {
		t.Fatal("b knew before reading the log (no pub/sub here)")
	}
	if err := b.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !b.Revoked(c) {
		t.Error("b did not learn the revocation from the log")
	}
	restarted := loaded(t, st, nil, revocation.Config{}, clk.Now)
	if !restarted.Revoked(c) {
		t.Error("a restarted process lost the revocation")
	}
	if st := restarted.Status(); !st.Loaded || st.Cursor == 0 || st.Entries != 1 {
		t.Errorf("status %+v", st)
	}
}

// TestFastPath: with pub/sub, a replica applies a revocation without
// reading the log (its poll interval here is far longer than the test).
func TestFastPath(t *testing.T) {
	clk := newClock()
	st := openStore(t)
	ps := memcache.New(memcache.Options{})
	t.Cleanup(func() { _ = ps.Close() })
	slow := revocation.Config{PollInterval: time.Hour}
	a := loaded(t, st, ps, slow, clk.Now)
	b := loaded(t, st, ps, slow, clk.Now)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	applied := make(chan store.Revocation, 4)
	b.OnApply(func(r store.Revocation) { applied <- r })
	b.Start(ctx)
	c := claims(token.KindUser, "u1", clk.Now())
	// The subscription starts asynchronously: revoke until it lands.
	deadline := time.After(5 * time.Second)
	for !b.Revoked(c) {
		if err := a.Revoke(ctx, store.Revocation{Kind: store.RevokeToken, Key: c.ID, ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-applied:
			if r.Key != c.ID || r.Kind != store.RevokeToken {
				t.Fatalf("applied %+v", r)
			}
		case <-deadline:
			t.Fatal("the published revocation never reached b")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestExpiredEntries: entries past their expiry are not applied, and the
// sweep and the log's cleanup drop them.
func TestExpiredEntries(t *testing.T) {
	clk := newClock()
	st := openStore(t)
	s := loaded(t, st, nil, revocation.Config{SweepInterval: time.Hour}, clk.Now)
	ctx := t.Context()
	if err := s.Revoke(ctx, store.Revocation{Kind: store.RevokeToken, Key: "old", ExpiresAt: clk.Now().Add(time.Minute)},
		store.Revocation{Kind: store.RevokeToken, Key: "new", ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	n, err := s.Cleanup(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Cleanup = %d, %v; want 1", n, err)
	}
	fresh := loaded(t, st, nil, revocation.Config{}, clk.Now)
	if fresh.Status().Entries != 1 || !fresh.Revoked(token.Claims{ID: "new"}) || fresh.Revoked(token.Claims{ID: "old"}) {
		t.Errorf("after cleanup: %+v", fresh.Status())
	}
}

// TestFeed: Since answers the entries in force after a cursor, in order,
// and its channel closes when the log moves on.
func TestFeed(t *testing.T) {
	clk := newClock()
	st := openStore(t)
	a := loaded(t, st, nil, revocation.Config{}, clk.Now)
	b := loaded(t, st, nil, revocation.Config{}, clk.Now)
	ctx := t.Context()
	if err := a.Revoke(ctx, store.Revocation{Kind: store.RevokeToken, Key: "short", ExpiresAt: clk.Now().Add(time.Minute)},
		store.Revocation{Kind: store.RevokeFamily, Key: "f1", ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, cursor, moved := b.Since(0)
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-moved:
	default:
		t.Fatal("reading new entries did not wake the feed's waiters")
	}
	all, cursor2, _ := b.Since(cursor)
	if len(all) != 2 || all[0].Key != "short" || all[1].Key != "f1" || all[1].Seq <= all[0].Seq || cursor2 != all[1].Seq {
		t.Fatalf("Since(0) = %+v, cursor %d", all, cursor2)
	}
	if after, _, _ := b.Since(all[0].Seq); len(after) != 1 || after[0].Key != "f1" {
		t.Fatalf("Since(first) = %+v", after)
	}
	clk.Advance(2 * time.Minute)
	if inForce, _, _ := b.Since(0); len(inForce) != 1 || inForce[0].Key != "f1" {
		t.Fatalf("after the first expired: %+v", inForce)
	}
}

// TestFeedFollowsOwnRevocations: the replica that revokes shows the entry
// in its feed when Revoke returns (no pub/sub, no poll loop running).
func TestFeedFollowsOwnRevocations(t *testing.T) {
	clk := newClock()
	a := loaded(t, openStore(t), nil, revocation.Config{PollInterval: time.Hour}, clk.Now)
	ctx := t.Context()
	_, cursor, moved := a.Since(0)
	if err := a.Revoke(ctx, store.Revocation{Kind: store.RevokeFamily, Key: "f1", ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-moved:
	default:
		t.Fatal("the revoking replica's feed did not move")
	}
	if got, _, _ := a.Since(cursor); len(got) != 1 || got[0].Key != "f1" {
		t.Fatalf("Since = %+v", got)
	}
}
