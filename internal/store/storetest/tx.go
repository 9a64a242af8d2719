package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var txTests = []subtest{
	{"Commit", testTxCommit},
	{"RollbackOnError", testTxRollback},
	{"UpdatesInsideRollBack", testTxUpdatesRollBack},
	{"NestedFailureUndoesOnlyItsPart", testTxNested},
	{"UsableAfterFailedStatement", testTxAfterConflict},
	{"ContactAndIdentityRollBack", testTxContactIdentityRollback},
	{"ContactAndIdentityCommit", testTxContactIdentityCommit},
}

// testTxContactIdentityRollback creates a contact, its identity and a
// link together, then fails: none of them is kept.
func testTxContactIdentityRollback(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	c := mkContact("biz", store.ModeLive, "c1")
	c.Code = "CODE-1"
	i := store.Identity{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderEmail, Subject: c.Email, ContactID: "c1", CreatedAt: base}
	err := s.Tx(ctx(t), func(tx store.Store) error {
		if err := tx.CreateContact(ctx(t), c); err != nil {
			return err
		}
		if err := tx.CreateIdentity(ctx(t), i); err != nil {
			return err
		}
		if err := tx.AddContactOrganisation(ctx(t), store.ContactOrganisation{BusinessID: "biz", Mode: store.ModeLive, ContactID: "c1", OrganisationID: "biz", Relationship: store.RelationshipJoined}); err != nil {
			return err
		}
		if _, err := tx.GetIdentity(ctx(t), "biz", store.ModeLive, store.ProviderEmail, c.Email); err != nil {
			return fmt.Errorf("identity not visible inside the transaction: %w", err)
		}
		return errBoom
	})
	if err != errBoom { //nolint:errorlint // the very same error must come back
		t.Fatalf("Tx returned %v, want fn's error unchanged", err)
	}
	_, err = s.GetContact(ctx(t), "biz", store.ModeLive, "c1")
	wantErr(t, err, store.ErrNotFound, "GetContact after rollback")
	_, err = s.GetIdentity(ctx(t), "biz", store.ModeLive, store.ProviderEmail, c.Email)
	wantErr(t, err, store.ErrNotFound, "GetIdentity after rollback")
	links, err := s.ListContactOrganisations(ctx(t), "biz", store.ModeLive, "c1")
	must(t, err, "ListContactOrganisations")
	if len(links) != 0 {
		t.Errorf("contact organisations after rollback: %+v", links)
	}
	// Nothing is left behind to collide with: the same contact and
	// identity can be created again.
	must(t, s.CreateContact(ctx(t), c), "CreateContact after rollback")
	must(t, s.CreateIdentity(ctx(t), i), "CreateIdentity after rollback")
}

// testTxContactIdentityCommit: refused creates inside the transaction do
// not poison it; what succeeded commits together.
func testTxContactIdentityCommit(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	taken := mkContact("biz", store.ModeLive, "taken")
	taken.Code = "CODE-1"
	seedContact(t, s, taken)
	c := mkContact("biz", store.ModeLive, "c1")
	i := store.Identity{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderPhone, Subject: "+447700900123", ContactID: "c1", CreatedAt: base}
	err := s.Tx(ctx(t), func(tx store.Store) error {
		dup := mkContact("biz", store.ModeLive, "c-dup")
		dup.Code = "CODE-1"
		if err := tx.CreateContact(ctx(t), dup); !errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("CreateContact(taken code): got %v, want ErrAlreadyExists", err)
		}
		if err := tx.CreateContact(ctx(t), c); err != nil {
			return err
		}
		orphan := i
		orphan.ContactID = "nope"
		if err := tx.CreateIdentity(ctx(t), orphan); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("CreateIdentity(missing contact): got %v, want ErrNotFound", err)
		}
		if err := tx.UpdateContact(ctx(t), "biz", store.ModeLive, "c1", func(c store.Contact) (store.Contact, error) {
			c.FirstName = "changed"
			return c, errBoom
		}); err != errBoom { //nolint:errorlint // the very same error must come back
			return fmt.Errorf("UpdateContact returned %v, want fn's error", err)
		}
		return tx.CreateIdentity(ctx(t), i)
	})
	must(t, err, "Tx")
	checkContact(t, s, c)
	checkIdentity(t, s, i)
	_, err = s.GetContact(ctx(t), "biz", store.ModeLive, "c-dup")
	wantErr(t, err, store.ErrNotFound, "GetContact(refused duplicate)")
}

func testTxCommit(t *testing.T, s store.Store) {
	err := s.Tx(ctx(t), func(tx store.Store) error {
		if err := tx.CreateOrganisation(ctx(t), mkOrg("root", "", base)); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx(t), mkUser("u1", "u1@example.com")); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := tx.GetOrganisation(ctx(t), "root"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return tx.CreateMembership(ctx(t), store.Membership{UserID: "u1", OrganisationID: "root", Role: "owner", CreatedAt: base})
	})
	must(t, err, "Tx")
	_, err = s.GetOrganisation(ctx(t), "root")
	must(t, err, "GetOrganisation after commit")
	_, err = s.GetUser(ctx(t), "u1")
	must(t, err, "GetUser after commit")
	ms, err := s.ListMemberships(ctx(t), "u1")
	must(t, err, "ListMemberships after commit")
	if len(ms) != 1 {
		t.Errorf("memberships after commit = %+v, want 1", ms)
	}
}

func testTxRollback(t *testing.T, s store.Store) {
	err := s.Tx(ctx(t), func(tx store.Store) error {
		if err := tx.CreateOrganisation(ctx(t), mkOrg("root", "", base)); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx(t), mkUser("u1", "u1@example.com")); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom { //nolint:errorlint // the very same error must come back
		t.Errorf("Tx returned %v, want fn's error unchanged", err)
	}
	_, err = s.GetOrganisation(ctx(t), "root")
	wantErr(t, err, store.ErrNotFound, "GetOrganisation after rollback")
	_, err = s.GetUser(ctx(t), "u1")
	wantErr(t, err, store.ErrNotFound, "GetUser after rollback")
	empty, err := s.IsEmpty(ctx(t))
	must(t, err, "IsEmpty")
	if !empty {
		t.Errorf("IsEmpty after rollback = false")
	}
}

func testTxUpdatesRollBack(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	user := seedUser(t, s, "u1", "u1@example.com")
	key := mkKey("k1", "biz", store.ModeLive, base)
	must(t, s.CreateAPIKey(ctx(t), key), "CreateAPIKey")
	err := s.Tx(ctx(t), func(tx store.Store) error {
		if err := tx.UpdateUser(ctx(t), "u1", func(u store.User) (store.User, error) { u.Disabled = true; return u, nil }); err != nil {
			return err
		}
		if err := tx.UpdateAPIKey(ctx(t), "k1", func(k store.APIKey) (store.APIKey, error) { k.Name = "x"; return k, nil }); err != nil {
			return err
		}
		if err := tx.TouchAPIKeys(ctx(t), map[string]time.Time{"k1": at(time.Hour)}); err != nil {
			return err
		}
		if err := tx.UpdateSigningKeys(ctx(t), func([]store.SigningKey) ([]store.SigningKey, []string, error) {
			return []store.SigningKey{mkSigningKey("k", base, base)}, nil, nil
		}); err != nil {
			return err
		}
		if err := tx.DeleteMembership(ctx(t), "u1", "biz"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("DeleteMembership(missing) in a transaction: %w", err)
		}
		got, err := tx.GetUser(ctx(t), "u1")
		if err != nil || !got.Disabled {
			return fmt.Errorf("update not visible inside the transaction: %+v, %w", got, err)
		}
		return errBoom
	})
	if err != errBoom { //nolint:errorlint // the very same error must come back
		t.Fatalf("Tx returned %v, want fn's error unchanged", err)
	}
	gotUser, err := s.GetUser(ctx(t), "u1")
	must(t, err, "GetUser")
	checkEqual(t, "user after rollback", gotUser, user)
	gotKey, err := s.GetAPIKey(ctx(t), "k1")
	must(t, err, "GetAPIKey")
	checkEqual(t, "key after rollback", gotKey, key)
	keys, err := s.ListSigningKeys(ctx(t))
	must(t, err, "ListSigningKeys")
	if len(keys) != 0 {
		t.Errorf("signing keys after rollback: %+v", keys)
	}
}

func testTxNested(t *testing.T, s store.Store) {
	err := s.Tx(ctx(t), func(tx store.Store) error {
		if err := tx.CreateOrganisation(ctx(t), mkOrg("outer", "", base)); err != nil {
			return err
		}
		// A failing nested transaction: its writes go, the outer ones stay.
		nestedErr := tx.Tx(ctx(t), func(inner store.Store) error {
			if err := inner.CreateOrganisation(ctx(t), mkOrg("inner-failed", "", base)); err != nil {
				return err
			}
			return errBoom
		})
		if nestedErr != errBoom { //nolint:errorlint // the very same error must come back
			return fmt.Errorf("nested Tx returned %v, want fn's error unchanged", nestedErr)
		}
		// A succeeding nested transaction commits with the outer one.
		if err := tx.Tx(ctx(t), func(inner store.Store) error {
			return inner.CreateOrganisation(ctx(t), mkOrg("inner-ok", "outer", base))
		}); err != nil {
			return err
		}
		return nil
	})
	must(t, err, "Tx")
	for id, want := range map[string]error{"outer": nil, "inner-ok": nil, "inner-failed": store.ErrNotFound} {
		_, err := s.GetOrganisation(ctx(t), id)
		if want == nil {
			must(t, err, "GetOrganisation "+id)
		} else {
			wantErr(t, err, want, "GetOrganisation "+id)
		}
	}
}

// testTxAfterConflict: a statement refused inside a transaction (a
// duplicate) does not poison the transaction; the caller may handle the
// error and carry on.
func testTxAfterConflict(t *testing.T, s store.Store) {
	seedUser(t, s, "u1", "taken@example.com")
	err := s.Tx(ctx(t), func(tx store.Store) error {
		if err := tx.CreateUser(ctx(t), mkUser("u2", "taken@example.com")); !errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("CreateUser(duplicate email) in a transaction: got %v, want ErrAlreadyExists", err)
		}
		if err := tx.UpdateUser(ctx(t), "u1", func(u store.User) (store.User, error) {
			u.FirstName = "changed"
			return u, errBoom
		}); err != errBoom { //nolint:errorlint // the very same error must come back
			return fmt.Errorf("UpdateUser returned %v, want fn's error", err)
		}
		return tx.CreateUser(ctx(t), mkUser("u3", "free@example.com"))
	})
	must(t, err, "Tx")
	_, err = s.GetUser(ctx(t), "u3")
	must(t, err, "GetUser u3 (created after the refused statement)")
	_, err = s.GetUser(ctx(t), "u2")
	wantErr(t, err, store.ErrNotFound, "GetUser u2")
	u1, err := s.GetUser(ctx(t), "u1")
	must(t, err, "GetUser u1")
	if u1.FirstName == "changed" {
		t.Errorf("failed UpdateUser inside a transaction was written")
	}
}

var lifecycleTests = []subtest{
	{"Ping", func(t *testing.T, s store.Store) {
		must(t, s.Ping(ctx(t)), "Ping")
		must(t, s.Tx(ctx(t), func(tx store.Store) error { return tx.Ping(ctx(t)) }), "Ping inside Tx")
	}},
	{"ConcurrentUse", testConcurrentUse},
	{"ConcurrentUpdatesLoseNothing", testConcurrentUpdates},
	{"UnavailableAfterClose", testClosed},
}

func testConcurrentUse(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("u%d", i)
			errs <- s.CreateUser(ctx(t), mkUser(id, id+"@example.com"))
			_, err := s.GetUser(ctx(t), id)
			errs <- err
			errs <- s.UpdateUser(ctx(t), id, func(u store.User) (store.User, error) { u.LastName = "done"; return u, nil })
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent use")
	}
	for i := range n {
		u, err := s.GetUser(ctx(t), fmt.Sprintf("u%d", i))
		must(t, err, "GetUser")
		if u.LastName != "done" {
			t.Errorf("user %s: LastName %q, want done", u.ID, u.LastName)
		}
	}
}

// testConcurrentUpdates increments counters through UpdateUser and
// UpdateAPIKey from several goroutines: read-modify-write must be atomic,
// so no increment is lost.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	seedUser(t, s, "u1", "u1@example.com")
	must(t, s.CreateAPIKey(ctx(t), mkKey("k1", "biz", store.ModeLive, base)), "CreateAPIKey")
	const workers, rounds = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*rounds)
	for range workers {
		wg.Go(func() {
			for range rounds {
				errs <- s.UpdateUser(ctx(t), "u1", func(u store.User) (store.User, error) {
					var n int
					if u.LastName != "" && u.LastName[0] >= '0' && u.LastName[0] <= '9' {
						if _, err := fmt.Sscan(u.LastName, &n); err != nil {
							return u, err
						}
					}
					time.Sleep(time.Millisecond)
					u.LastName = fmt.Sprint(n + 1)
					return u, nil
				})
				errs <- s.UpdateAPIKey(ctx(t), "k1", func(k store.APIKey) (store.APIKey, error) {
					time.Sleep(time.Millisecond)
					k.RateLimit++
					return k, nil
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent update")
	}
	u, err := s.GetUser(ctx(t), "u1")
	must(t, err, "GetUser")
	if want := fmt.Sprint(workers * rounds); u.LastName != want {
		t.Errorf("user counter = %s after %s increments: updates were lost", u.LastName, want)
	}
	k, err := s.GetAPIKey(ctx(t), "k1")
	must(t, err, "GetAPIKey")
	if k.RateLimit != workers*rounds {
		t.Errorf("key counter = %d after %d increments: updates were lost", k.RateLimit, workers*rounds)
	}
}

func testClosed(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	must(t, s.Close(), "Close")
	noop := func(u store.User) (store.User, error) { return u, nil }
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx(t)) }},
		{"IsEmpty", func() error { _, err := s.IsEmpty(ctx(t)); return err }},
		{"GetOrganisation", func() error { _, err := s.GetOrganisation(ctx(t), "biz"); return err }},
		{"CreateOrganisation", func() error { return s.CreateOrganisation(ctx(t), mkOrg("o2", "", base)) }},
		{"ListOrganisations", func() error { _, err := s.ListOrganisations(ctx(t), "", store.Page{}); return err }},
		{"GetUser", func() error { _, err := s.GetUser(ctx(t), "u1"); return err }},
		{"GetUserByEmail", func() error { _, err := s.GetUserByEmail(ctx(t), "u1@example.com"); return err }},
		{"CreateUser", func() error { return s.CreateUser(ctx(t), mkUser("u1", "u1@example.com")) }},
		{"UpdateUser", func() error { return s.UpdateUser(ctx(t), "u1", noop) }},
		{"CreateMembership", func() error {
			return s.CreateMembership(ctx(t), store.Membership{UserID: "u1", OrganisationID: "biz", Role: "owner"})
		}},
		{"ListMemberships", func() error { _, err := s.ListMemberships(ctx(t), "u1"); return err }},
		{"DeleteMembership", func() error { return s.DeleteMembership(ctx(t), "u1", "biz") }},
		{"CreateClient", func() error { return s.CreateClient(ctx(t), store.Client{ID: "c"}) }},
		{"GetClient", func() error { _, err := s.GetClient(ctx(t), "c"); return err }},
		{"ListClients", func() error { _, _, err := s.ListClients(ctx(t), store.Page{}); return err }},
		{"UpdateClient", func() error {
			return s.UpdateClient(ctx(t), "c1", func(c store.Client) (store.Client, error) { return c, nil })
		}},
		{"DeleteClient", func() error { return s.DeleteClient(ctx(t), "c1") }},
		{"CreateAPIKey", func() error { return s.CreateAPIKey(ctx(t), mkKey("k", "biz", store.ModeLive, base)) }},
		{"GetAPIKey", func() error { _, err := s.GetAPIKey(ctx(t), "k"); return err }},
		{"GetAPIKeyByHash", func() error { _, err := s.GetAPIKeyByHash(ctx(t), "h"); return err }},
		{"ListAPIKeys", func() error { _, err := s.ListAPIKeys(ctx(t), "biz", store.ModeLive, store.Page{}); return err }},
		{"UpdateAPIKey", func() error {
			return s.UpdateAPIKey(ctx(t), "k", func(k store.APIKey) (store.APIKey, error) { return k, nil })
		}},
		{"TouchAPIKeys", func() error { return s.TouchAPIKeys(ctx(t), map[string]time.Time{"k": base}) }},
		{"ListSigningKeys", func() error { _, err := s.ListSigningKeys(ctx(t)); return err }},
		{"UpdateSigningKeys", func() error {
			return s.UpdateSigningKeys(ctx(t), func([]store.SigningKey) ([]store.SigningKey, []string, error) { return nil, nil, nil })
		}},
		{"Tx", func() error { return s.Tx(ctx(t), func(store.Store) error { return nil }) }},
		{"ListUsers", func() error { _, err := s.ListUsers(ctx(t), store.Page{}); return err }},
		{"ListOrganisationMembers", func() error { _, err := s.ListOrganisationMembers(ctx(t), "biz", store.Page{}); return err }},
	}
	calls = append(calls, identityCallsAfterClose(t, s)...)
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			wantErr(t, err, store.ErrUnavailable, c.name+" after Close")
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAlreadyExists) {
				t.Errorf("%s after Close: %v also matches ErrNotFound/ErrAlreadyExists", c.name, err)
			}
		})
	}
}

// identityCallsAfterClose lists a call of every IdentityStore method.
func identityCallsAfterClose(t *testing.T, s store.Store) []struct {
	name string
	call func() error
} {
	tok := mkRefresh("h", "fam", base)
	contact := mkContact("biz", store.ModeLive, "c1")
	ident := store.Identity{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderEmail, Subject: "a@example.com", ContactID: "c1"}
	return []struct {
		name string
		call func() error
	}{
		{"CreateRefreshToken", func() error { return s.CreateRefreshToken(ctx(t), tok) }},
		{"GetRefreshToken", func() error { _, err := s.GetRefreshToken(ctx(t), "h"); return err }},
		{"RotateRefreshToken", func() error { return s.RotateRefreshToken(ctx(t), "h", base, mkChild(tok, "h2", base)) }},
		{"RevokeRefreshFamily", func() error { return s.RevokeRefreshFamily(ctx(t), "fam", base) }},
		{"RevokeRefreshTokensOf", func() error { return s.RevokeRefreshTokensOf(ctx(t), store.KindUser, "u1", base) }},
		{"RevokeRefreshTokensOfClient", func() error { return s.RevokeRefreshTokensOfClient(ctx(t), "web", base) }},
		{"DeleteExpiredRefreshTokens", func() error { _, err := s.DeleteExpiredRefreshTokens(ctx(t), base); return err }},
		{"CreateAuditEvent", func() error { return s.CreateAuditEvent(ctx(t), mkEvent("e", "biz", "x", "u1", base)) }},
		{"ListAuditEvents", func() error { _, err := s.ListAuditEvents(ctx(t), store.AuditFilter{}, store.Page{}); return err }},
		{"CreateContact", func() error { return s.CreateContact(ctx(t), contact) }},
		{"GetContact", func() error { _, err := s.GetContact(ctx(t), "biz", store.ModeLive, "c1"); return err }},
		{"UpdateContact", func() error {
			return s.UpdateContact(ctx(t), "biz", store.ModeLive, "c1", func(c store.Contact) (store.Contact, error) { return c, nil })
		}},
		{"FindContacts", func() error { _, err := s.FindContacts(ctx(t), "biz", store.ModeLive, "a@example.com", ""); return err }},
		{"CreateIdentity", func() error { return s.CreateIdentity(ctx(t), ident) }},
		{"GetIdentity", func() error {
			_, err := s.GetIdentity(ctx(t), "biz", store.ModeLive, store.ProviderEmail, "a@example.com")
			return err
		}},
		{"ListIdentities", func() error { _, err := s.ListIdentities(ctx(t), "biz", store.ModeLive, "c1"); return err }},
		{"UpdateIdentity", func() error {
			return s.UpdateIdentity(ctx(t), "biz", store.ModeLive, store.ProviderEmail, "a@example.com",
				func(i store.Identity) (store.Identity, error) { return i, nil })
		}},
		{"AddContactOrganisation", func() error {
			return s.AddContactOrganisation(ctx(t), store.ContactOrganisation{BusinessID: "biz", Mode: store.ModeLive, ContactID: "c1", OrganisationID: "biz"})
		}},
		{"ListContactOrganisations", func() error {
			_, err := s.ListContactOrganisations(ctx(t), "biz", store.ModeLive, "c1")
			return err
		}},
	}
}
