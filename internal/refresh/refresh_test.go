package refresh_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/store/sqlstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var cfg = refresh.Config{AbsoluteTTL: 24 * time.Hour, IdleTTL: time.Hour, ReuseGrace: 10 * time.Second}

func setup(t *testing.T) (*refresh.Service, *clock, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "r.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	return refresh.New(st, []byte("0123456789abcdef0123456789abcdef"), cfg, nil, clk.now), clk, st
}

var grant = refresh.Grant{SubjectKind: store.KindUser, SubjectID: "u1", ClientID: "app", OrganisationID: "o1", Mode: store.ModeLive}

func TestLifetimes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		steps   []time.Duration // wait, then redeem, for each step
		wantErr error           // of the last redeem
	}{
		{"rotates", []time.Duration{time.Minute, time.Minute}, nil},
		{"idle window restarts at each rotation", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, nil},
		{"idle too long", []time.Duration{61 * time.Minute}, refresh.ErrInvalid},
		{"absolute end", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute,
			50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute,
			50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute,
			50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute,
			50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, refresh.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, clk, _ := setup(t)
			tok, _, err := rs.Start(ctx, grant)
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for _, d := range tc.steps {
				clk.add(d)
				next, _, err := rs.Redeem(ctx, tok, "app", refresh.Lifetimes{}, nil)
				last = err
				if err != nil {
					break
				}
				tok = next
			}
			if !errors.Is(last, tc.wantErr) {
				t.Fatalf("last redeem: %v, want %v", last, tc.wantErr)
			}
		})
	}
}

func TestReuseGraceAndClients(t *testing.T) {
	ctx := context.Background()
	rs, clk, _ := setup(t)
	t0, _, _ := rs.Start(ctx, grant)
	if _, _, err := rs.Redeem(ctx, t0, "other-client", refresh.Lifetimes{}, nil); !errors.Is(err, refresh.ErrInvalid) {
		t.Fatalf("another client redeemed: %v", err)
	}
	t1, rec1, err := rs.Redeem(ctx, t0, "app", refresh.Lifetimes{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The immediate parent within the grace interval: the same child.
	clk.add(5 * time.Second)
	again, rec, err := rs.Redeem(ctx, t0, "app", refresh.Lifetimes{}, nil)
	if err != nil || again != t1 || rec.Hash != rec1.Hash {
		t.Fatalf("grace replay: %v (same child %v)", err, again == t1)
	}
	// Past the grace interval: reuse, the family is revoked.
	clk.add(6 * time.Second)
	if _, _, err := rs.Redeem(ctx, t0, "app", refresh.Lifetimes{}, nil); !errors.Is(err, refresh.ErrReused) {
		t.Fatalf("late replay: %v", err)
	}
	if _, _, err := rs.Redeem(ctx, t1, "app", refresh.Lifetimes{}, nil); !errors.Is(err, refresh.ErrInvalid) {
		t.Fatalf("child survived reuse: %v", err)
	}
	if _, _, err := rs.Lookup(ctx, t1, nil); !errors.Is(err, refresh.ErrInvalid) {
		t.Fatalf("lookup of a revoked family: %v", err)
	}
	for _, garbage := range []string{"", "rt_short", "ey.x.y"} {
		if _, _, err := rs.Redeem(ctx, garbage, "app", refresh.Lifetimes{}, nil); !errors.Is(err, refresh.ErrInvalid) {
			t.Fatalf("%q: %v", garbage, err)
		}
	}
}

// TestConcurrentRedeem: a burst of redeems of one token (a retrying app)
// yields one child, handed to every caller within the grace interval.
func TestConcurrentRedeem(t *testing.T) {
	ctx := context.Background()
	rs, _, _ := setup(t)
	t0, _, _ := rs.Start(ctx, grant)
	var wg sync.WaitGroup
	children := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := rs.Redeem(ctx, t0, "app", refresh.Lifetimes{}, nil)
			if err != nil {
				t.Errorf("concurrent redeem: %v", err)
				return
			}
			children <- c
		}()
	}
	wg.Wait()
	close(children)
	seen := map[string]bool{}
	for c := range children {
		seen[c] = true
	}
	if len(seen) != 1 {
		t.Fatalf("%d different children", len(seen))
	}
}

func TestRevokeSubjectAndFamily(t *testing.T) {
	ctx := context.Background()
	rs, _, _ := setup(t)
	a, _, _ := rs.Start(ctx, grant)
	b, _, _ := rs.Start(ctx, grant)
	other, _, _ := rs.Start(ctx, refresh.Grant{SubjectKind: store.KindUser, SubjectID: "u2", ClientID: "app"})
	if _, err := rs.RevokeFamily(ctx, a, func(r store.RefreshToken) bool { return r.ClientID == "not-app" }); !errors.Is(err, refresh.ErrOtherClient) {
		t.Fatalf("other client's revoke: %v", err)
	}
	if _, err := rs.RevokeFamily(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rs.Redeem(ctx, a, "app", refresh.Lifetimes{}, nil); !errors.Is(err, refresh.ErrInvalid) {
		t.Fatalf("revoked family: %v", err)
	}
	b2, _, err := rs.Redeem(ctx, b, "app", refresh.Lifetimes{}, nil)
	if err != nil {
		t.Fatalf("a second family died with the first: %v", err)
	}
	if _, _, err := rs.Lookup(ctx, b2, nil); err != nil {
		t.Fatalf("live token: %v", err)
	}
	if err := rs.RevokeSubject(ctx, store.KindUser, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rs.Lookup(ctx, b2, nil); !errors.Is(err, refresh.ErrInvalid) {
		t.Fatalf("subject revoke missed a family: %v", err)
	}
	if _, _, err := rs.Lookup(ctx, other, nil); err != nil {
		t.Fatalf("another subject's family died: %v", err)
	}
}

// TestAcceptRefusesWithoutTouching: a token the caller may not redeem (a
// foreign tenant) is refused and left as it was: no rotation, no reuse.
func TestAcceptRefusesWithoutTouching(t *testing.T) {
	ctx := context.Background()
	rs, _, _ := setup(t)
	t0, _, _ := rs.Start(ctx, grant)
	foreign := func(r store.RefreshToken) bool { return r.OrganisationID == "another-org" }
	for i := 0; i < 3; i++ {
		if _, _, err := rs.Redeem(ctx, t0, "app", refresh.Lifetimes{}, foreign); !errors.Is(err, refresh.ErrInvalid) {
			t.Fatalf("foreign caller: %v", err)
		}
	}
	if _, _, err := rs.Lookup(ctx, t0, nil); err != nil {
		t.Fatalf("refused redeems touched the token: %v", err)
	}
	if _, _, err := rs.Redeem(ctx, t0, "app", refresh.Lifetimes{}, func(r store.RefreshToken) bool { return r.OrganisationID == "o1" }); err != nil {
		t.Fatalf("rightful caller: %v", err)
	}
}

// TestStartWithAnnouncedFamily: a grant that named the family in an access
// token first gets a family of that id, and its rotations keep it.
func TestStartWithAnnouncedFamily(t *testing.T) {
	ctx := context.Background()
	rs, _, _ := setup(t)
	g := grant
	g.FamilyID = refresh.NewFamilyID()
	tok, rec, err := rs.Start(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if rec.FamilyID != g.FamilyID {
		t.Fatalf("family %q, announced %q", rec.FamilyID, g.FamilyID)
	}
	_, child, err := rs.Redeem(ctx, tok, "app", refresh.Lifetimes{}, nil)
	if err != nil || child.FamilyID != g.FamilyID {
		t.Fatalf("rotation: family %q (%v), want %q", child.FamilyID, err, g.FamilyID)
	}
	if _, other, _ := rs.Start(ctx, grant); other.FamilyID == "" || other.FamilyID == g.FamilyID {
		t.Fatalf("a grant without a family id got %q", other.FamilyID)
	}
}

// TestClientLifetimes: a client's own lifetimes end its families: the
// absolute one fixed at the start (never beyond the configured one), the
// idle one as it stands at each redeem; introspection's expiry follows
// them.
func TestClientLifetimes(t *testing.T) {
	ctx := context.Background()
	rs, clk, _ := setup(t)
	short := refresh.Lifetimes{Absolute: 90 * time.Minute, Idle: 10 * time.Minute}

	// Absolute: 90 minutes instead of the configured 24 hours.
	tok, rec, err := rs.Start(ctx, refresh.Grant{SubjectKind: store.KindUser, SubjectID: "u1", ClientID: "app", Lifetimes: short})
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.now().Add(90 * time.Minute); !rec.FamilyExpiresAt.Equal(want) {
		t.Fatalf("family expires %v, want %v", rec.FamilyExpiresAt, want)
	}
	// Idle: 10 minutes; introspection says so.
	lifetimes := func(context.Context, string) (refresh.Lifetimes, error) { return short, nil }
	if _, exp, err := rs.Lookup(ctx, tok, lifetimes); err != nil || !exp.Equal(clk.now().Add(10*time.Minute)) {
		t.Fatalf("Lookup: expiry %v (%v), want in 10 minutes", exp, err)
	}
	clk.add(9 * time.Minute)
	if tok, _, err = rs.Redeem(ctx, tok, "app", short, nil); err != nil {
		t.Fatalf("within the idle lifetime: %v", err)
	}
	clk.add(11 * time.Minute)
	if _, _, err := rs.Lookup(ctx, tok, lifetimes); !errors.Is(err, refresh.ErrInvalid) {
		t.Fatalf("Lookup after the client's idle lifetime: %v", err)
	}
	// The configured idle lifetime (an hour) would still take it.
	if _, _, err := rs.Lookup(ctx, tok, nil); err != nil {
		t.Fatalf("Lookup with the configured lifetimes: %v", err)
	}
	if _, _, err := rs.Redeem(ctx, tok, "app", short, nil); !errors.Is(err, refresh.ErrInvalid) {
		t.Fatalf("redeem after the client's idle lifetime: %v", err)
	}

	// A family used often still ends at its absolute expiry.
	tok, _, _ = rs.Start(ctx, refresh.Grant{SubjectKind: store.KindUser, SubjectID: "u1", ClientID: "app", Lifetimes: short})
	for range 9 {
		clk.add(9 * time.Minute)
		if tok, _, err = rs.Redeem(ctx, tok, "app", short, nil); err != nil {
			t.Fatalf("rotation within the absolute lifetime: %v", err)
		}
	}
	clk.add(9 * time.Minute) // 90 minutes since the start
	if _, _, err := rs.Redeem(ctx, tok, "app", short, nil); !errors.Is(err, refresh.ErrInvalid) {
		t.Fatalf("redeem at the client's absolute expiry: %v", err)
	}

	// Longer than the configuration allows: capped at it.
	_, rec, _ = rs.Start(ctx, refresh.Grant{SubjectKind: store.KindUser, SubjectID: "u1", ClientID: "app",
		Lifetimes: refresh.Lifetimes{Absolute: 48 * time.Hour}})
	if want := clk.now().Add(cfg.AbsoluteTTL); !rec.FamilyExpiresAt.Equal(want) {
		t.Fatalf("family of a client asking 48h expires %v, want the configured %v", rec.FamilyExpiresAt, want)
	}
}

// TestSessions: a family is listed with the address and user agent of
// its latest request and its sign-in time; one that idled out is not;
// ending one leaves the others and tells the hook.
func TestSessions(t *testing.T) {
	s, clk, _ := setup(t)
	var ended []string
	s.OnFamilyRevoked(func(_ context.Context, f string) error { ended = append(ended, f); return nil })
	at := func(ip, ua string) context.Context {
		return audit.WithMeta(context.Background(), audit.Meta{IP: ip, UserAgent: ua})
	}
	signIn := clk.now()
	phone, _, err := s.Start(at("192.0.2.1", "phone"), grant)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 200) // 400 bytes
	_, idleRec, err := s.Start(at("192.0.2.9", "idle"), grant)
	if err != nil {
		t.Fatal(err)
	}
	clk.add(30 * time.Minute)
	if _, _, err := s.Redeem(at("192.0.2.2", "phone/2"), phone, "app", refresh.Lifetimes{}, nil); err != nil {
		t.Fatal(err)
	}
	refreshed := clk.now()
	_, laptopRec, err := s.Start(at("198.51.100.4", long), grant)
	if err != nil {
		t.Fatal(err)
	}
	clk.add(31 * time.Minute) // the idle family is now 61 minutes unused
	sel := store.SubjectSessions{Kind: store.KindUser, ID: "u1"}
	got, err := s.Sessions(context.Background(), sel, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("sessions = %+v, want the laptop's and the phone's", got)
	}
	lap, ph := got[0], got[1]
	if lap.FamilyID != laptopRec.FamilyID || len(lap.UserAgent) > 256 || !utf8.ValidString(lap.UserAgent) || !strings.HasPrefix(long, lap.UserAgent) {
		t.Errorf("laptop session = %+v", lap)
	}
	if !ph.CreatedAt.Equal(signIn) || !ph.LastUsedAt.Equal(refreshed) || ph.IP != "192.0.2.2" || ph.UserAgent != "phone/2" {
		t.Errorf("phone session = %+v, want sign-in %v, last used at the refresh from 192.0.2.2 phone/2", ph, signIn)
	}
	// Someone else's family, or one already ended, is ErrInvalid.
	if err := s.EndSession(context.Background(), store.SubjectSessions{Kind: store.KindUser, ID: "u2", Family: lap.FamilyID}); !errors.Is(err, refresh.ErrInvalid) {
		t.Errorf("EndSession(another's family) = %v, want ErrInvalid", err)
	}
	if err := s.EndSession(context.Background(), store.SubjectSessions{Kind: store.KindUser, ID: "u1", Family: idleRec.FamilyID}); err != nil {
		t.Errorf("EndSession(idle family) = %v (it still exists, if unusable)", err)
	}
	sel.Family = lap.FamilyID
	if err := s.EndSession(context.Background(), sel); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(context.Background(), sel); !errors.Is(err, refresh.ErrInvalid) {
		t.Errorf("EndSession(again) = %v, want ErrInvalid", err)
	}
	got, _ = s.Sessions(context.Background(), store.SubjectSessions{Kind: store.KindUser, ID: "u1"}, nil)
	if len(got) != 1 || got[0].FamilyID != ph.FamilyID {
		t.Errorf("after ending the laptop's: %+v", got)
	}
	if !slices.Equal(ended, []string{idleRec.FamilyID, lap.FamilyID}) {
		t.Errorf("hook told of %v", ended)
	}
}
