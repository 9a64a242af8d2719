package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var refreshTokenTests = []subtest{
	{"CreateGetRoundTrip", testRefreshRoundTrip},
	{"GetMissing", func(t *testing.T, s store.Store) {
		_, err := s.GetRefreshToken(ctx(t), "nope")
		wantOnly(t, err, store.ErrNotFound, "GetRefreshToken(missing)")
	}},
	{"DuplicateHash", func(t *testing.T, s store.Store) {
		orig := mkRefresh("h1", "fam", at(time.Hour))
		must(t, s.CreateRefreshToken(ctx(t), orig), "CreateRefreshToken")
		dup := mkRefresh("h1", "other-fam", at(2*time.Hour))
		dup.SubjectID = "u2"
		wantOnly(t, s.CreateRefreshToken(ctx(t), dup), store.ErrAlreadyExists, "CreateRefreshToken(same hash)")
		checkRefresh(t, s, orig)
	}},
	{"Rotate", testRotate},
	{"RotateRefused", testRotateRefused},
	{"RotateConcurrent", testRotateConcurrent},
	{"RotateInTx", testRotateInTx},
	{"RevokeFamily", testRevokeFamily},
	{"RevokeTokensOfSubject", testRevokeTokensOf},
	{"RevokeTokensOfClient", testRevokeTokensOfClient},
	{"RevokeFamiliesOfSubject", testRevokeFamilies},
	{"RevokeFamiliesWhileRotating", testRevokeFamiliesWhileRotating},
	{"DeleteExpired", testDeleteExpired},
	{"Sessions", testRefreshSessions},
	{"RevokeOneFamilyOfSubject", testRevokeOneFamily},
}

func mkRefresh(hash, family string, familyExpires time.Time) store.RefreshToken {
	return store.RefreshToken{
		Hash: hash, FamilyID: family, SubjectKind: store.KindUser, SubjectID: "u1", ClientID: "web",
		OrganisationID: "biz", Mode: store.ModeLive, Scopes: []string{"openid", "offline_access"}, Audience: []string{"billing"},
		CreatedAt: base, FamilyExpiresAt: familyExpires,
	}
}

// mkChild returns the next token of parent's family.
func mkChild(parent store.RefreshToken, hash string, created time.Time) store.RefreshToken {
	c := parent
	c.Hash, c.ParentHash, c.ChildHash, c.CreatedAt, c.UsedAt, c.RevokedAt = hash, parent.Hash, "", created, nil, nil
	return c
}

// checkRefresh fails unless the stored token equals want.
func checkRefresh(t *testing.T, s store.Store, want store.RefreshToken) {
	t.Helper()
	got, err := s.GetRefreshToken(ctx(t), want.Hash)
	if err != nil {
		t.Errorf("GetRefreshToken %s: %v", want.Hash, err)
		return
	}
	checkEqual(t, "refresh token "+want.Hash, got, want)
	checkUTC(t, "refresh token "+want.Hash, got)
}

func checkNoRefresh(t *testing.T, s store.Store, hash string) {
	t.Helper()
	_, err := s.GetRefreshToken(ctx(t), hash)
	wantOnly(t, err, store.ErrNotFound, "GetRefreshToken "+hash)
}

func testRefreshRoundTrip(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC-7", -7*3600)
	tokens := []store.RefreshToken{
		{
			Hash: "h-full", FamilyID: "fam-1", ParentHash: "h-prev", ChildHash: "h-next",
			SubjectKind: store.KindContact, SubjectID: "c1", ClientID: "mobile", OrganisationID: "merchant", HomeOrg: "biz",
			Mode: store.ModeTest, Scopes: []string{"openid", "offline_access", "rewards:read"},
			CreatedAt: at(time.Minute), FamilyExpiresAt: at(30 * 24 * time.Hour).In(zone),
			UsedAt: ptr(at(time.Hour)), RevokedAt: ptr(at(2 * time.Hour).In(zone)),
			FamilyCreatedAt: at(-time.Hour).In(zone), IP: "2001:db8::7", UserAgent: "Mozilla/5.0 (iPhone) ünïcode",
		},
		{
			Hash: "h-min", FamilyID: "fam-2", SubjectKind: store.KindUser, SubjectID: "u1", ClientID: "web",
			Mode: store.ModeLive, CreatedAt: at(0), FamilyExpiresAt: at(time.Hour),
		},
	}
	for _, tok := range tokens {
		must(t, s.CreateRefreshToken(ctx(t), tok), "CreateRefreshToken "+tok.Hash)
	}
	for _, tok := range tokens {
		checkRefresh(t, s, tok)
	}
}

func testRotate(t *testing.T, s store.Store) {
	parent := mkRefresh("h1", "fam", at(24*time.Hour))
	must(t, s.CreateRefreshToken(ctx(t), parent), "CreateRefreshToken")
	other := mkRefresh("h-other", "fam-other", at(24*time.Hour))
	must(t, s.CreateRefreshToken(ctx(t), other), "CreateRefreshToken other")

	child := mkChild(parent, "h2", at(time.Hour))
	must(t, s.RotateRefreshToken(ctx(t), "h1", at(time.Hour), child), "RotateRefreshToken h1")
	wantParent := parent
	wantParent.UsedAt, wantParent.ChildHash = ptr(at(time.Hour)), "h2"
	checkRefresh(t, s, wantParent)
	checkRefresh(t, s, child)

	// The child rotates in turn; the time may come in any zone.
	grandchild := mkChild(child, "h3", at(2*time.Hour))
	zone := time.FixedZone("UTC+9", 9*3600)
	must(t, s.RotateRefreshToken(ctx(t), "h2", at(2*time.Hour).In(zone), grandchild), "RotateRefreshToken h2")
	wantChild := child
	wantChild.UsedAt, wantChild.ChildHash = ptr(at(2*time.Hour)), "h3"
	checkRefresh(t, s, wantChild)
	checkRefresh(t, s, grandchild)
	checkRefresh(t, s, wantParent)
	checkRefresh(t, s, other)
}

func testRotateRefused(t *testing.T, s store.Store) {
	must(t, s.CreateRefreshToken(ctx(t), mkRefresh("h-taken", "fam-t", at(time.Hour))), "CreateRefreshToken h-taken")
	tests := []struct {
		name   string
		parent *store.RefreshToken // nil: the parent does not exist
		child  string
		want   error
	}{
		{"used parent", &store.RefreshToken{UsedAt: ptr(at(time.Minute)), ChildHash: "h-earlier"}, "c-used", store.ErrConflict},
		{"revoked parent", &store.RefreshToken{RevokedAt: ptr(at(time.Minute))}, "c-revoked", store.ErrConflict},
		{"used and revoked parent", &store.RefreshToken{UsedAt: ptr(at(time.Minute)), RevokedAt: ptr(at(2 * time.Minute))}, "c-both", store.ErrConflict},
		{"missing parent", nil, "c-orphan", store.ErrNotFound},
		{"child hash taken", &store.RefreshToken{}, "h-taken", store.ErrAlreadyExists},
		{"child hash is the parent's", &store.RefreshToken{}, "", store.ErrAlreadyExists},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hash := fmt.Sprintf("p%d", i)
			var parent store.RefreshToken
			if tc.parent != nil {
				parent = mkRefresh(hash, fmt.Sprintf("fam-%d", i), at(24*time.Hour))
				parent.UsedAt, parent.RevokedAt, parent.ChildHash = tc.parent.UsedAt, tc.parent.RevokedAt, tc.parent.ChildHash
				must(t, s.CreateRefreshToken(ctx(t), parent), "CreateRefreshToken parent")
			}
			childHash := tc.child
			if childHash == "" {
				childHash = hash
			}
			child := mkChild(mkRefresh(hash, fmt.Sprintf("fam-%d", i), at(24*time.Hour)), childHash, at(time.Hour))
			err := s.RotateRefreshToken(ctx(t), hash, at(time.Hour), child)
			wantOnly(t, err, tc.want, "RotateRefreshToken("+tc.name+")")
			if tc.parent != nil {
				checkRefresh(t, s, parent) // unchanged: still unused if it was
			} else {
				checkNoRefresh(t, s, hash)
			}
			switch childHash {
			case "h-taken":
				checkRefresh(t, s, mkRefresh("h-taken", "fam-t", at(time.Hour)))
			case hash:
			default:
				checkNoRefresh(t, s, childHash)
			}
		})
	}
}

// testRotateConcurrent: of ten rotations of one parent racing each other,
// exactly one wins; the others are told of the conflict and write nothing.
func testRotateConcurrent(t *testing.T, s store.Store) {
	parent := mkRefresh("h-parent", "fam", at(24*time.Hour))
	must(t, s.CreateRefreshToken(ctx(t), parent), "CreateRefreshToken")
	const n = 10
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			child := mkChild(parent, fmt.Sprintf("h-child-%d", i), at(time.Hour))
			<-start
			errs[i] = s.RotateRefreshToken(ctx(t), "h-parent", at(time.Duration(i+1)*time.Minute), child)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("rotations %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		default:
			wantOnly(t, err, store.ErrConflict, fmt.Sprintf("losing rotation %d", i))
		}
	}
	if winner < 0 {
		t.Fatalf("no rotation succeeded: %v", errs)
	}
	for i := range n {
		hash := fmt.Sprintf("h-child-%d", i)
		if i == winner {
			checkRefresh(t, s, mkChild(parent, hash, at(time.Hour)))
		} else {
			checkNoRefresh(t, s, hash)
		}
	}
	want := parent
	want.UsedAt, want.ChildHash = ptr(at(time.Duration(winner+1)*time.Minute)), fmt.Sprintf("h-child-%d", winner)
	checkRefresh(t, s, want)
}

func testRotateInTx(t *testing.T, s store.Store) {
	p1 := mkRefresh("p1", "fam-1", at(24*time.Hour))
	p2 := mkRefresh("p2", "fam-2", at(24*time.Hour))
	used := mkRefresh("used", "fam-3", at(24*time.Hour))
	used.UsedAt, used.ChildHash = ptr(at(time.Minute)), "x"
	for _, tok := range []store.RefreshToken{p1, p2, used} {
		must(t, s.CreateRefreshToken(ctx(t), tok), "CreateRefreshToken "+tok.Hash)
	}
	// Rolled back: the rotation goes with the transaction.
	err := s.Tx(ctx(t), func(tx store.Store) error {
		if err := tx.RotateRefreshToken(ctx(t), "p1", at(time.Hour), mkChild(p1, "c1", at(time.Hour))); err != nil {
			return err
		}
		if _, err := tx.GetRefreshToken(ctx(t), "c1"); err != nil {
			return fmt.Errorf("child not visible inside the transaction: %w", err)
		}
		return errBoom
	})
	if err != errBoom { //nolint:errorlint // the very same error must come back
		t.Fatalf("Tx returned %v, want fn's error unchanged", err)
	}
	checkRefresh(t, s, p1)
	checkNoRefresh(t, s, "c1")

	// Refused rotations leave the transaction usable.
	err = s.Tx(ctx(t), func(tx store.Store) error {
		if err := tx.RotateRefreshToken(ctx(t), "used", at(time.Hour), mkChild(used, "c3", at(time.Hour))); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("rotating a used token: got %v, want ErrConflict", err)
		}
		if err := tx.RotateRefreshToken(ctx(t), "p1", at(time.Hour), mkChild(p1, "p2", at(time.Hour))); !errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("rotating to a taken hash: got %v, want ErrAlreadyExists", err)
		}
		return tx.RotateRefreshToken(ctx(t), "p2", at(time.Hour), mkChild(p2, "c2", at(time.Hour)))
	})
	must(t, err, "Tx")
	checkRefresh(t, s, p1) // the refused rotation did not mark it used
	checkRefresh(t, s, used)
	checkRefresh(t, s, mkChild(p2, "c2", at(time.Hour)))
	checkNoRefresh(t, s, "c3")
}

func testRevokeFamily(t *testing.T, s store.Store) {
	a1 := mkRefresh("a1", "fam-a", at(24*time.Hour))
	a1.UsedAt, a1.ChildHash = ptr(at(time.Minute)), "a2"
	a2 := mkChild(a1, "a2", at(time.Minute))
	a2.RevokedAt = ptr(at(30 * time.Minute)) // revoked earlier
	a3 := mkRefresh("a3", "fam-a", at(24*time.Hour))
	b1 := mkRefresh("b1", "fam-b", at(24*time.Hour))
	for _, tok := range []store.RefreshToken{a1, a2, a3, b1} {
		must(t, s.CreateRefreshToken(ctx(t), tok), "CreateRefreshToken "+tok.Hash)
	}
	must(t, s.RevokeRefreshFamily(ctx(t), "fam-a", at(2*time.Hour)), "RevokeRefreshFamily")
	wantA1, wantA3 := a1, a3
	wantA1.RevokedAt, wantA3.RevokedAt = ptr(at(2*time.Hour)), ptr(at(2*time.Hour))
	check := func() {
		t.Helper()
		checkRefresh(t, s, wantA1)
		checkRefresh(t, s, a2) // keeps its earlier revocation
		checkRefresh(t, s, wantA3)
		checkRefresh(t, s, b1) // another family
	}
	check()
	// Revoking again keeps the first time.
	must(t, s.RevokeRefreshFamily(ctx(t), "fam-a", at(3*time.Hour)), "RevokeRefreshFamily(again)")
	check()
	must(t, s.RevokeRefreshFamily(ctx(t), "unknown", at(3*time.Hour)), "RevokeRefreshFamily(unknown)")
	check()
	// A revoked token no longer rotates.
	wantOnly(t, s.RotateRefreshToken(ctx(t), "a3", at(4*time.Hour), mkChild(a3, "a4", at(4*time.Hour))), store.ErrConflict, "RotateRefreshToken(revoked)")
	check()
}

func testRevokeTokensOf(t *testing.T, s store.Store) {
	u1a := mkRefresh("u1-a", "fam-1", at(24*time.Hour))
	u1b := mkRefresh("u1-b", "fam-1", at(24*time.Hour))
	u1c := mkRefresh("u1-c", "fam-2", at(48*time.Hour))
	u1c.RevokedAt = ptr(at(time.Minute))
	contact := mkRefresh("c-u1", "fam-3", at(24*time.Hour)) // same id, other kind
	contact.SubjectKind = store.KindContact
	u2 := mkRefresh("u2", "fam-4", at(24*time.Hour))
	u2.SubjectID = "u2"
	for _, tok := range []store.RefreshToken{u1a, u1b, u1c, contact, u2} {
		must(t, s.CreateRefreshToken(ctx(t), tok), "CreateRefreshToken "+tok.Hash)
	}
	must(t, s.RevokeRefreshTokensOf(ctx(t), store.KindUser, "u1", at(time.Hour)), "RevokeRefreshTokensOf")
	wantA, wantB := u1a, u1b
	wantA.RevokedAt, wantB.RevokedAt = ptr(at(time.Hour)), ptr(at(time.Hour))
	check := func() {
		t.Helper()
		checkRefresh(t, s, wantA)
		checkRefresh(t, s, wantB)
		checkRefresh(t, s, u1c) // keeps its earlier revocation
		checkRefresh(t, s, contact)
		checkRefresh(t, s, u2)
	}
	check()
	must(t, s.RevokeRefreshTokensOf(ctx(t), store.KindUser, "u1", at(2*time.Hour)), "RevokeRefreshTokensOf(again)")
	check()
	must(t, s.RevokeRefreshTokensOf(ctx(t), store.KindUser, "nobody", at(2*time.Hour)), "RevokeRefreshTokensOf(unknown)")
	check()
}

func testRevokeTokensOfClient(t *testing.T, s store.Store) {
	webA := mkRefresh("web-a", "fam-1", at(24*time.Hour))
	webB := mkRefresh("web-b", "fam-2", at(48*time.Hour))
	webB.SubjectKind, webB.SubjectID = store.KindContact, "c1"
	webC := mkRefresh("web-c", "fam-3", at(24*time.Hour))
	webC.RevokedAt = ptr(at(time.Minute))
	app := mkRefresh("app", "fam-4", at(24*time.Hour)) // same subject, other client
	app.ClientID = "app"
	for _, tok := range []store.RefreshToken{webA, webB, webC, app} {
		must(t, s.CreateRefreshToken(ctx(t), tok), "CreateRefreshToken "+tok.Hash)
	}
	must(t, s.RevokeRefreshTokensOfClient(ctx(t), "web", at(time.Hour)), "RevokeRefreshTokensOfClient")
	wantA, wantB := webA, webB
	wantA.RevokedAt, wantB.RevokedAt = ptr(at(time.Hour)), ptr(at(time.Hour))
	check := func() {
		t.Helper()
		checkRefresh(t, s, wantA)
		checkRefresh(t, s, wantB)
		checkRefresh(t, s, webC) // keeps its earlier revocation
		checkRefresh(t, s, app)
	}
	check()
	must(t, s.RevokeRefreshTokensOfClient(ctx(t), "web", at(2*time.Hour)), "RevokeRefreshTokensOfClient(again)")
	check()
	must(t, s.RevokeRefreshTokensOfClient(ctx(t), "nobody", at(2*time.Hour)), "RevokeRefreshTokensOfClient(unknown)")
	check()
}

func testDeleteExpired(t *testing.T, s store.Store) {
	cutoff := at(24 * time.Hour)
	tokens := map[string]time.Time{
		"long-gone":   at(time.Hour),
		"just-before": cutoff.Add(-time.Microsecond),
		"at-cutoff":   cutoff,
		"later":       cutoff.Add(time.Hour),
	}
	for hash, exp := range tokens {
		must(t, s.CreateRefreshToken(ctx(t), mkRefresh(hash, "fam-"+hash, exp)), "CreateRefreshToken "+hash)
	}
	zone := time.FixedZone("UTC+2", 2*3600)
	n, err := s.DeleteExpiredRefreshTokens(ctx(t), cutoff.In(zone))
	must(t, err, "DeleteExpiredRefreshTokens")
	if n != 2 {
		t.Errorf("DeleteExpiredRefreshTokens removed %d tokens, want 2", n)
	}
	checkNoRefresh(t, s, "long-gone")
	checkNoRefresh(t, s, "just-before")
	checkRefresh(t, s, mkRefresh("at-cutoff", "fam-at-cutoff", cutoff))
	checkRefresh(t, s, mkRefresh("later", "fam-later", cutoff.Add(time.Hour)))
	n, err = s.DeleteExpiredRefreshTokens(ctx(t), cutoff)
	must(t, err, "DeleteExpiredRefreshTokens(again)")
	if n != 0 {
		t.Errorf("second DeleteExpiredRefreshTokens removed %d tokens, want 0", n)
	}
}

func testRevokeFamilies(t *testing.T, s store.Store) {
	contact := func(hash, family, org string, mode store.Mode) store.RefreshToken {
		r := mkRefresh(hash, family, at(24*time.Hour))
		r.SubjectKind, r.SubjectID, r.OrganisationID, r.Mode = store.KindContact, "c1", org, mode
		return r
	}
	a1, a2 := contact("a1", "fam-a", "biz", store.ModeLive), contact("a2", "fam-a", "biz", store.ModeLive)
	b := contact("b", "fam-b", "biz", store.ModeLive)
	keep := contact("keep", "fam-keep", "biz", store.ModeLive)
	test := contact("test", "fam-test", "biz", store.ModeTest)
	other := contact("other", "fam-other", "other", store.ModeLive)
	user := mkRefresh("user", "fam-user", at(24*time.Hour))
	user.SubjectID = "c1"
	for _, tok := range []store.RefreshToken{a1, a2, b, keep, test, other, user} {
		must(t, s.CreateRefreshToken(ctx(t), tok), "CreateRefreshToken "+tok.Hash)
	}
	fams, err := s.RevokeRefreshFamilies(ctx(t), store.SubjectSessions{Kind: store.KindContact, ID: "c1", Org: "biz", Mode: store.ModeLive, Except: "fam-keep"}, at(time.Hour))
	must(t, err, "RevokeRefreshFamilies")
	slices.Sort(fams)
	checkEqual(t, "families revoked", fams, []string{"fam-a", "fam-b"})
	for _, r := range []*store.RefreshToken{&a1, &a2, &b} {
		r.RevokedAt = ptr(at(time.Hour))
	}
	for _, r := range []store.RefreshToken{a1, a2, b, keep, test, other, user} {
		checkRefresh(t, s, r)
	}
	fams, err = s.RevokeRefreshFamilies(ctx(t), store.SubjectSessions{Kind: store.KindContact, ID: "c1", Org: "biz", Mode: store.ModeLive}, at(2*time.Hour))
	must(t, err, "RevokeRefreshFamilies(again, no exception)")
	checkEqual(t, "families revoked the second time", fams, []string{"fam-keep"})
	checkRefresh(t, s, a1) // keeps its first revocation
	// A user: every family, whatever organisation it acts for.
	fams, err = s.RevokeRefreshFamilies(ctx(t), store.SubjectSessions{Kind: store.KindUser, ID: "c1"}, at(time.Hour))
	must(t, err, "RevokeRefreshFamilies(user)")
	checkEqual(t, "user families", fams, []string{"fam-user"})
}

// testRevokeFamiliesWhileRotating revokes a subject's families while its
// tokens rotate concurrently: afterwards no token of those families is
// live, whichever finished first.
func testRevokeFamiliesWhileRotating(t *testing.T, s store.Store) {
	const families = 8
	tip := make([]store.RefreshToken, families)
	for i := range tip {
		tip[i] = mkRefresh(fmt.Sprintf("f%d-0", i), fmt.Sprintf("fam-%d", i), at(24*time.Hour))
		must(t, s.CreateRefreshToken(ctx(t), tip[i]), "CreateRefreshToken")
	}
	var wg, started sync.WaitGroup
	for i := range tip {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			once := sync.OnceFunc(started.Done)
			defer once()
			// Until the revocation stops it (a cap keeps a broken store
			// from spinning forever).
			for n := 1; n < 100000; n++ {
				child := mkChild(tip[i], fmt.Sprintf("f%d-%d", i, n), at(time.Duration(n)*time.Millisecond))
				if err := s.RotateRefreshToken(ctx(t), tip[i].Hash, at(time.Duration(n)*time.Millisecond), child); err != nil {
					if !errors.Is(err, store.ErrConflict) {
						t.Errorf("rotate: %v", err)
					}
					return
				}
				tip[i] = child
				once()
			}
		}()
	}
	started.Wait() // every family is rotating
	_, err := s.RevokeRefreshFamilies(ctx(t), store.SubjectSessions{Kind: store.KindUser, ID: "u1"}, at(time.Hour))
	must(t, err, "RevokeRefreshFamilies")
	wg.Wait()
	for i := range tip {
		got, err := s.GetRefreshToken(ctx(t), tip[i].Hash)
		must(t, err, "GetRefreshToken(tip)")
		if got.RevokedAt == nil {
			t.Errorf("family %d: its newest token %s is live after the revocation", i, got.Hash)
		}
	}
}

// testRefreshSessions lists a subject's live families through their
// current tokens: rotated, revoked and ended families and other subjects'
// are left out; the sign-in time survives rotation.
func testRefreshSessions(t *testing.T, s store.Store) {
	first := mkRefresh("s1", "fam-phone", at(24*time.Hour))
	first.FamilyCreatedAt, first.IP, first.UserAgent = at(0), "192.0.2.1", "phone/1"
	must(t, s.CreateRefreshToken(ctx(t), first), "CreateRefreshToken s1")
	second := mkChild(first, "s2", at(time.Hour))
	second.IP, second.UserAgent = "192.0.2.2", "phone/2"
	must(t, s.RotateRefreshToken(ctx(t), "s1", at(time.Hour), second), "RotateRefreshToken s1")
	laptop := mkRefresh("l1", "fam-laptop", at(48*time.Hour))
	laptop.CreatedAt, laptop.FamilyCreatedAt, laptop.IP = at(2*time.Hour), at(2*time.Hour), "198.51.100.9"
	old := mkRefresh("o1", "fam-old", at(24*time.Hour)) // stored before family_created_at existed
	old.CreatedAt = at(30 * time.Minute)
	revoked := mkRefresh("r1", "fam-revoked", at(24*time.Hour))
	revoked.RevokedAt = ptr(at(time.Minute))
	ended := mkRefresh("e1", "fam-ended", at(90*time.Minute))
	other := mkRefresh("x1", "fam-other", at(24*time.Hour))
	other.SubjectID = "u2"
	contact := mkRefresh("c1", "fam-contact", at(24*time.Hour))
	contact.SubjectKind = store.KindContact
	for _, tok := range []store.RefreshToken{laptop, old, revoked, ended, other, contact} {
		must(t, s.CreateRefreshToken(ctx(t), tok), "CreateRefreshToken "+tok.Hash)
	}
	got, err := s.ListRefreshSessions(ctx(t), store.SubjectSessions{Kind: store.KindUser, ID: "u1"}, at(2*time.Hour))
	must(t, err, "ListRefreshSessions")
	want := []store.RefreshSession{
		{FamilyID: "fam-laptop", ClientID: "web", OrganisationID: "biz", Mode: store.ModeLive, CreatedAt: at(2 * time.Hour),
			LastUsedAt: at(2 * time.Hour), ExpiresAt: at(48 * time.Hour), IP: "198.51.100.9"},
		{FamilyID: "fam-old", ClientID: "web", OrganisationID: "biz", Mode: store.ModeLive, CreatedAt: at(30 * time.Minute),
			LastUsedAt: at(30 * time.Minute), ExpiresAt: at(24 * time.Hour)},
		{FamilyID: "fam-phone", ClientID: "web", OrganisationID: "biz", Mode: store.ModeLive, CreatedAt: at(0),
			LastUsedAt: at(time.Hour), ExpiresAt: at(24 * time.Hour), IP: "192.0.2.2", UserAgent: "phone/2"},
	}
	checkEqual(t, "sessions", got, want)
	got, err = s.ListRefreshSessions(ctx(t), store.SubjectSessions{Kind: store.KindContact, ID: "u1", Org: "biz", Mode: store.ModeTest}, at(0))
	must(t, err, "ListRefreshSessions(contact, test mode)")
	checkEqual(t, "sessions of the contact in test mode", len(got), 0)
	got, err = s.ListRefreshSessions(ctx(t), store.SubjectSessions{Kind: store.KindContact, ID: "u1", Org: "biz", Mode: store.ModeLive}, at(0))
	must(t, err, "ListRefreshSessions(contact)")
	checkEqual(t, "sessions of the contact", len(got), 1)
}

// testRevokeOneFamily ends one family of a subject, and nothing when the
// family is another subject's.
func testRevokeOneFamily(t *testing.T, s store.Store) {
	a := mkRefresh("a", "fam-a", at(24*time.Hour))
	b := mkRefresh("b", "fam-b", at(24*time.Hour))
	theirs := mkRefresh("t", "fam-theirs", at(24*time.Hour))
	theirs.SubjectID = "u2"
	for _, tok := range []store.RefreshToken{a, b, theirs} {
		must(t, s.CreateRefreshToken(ctx(t), tok), "CreateRefreshToken "+tok.Hash)
	}
	fams, err := s.RevokeRefreshFamilies(ctx(t), store.SubjectSessions{Kind: store.KindUser, ID: "u1", Family: "fam-theirs"}, at(time.Hour))
	must(t, err, "RevokeRefreshFamilies(another's family)")
	checkEqual(t, "families revoked of another subject", len(fams), 0)
	checkRefresh(t, s, theirs)
	fams, err = s.RevokeRefreshFamilies(ctx(t), store.SubjectSessions{Kind: store.KindUser, ID: "u1", Family: "fam-a"}, at(time.Hour))
	must(t, err, "RevokeRefreshFamilies(one family)")
	checkEqual(t, "families revoked", fams, []string{"fam-a"})
	a.RevokedAt = ptr(at(time.Hour))
	checkRefresh(t, s, a)
	checkRefresh(t, s, b)
}
