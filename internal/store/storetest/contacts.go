package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var contactTests = []subtest{
	{"CreateGetRoundTrip", testContactRoundTrip},
	{"GetOtherTenantOrMode", testGetContactIsolation},
	{"MissingBusiness", func(t *testing.T, s store.Store) {
		wantOnly(t, s.CreateContact(ctx(t), mkContact("nope", store.ModeLive, "c1")), store.ErrNotFound, "CreateContact(unknown business)")
		_, err := s.GetContact(ctx(t), "nope", store.ModeLive, "c1")
		wantOnly(t, err, store.ErrNotFound, "GetContact after refused create")
	}},
	{"Duplicates", testContactDuplicates},
	{"Update", testUpdateContact},
	{"UpdateIgnoresKeyChanges", testUpdateContactKeys},
	{"UpdateToTakenCode", testUpdateContactTakenCode},
	{"UpdateFnErrorWritesNothing", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "biz")
		want := seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
		err := s.UpdateContact(ctx(t), "biz", store.ModeLive, "c1", func(c store.Contact) (store.Contact, error) {
			c.FirstName = "should not be saved"
			return c, errBoom
		})
		if err != errBoom { //nolint:errorlint // the very same error must come back
			t.Errorf("UpdateContact returned %v, want fn's error unchanged", err)
		}
		checkContact(t, s, want)
	}},
	{"UpdateMissing", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "biz")
		seedOrg(t, s, "other")
		want := seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
		for _, key := range []struct {
			business string
			mode     store.Mode
			id       string
		}{{"biz", store.ModeLive, "nope"}, {"biz", store.ModeTest, "c1"}, {"other", store.ModeLive, "c1"}} {
			called := false
			err := s.UpdateContact(ctx(t), key.business, key.mode, key.id, func(c store.Contact) (store.Contact, error) {
				called = true
				c.FirstName = "changed"
				return c, nil
			})
			what := fmt.Sprintf("UpdateContact(%s, %s, %s)", key.business, key.mode, key.id)
			wantOnly(t, err, store.ErrNotFound, what)
			if called {
				t.Errorf("%s called fn", what)
			}
		}
		checkContact(t, s, want)
	}},
	{"Find", testFindContacts},
	{"List", testListContacts},
	{"Delete", testDeleteContact},
	{"TypeAndLocale", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "biz")
		c := mkContact("biz", store.ModeLive, "co")
		c.Type, c.Locale = store.ContactCompany, "pt-BR"
		checkContact(t, s, seedContact(t, s, c))
		plain := mkContact("biz", store.ModeLive, "pe")
		plain.Type = ""
		seedContact(t, s, plain)
		plain.Type = store.ContactPerson // the default
		checkContact(t, s, plain)
	}},
	{"ConcurrentUpdatesLoseNothing", testConcurrentContactUpdates},
}

func mkContact(business string, mode store.Mode, id string) store.Contact {
	return store.Contact{
		ID: id, BusinessID: business, Mode: mode, FirstName: "First " + id, LastName: "Last " + id,
		Email: id + "@example.com", PhoneNumber: "+447700900000", Type: store.ContactPerson,
		CreatedAt: at(time.Minute), UpdatedAt: at(2 * time.Minute),
	}
}

func seedContact(t *testing.T, s store.Store, c store.Contact) store.Contact {
	t.Helper()
	must(t, s.CreateContact(ctx(t), c), fmt.Sprintf("create contact %s/%s/%s", c.BusinessID, c.Mode, c.ID))
	return c
}

// checkContact fails unless the stored contact equals want.
func checkContact(t *testing.T, s store.Store, want store.Contact) {
	t.Helper()
	what := fmt.Sprintf("contact %s/%s/%s", want.BusinessID, want.Mode, want.ID)
	got, err := s.GetContact(ctx(t), want.BusinessID, want.Mode, want.ID)
	if err != nil {
		t.Errorf("GetContact %s: %v", what, err)
		return
	}
	checkEqual(t, what, got, want)
	checkUTC(t, what, got)
}

func testContactRoundTrip(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	zone := time.FixedZone("UTC+3", 3*3600)
	full := store.Contact{
		ID: "0b7e1c9a-5f3d-4c2b-9a8e-1d2c3b4a5f60", BusinessID: "biz", Mode: store.ModeLive, Code: "EXT-42",
		FirstName: "Zoë", LastName: "O'Connor-Ünïcode", Title: "Dr", Email: "Zoe.OConnor@Example.COM",
		PhoneNumber: "+447700900123", AvatarURL: "https://cdn.example.com/a/zoe.png?s=64",
		EmailOptOut: true, SMSOptOut: true, ServiceAcceptance: true, Type: store.ContactCompany, Locale: "en-GB",
		CreatedAt: at(time.Hour).In(zone), UpdatedAt: at(2 * time.Hour),
	}
	minimal := store.Contact{ID: "c2", BusinessID: "biz", Mode: store.ModeTest, Type: store.ContactPerson, CreatedAt: at(0), UpdatedAt: at(0)}
	for _, c := range []store.Contact{full, minimal} {
		must(t, s.CreateContact(ctx(t), c), "CreateContact "+c.ID)
	}
	want := full
	want.Email = "zoe.oconnor@example.com" // stored lower-cased
	checkContact(t, s, want)
	checkContact(t, s, minimal)
}

func testGetContactIsolation(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	seedOrg(t, s, "other")
	seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
	tests := []struct {
		name     string
		business string
		mode     store.Mode
		id       string
	}{
		{"other business", "other", store.ModeLive, "c1"},
		{"other mode", "biz", store.ModeTest, "c1"},
		{"unknown id", "biz", store.ModeLive, "nope"},
		{"unknown business", "nope", store.ModeLive, "c1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.GetContact(ctx(t), tc.business, tc.mode, tc.id)
			wantOnly(t, err, store.ErrNotFound, "GetContact("+tc.name+")")
		})
	}
}

func testContactDuplicates(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	seedOrg(t, s, "other")
	orig := mkContact("biz", store.ModeLive, "c1")
	orig.Code = "CODE-1"
	seedContact(t, s, orig)
	noCode := seedContact(t, s, mkContact("biz", store.ModeLive, "c-nocode"))
	with := func(business string, mode store.Mode, id, code string) store.Contact {
		c := mkContact(business, mode, id)
		c.Code, c.FirstName = code, "dup "+id
		return c
	}
	tests := []struct {
		name    string
		contact store.Contact
		want    error // nil: allowed
	}{
		{"same id", with("biz", store.ModeLive, "c1", ""), store.ErrAlreadyExists},
		{"same id other code", with("biz", store.ModeLive, "c1", "CODE-9"), store.ErrAlreadyExists},
		{"same code", with("biz", store.ModeLive, "c2", "CODE-1"), store.ErrAlreadyExists},
		{"same id other mode", with("biz", store.ModeTest, "c1", "CODE-1"), nil},
		{"same id other business", with("other", store.ModeLive, "c1", "CODE-1"), nil},
		{"same code other mode", with("biz", store.ModeTest, "c3", "CODE-2"), nil},
		{"other code", with("biz", store.ModeLive, "c4", "CODE-2"), nil},
		{"second contact without code", with("biz", store.ModeLive, "c5", ""), nil},
		{"code differing in case", with("biz", store.ModeLive, "c6", "code-1"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateContact(ctx(t), tc.contact)
			if tc.want == nil {
				must(t, err, "CreateContact("+tc.name+")")
				checkContact(t, s, tc.contact)
				return
			}
			wantOnly(t, err, tc.want, "CreateContact("+tc.name+")")
			if tc.contact.ID != "c1" {
				_, err := s.GetContact(ctx(t), tc.contact.BusinessID, tc.contact.Mode, tc.contact.ID)
				wantOnly(t, err, store.ErrNotFound, "GetContact after refused create")
			}
		})
	}
	checkContact(t, s, orig)
	checkContact(t, s, noCode)
}

func testUpdateContact(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	before := mkContact("biz", store.ModeLive, "c1")
	before.Code = "CODE-1"
	seedContact(t, s, before)
	other := seedContact(t, s, mkContact("biz", store.ModeLive, "c2"))

	want := before
	want.Code, want.FirstName, want.LastName, want.Title = "CODE-2", "Alicia", "Smith", "Ms"
	want.PhoneNumber, want.AvatarURL = "+15550100", "https://example.com/a.png"
	want.EmailOptOut, want.SMSOptOut, want.ServiceAcceptance = true, true, true
	want.CreatedAt, want.UpdatedAt = at(-time.Hour), at(time.Hour)
	var seen store.Contact
	err := s.UpdateContact(ctx(t), "biz", store.ModeLive, "c1", func(c store.Contact) (store.Contact, error) {
		seen = c
		c.Code, c.FirstName, c.LastName, c.Title = want.Code, want.FirstName, want.LastName, want.Title
		c.Email = "Alicia.New@Example.com"
		c.PhoneNumber, c.AvatarURL = want.PhoneNumber, want.AvatarURL
		c.EmailOptOut, c.SMSOptOut, c.ServiceAcceptance = true, true, true
		c.CreatedAt, c.UpdatedAt = want.CreatedAt, want.UpdatedAt
		return c, nil
	})
	must(t, err, "UpdateContact")
	checkEqual(t, "contact passed to fn", seen, before)
	want.Email = "alicia.new@example.com"
	checkContact(t, s, want)
	checkContact(t, s, other)
	found, err := s.FindContacts(ctx(t), "biz", store.ModeLive, "alicia.new@example.com", "")
	must(t, err, "FindContacts(new email)")
	checkEqual(t, "contacts found by the new email", found, []store.Contact{want})
	found, err = s.FindContacts(ctx(t), "biz", store.ModeLive, before.Email, "")
	must(t, err, "FindContacts(old email)")
	if len(found) != 0 {
		t.Errorf("FindContacts(old email) = %+v, want none", found)
	}
	// The old code is free again.
	freed := mkContact("biz", store.ModeLive, "c3")
	freed.Code = "CODE-1"
	must(t, s.CreateContact(ctx(t), freed), "CreateContact with the released code")
}

// testUpdateContactKeys: fn changing the key is ignored, and neither the
// contact the new key would name nor any other is touched.
func testUpdateContactKeys(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	seedOrg(t, s, "other")
	target := seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
	bystanders := []store.Contact{
		seedContact(t, s, mkContact("biz", store.ModeTest, "c1")),
		seedContact(t, s, mkContact("biz", store.ModeLive, "c2")),
		seedContact(t, s, mkContact("other", store.ModeLive, "c1")),
	}
	tests := []struct {
		name   string
		change func(*store.Contact)
	}{
		{"mode", func(c *store.Contact) { c.Mode = store.ModeTest }},
		{"id", func(c *store.Contact) { c.ID = "c2" }},
		{"business", func(c *store.Contact) { c.BusinessID = "other" }},
		{"all three", func(c *store.Contact) { c.BusinessID, c.Mode, c.ID = "other", store.ModeTest, "new" }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target.FirstName, target.UpdatedAt = "renamed "+tc.name, at(time.Duration(i+1)*time.Hour)
			err := s.UpdateContact(ctx(t), "biz", store.ModeLive, "c1", func(c store.Contact) (store.Contact, error) {
				tc.change(&c)
				c.FirstName, c.UpdatedAt = target.FirstName, target.UpdatedAt
				return c, nil
			})
			must(t, err, "UpdateContact")
			checkContact(t, s, target)
			for _, b := range bystanders {
				checkContact(t, s, b)
			}
			_, err = s.GetContact(ctx(t), "other", store.ModeTest, "new")
			wantOnly(t, err, store.ErrNotFound, "GetContact(other, test, new)")
		})
	}
}

func testUpdateContactTakenCode(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	c1 := mkContact("biz", store.ModeLive, "c1")
	c1.Code = "A"
	seedContact(t, s, c1)
	c2 := mkContact("biz", store.ModeLive, "c2")
	c2.Code = "B"
	seedContact(t, s, c2)
	err := s.UpdateContact(ctx(t), "biz", store.ModeLive, "c2", func(c store.Contact) (store.Contact, error) {
		c.Code, c.FirstName = "A", "changed"
		return c, nil
	})
	wantOnly(t, err, store.ErrAlreadyExists, "UpdateContact(taken code)")
	checkContact(t, s, c2)
	// Keeping its own code is no conflict.
	c2.FirstName, c2.UpdatedAt = "kept code", at(time.Hour)
	must(t, s.UpdateContact(ctx(t), "biz", store.ModeLive, "c2", func(c store.Contact) (store.Contact, error) {
		c.FirstName, c.UpdatedAt = c2.FirstName, c2.UpdatedAt
		return c, nil
	}), "UpdateContact(own code)")
	checkContact(t, s, c2)
}

func testFindContacts(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	seedOrg(t, s, "other")
	mk := func(business string, mode store.Mode, id, email, phone string, created time.Time) store.Contact {
		c := mkContact(business, mode, id)
		c.Email, c.PhoneNumber, c.CreatedAt, c.UpdatedAt = email, phone, created, created
		return seedContact(t, s, c)
	}
	c1 := mk("biz", store.ModeLive, "c1", "shared@example.com", "+441", at(time.Hour))
	c2 := mk("biz", store.ModeLive, "c2", "Shared@Example.com", "+442", at(2*time.Hour))
	c3 := mk("biz", store.ModeLive, "c3", "other@example.com", "+441", at(30*time.Minute))
	c4 := mk("biz", store.ModeTest, "c4", "shared@example.com", "+441", at(time.Hour))
	c5 := mk("other", store.ModeLive, "c5", "shared@example.com", "+441", at(time.Hour))
	c2.Email = "shared@example.com" // stored lower-cased
	tests := []struct {
		name         string
		business     string
		mode         store.Mode
		email, phone string
		want         []store.Contact
	}{
		{"email", "biz", store.ModeLive, "shared@example.com", "", []store.Contact{c1, c2}},
		{"email in other case", "biz", store.ModeLive, "SHARED@example.COM", "", []store.Contact{c1, c2}},
		{"phone", "biz", store.ModeLive, "", "+441", []store.Contact{c3, c1}},
		{"other mode", "biz", store.ModeTest, "shared@example.com", "", []store.Contact{c4}},
		{"other business", "other", store.ModeLive, "", "+441", []store.Contact{c5}},
		{"unknown email", "biz", store.ModeLive, "nobody@example.com", "", nil},
		{"unknown phone", "biz", store.ModeLive, "", "+449", nil},
		{"unknown business", "nope", store.ModeLive, "shared@example.com", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.FindContacts(ctx(t), tc.business, tc.mode, tc.email, tc.phone)
			must(t, err, "FindContacts")
			checkEqual(t, "found contacts", got, tc.want)
			checkUTC(t, "found contacts", got)
		})
	}
	for _, tc := range []struct{ name, email, phone string }{
		{"both", "shared@example.com", "+441"},
		{"neither", "", ""},
	} {
		t.Run("invalid: "+tc.name, func(t *testing.T) {
			got, err := s.FindContacts(ctx(t), "biz", store.ModeLive, tc.email, tc.phone)
			if err == nil {
				t.Errorf("FindContacts(%q, %q) = %+v, nil; want an error", tc.email, tc.phone, got)
			}
		})
	}
}

// testConcurrentContactUpdates increments counters through UpdateContact
// and UpdateIdentity from several goroutines: read-modify-write must be
// atomic, so no increment is lost.
func testConcurrentContactUpdates(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
	must(t, s.CreateIdentity(ctx(t), store.Identity{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderPhone, Subject: "+1", ContactID: "c1"}), "CreateIdentity")
	incr := func(v string) (string, error) {
		var n int
		if v != "" {
			if _, err := fmt.Sscan(v, &n); err != nil {
				return "", err
			}
		}
		time.Sleep(time.Millisecond)
		return fmt.Sprint(n + 1), nil
	}
	const workers, rounds = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*rounds)
	for range workers {
		wg.Go(func() {
			for range rounds {
				errs <- s.UpdateContact(ctx(t), "biz", store.ModeLive, "c1", func(c store.Contact) (store.Contact, error) {
					var err error
					c.Title, err = incr(c.Title)
					return c, err
				})
				errs <- s.UpdateIdentity(ctx(t), "biz", store.ModeLive, store.ProviderPhone, "+1", func(i store.Identity) (store.Identity, error) {
					var err error
					i.PasswordHash, err = incr(i.PasswordHash)
					return i, err
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent update")
	}
	want := fmt.Sprint(workers * rounds)
	c, err := s.GetContact(ctx(t), "biz", store.ModeLive, "c1")
	must(t, err, "GetContact")
	if c.Title != want {
		t.Errorf("contact counter = %s after %s increments: updates were lost", c.Title, want)
	}
	i, err := s.GetIdentity(ctx(t), "biz", store.ModeLive, store.ProviderPhone, "+1")
	must(t, err, "GetIdentity")
	if i.PasswordHash != want {
		t.Errorf("identity counter = %s after %s increments: updates were lost", i.PasswordHash, want)
	}
}

func testListContacts(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	seedOrg(t, s, "other")
	var all []string
	for i := range 7 {
		c := mkContact("biz", store.ModeLive, fmt.Sprintf("c%d", i))
		c.CreatedAt = at(time.Duration(7-i) * time.Minute) // created in reverse id order
		c.UpdatedAt = c.CreatedAt
		if i%2 == 0 {
			c.Email = "Shared@Example.com"
		}
		if i == 3 {
			c.Code = "EXT-3"
		}
		seedContact(t, s, c)
		all = append([]string{c.ID}, all...)
	}
	// Other tenants and modes never show.
	seedContact(t, s, mkContact("biz", store.ModeTest, "t1"))
	seedContact(t, s, mkContact("other", store.ModeLive, "o1"))

	var got []string
	for off := 0; ; off += 3 {
		page, total, err := s.ListContacts(ctx(t), "biz", store.ModeLive, store.ContactFilter{}, store.Page{Offset: off, Size: 3})
		must(t, err, "ListContacts")
		checkEqual(t, "total", total, 7)
		if len(page) == 0 {
			break
		}
		got = append(got, ids(page, func(c store.Contact) string { return c.ID })...)
	}
	checkIDs(t, "every page", got, all)

	page, total, err := s.ListContacts(ctx(t), "biz", store.ModeLive, store.ContactFilter{Email: "shared@example.COM"}, store.Page{})
	must(t, err, "ListContacts(email)")
	checkEqual(t, "total by email", total, 4)
	checkIDs(t, "by email", ids(page, func(c store.Contact) string { return c.ID }), []string{"c6", "c4", "c2", "c0"})

	page, total, err = s.ListContacts(ctx(t), "biz", store.ModeLive, store.ContactFilter{Code: "EXT-3"}, store.Page{})
	must(t, err, "ListContacts(code)")
	checkEqual(t, "total by code", total, 1)
	checkIDs(t, "by code", ids(page, func(c store.Contact) string { return c.ID }), []string{"c3"})

	page, total, err = s.ListContacts(ctx(t), "biz", store.ModeLive, store.ContactFilter{Code: "EXT-3", Email: "shared@example.com"}, store.Page{})
	must(t, err, "ListContacts(code and email)")
	checkEqual(t, "total by code and email", total, 0)
	checkEqual(t, "page by code and email", len(page), 0)

	page, total, err = s.ListContacts(ctx(t), "biz", store.ModeLive, store.ContactFilter{Phone: "+447700900000"}, store.Page{Offset: 5, Size: 10})
	must(t, err, "ListContacts(phone)")
	checkEqual(t, "total by phone", total, 7)
	checkIDs(t, "by phone, from 5", ids(page, func(c store.Contact) string { return c.ID }), []string{"c1", "c0"})
}

func testDeleteContact(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	must(t, s.CreateOrganisation(ctx(t), mkOrg("shop", "biz", at(0))), "create shop")
	gone := seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
	kept := seedContact(t, s, mkContact("biz", store.ModeLive, "c2"))
	twin := seedContact(t, s, mkContact("biz", store.ModeTest, "c1")) // same id, other mode
	for _, c := range []store.Contact{gone, kept, twin} {
		must(t, s.CreateIdentity(ctx(t), store.Identity{BusinessID: "biz", Mode: c.Mode, Provider: store.ProviderEmail,
			Subject: c.ID + "-" + string(c.Mode) + "@example.com", ContactID: c.ID, PasswordHash: "h", CreatedAt: at(0)}), "CreateIdentity")
		must(t, s.AddContactOrganisation(ctx(t), store.ContactOrganisation{BusinessID: "biz", Mode: c.Mode, ContactID: c.ID,
			OrganisationID: "shop", Relationship: store.RelationshipJoined, CreatedAt: at(0)}), "AddContactOrganisation")
		rt := mkRefresh("rt-"+c.ID+"-"+string(c.Mode), "fam-"+c.ID+"-"+string(c.Mode), at(time.Hour))
		rt.SubjectKind, rt.SubjectID, rt.Mode = store.KindContact, c.ID, c.Mode
		must(t, s.CreateRefreshToken(ctx(t), rt), "CreateRefreshToken")
	}
	user := mkRefresh("rt-user-c1", "fam-user", at(time.Hour)) // a user with the same id
	user.SubjectID = "c1"
	must(t, s.CreateRefreshToken(ctx(t), user), "CreateRefreshToken(user)")

	must(t, s.DeleteContact(ctx(t), "biz", store.ModeLive, "c1"), "DeleteContact")
	_, err := s.GetContact(ctx(t), "biz", store.ModeLive, "c1")
	wantOnly(t, err, store.ErrNotFound, "GetContact(deleted)")
	_, err = s.GetIdentity(ctx(t), "biz", store.ModeLive, store.ProviderEmail, "c1-live@example.com")
	wantOnly(t, err, store.ErrNotFound, "GetIdentity(deleted contact's)")
	links, err := s.ListContactOrganisations(ctx(t), "biz", store.ModeLive, "c1")
	must(t, err, "ListContactOrganisations")
	checkEqual(t, "links of the deleted contact", len(links), 0)
	checkNoRefresh(t, s, "rt-c1-live")
	wantOnly(t, s.DeleteContact(ctx(t), "biz", store.ModeLive, "c1"), store.ErrNotFound, "DeleteContact(again)")

	// Nothing else changed.
	checkContact(t, s, kept)
	checkContact(t, s, twin)
	for _, h := range []string{"rt-c2-live", "rt-c1-test", "rt-user-c1"} {
		if _, err := s.GetRefreshToken(ctx(t), h); err != nil {
			t.Errorf("refresh token %s: %v", h, err)
		}
	}
	if _, err := s.GetIdentity(ctx(t), "biz", store.ModeTest, store.ProviderEmail, "c1-test@example.com"); err != nil {
		t.Errorf("identity of the other mode's c1: %v", err)
	}
	links, err = s.ListContactOrganisations(ctx(t), "biz", store.ModeLive, "c2")
	must(t, err, "ListContactOrganisations(c2)")
	checkEqual(t, "links of c2", len(links), 1)
	// The same id and identity can start afresh.
	seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
	must(t, s.CreateIdentity(ctx(t), store.Identity{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderEmail,
		Subject: "c1-live@example.com", ContactID: "c1", CreatedAt: at(0)}), "CreateIdentity(after erase)")
}
