package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var identityTests = []subtest{
	{"CreateGetRoundTrip", testIdentityRoundTrip},
	{"GetOtherTenantModeOrProvider", testGetIdentityIsolation},
	{"Duplicates", testIdentityDuplicates},
	{"MissingContact", testIdentityMissingContact},
	{"List", testListIdentities},
	{"Update", testUpdateIdentity},
	{"UpdateIgnoresKeyChanges", testUpdateIdentityKeys},
	{"UpdateToMissingContact", func(t *testing.T, s store.Store) {
		want := seedIdentities(t, s)[0]
		err := s.UpdateIdentity(ctx(t), "biz", store.ModeLive, want.Provider, want.Subject, func(i store.Identity) (store.Identity, error) {
			i.ContactID, i.PasswordHash = "nope", "changed"
			return i, nil
		})
		wantOnly(t, err, store.ErrNotFound, "UpdateIdentity(to a missing contact)")
		checkIdentity(t, s, want)
	}},
	{"UpdateFnErrorWritesNothing", func(t *testing.T, s store.Store) {
		want := seedIdentities(t, s)[0]
		err := s.UpdateIdentity(ctx(t), "biz", store.ModeLive, want.Provider, want.Subject, func(i store.Identity) (store.Identity, error) {
			i.PasswordHash = "should not be saved"
			return i, errBoom
		})
		if err != errBoom { //nolint:errorlint // the very same error must come back
			t.Errorf("UpdateIdentity returned %v, want fn's error unchanged", err)
		}
		checkIdentity(t, s, want)
	}},
	{"UpdateMissing", func(t *testing.T, s store.Store) {
		seedIdentities(t, s)
		for _, key := range [][4]string{
			{"biz", "live", store.ProviderEmail, "nobody@example.com"},
			{"biz", "test", store.ProviderPhone, "+447700900123"},
			{"other", "live", store.ProviderEmail, "alice@example.com"},
			{"biz", "live", store.ProviderPhone, "alice@example.com"},
		} {
			called := false
			err := s.UpdateIdentity(ctx(t), key[0], store.Mode(key[1]), key[2], key[3], func(i store.Identity) (store.Identity, error) {
				called = true
				return i, nil
			})
			wantOnly(t, err, store.ErrNotFound, fmt.Sprintf("UpdateIdentity%q", key))
			if called {
				t.Errorf("UpdateIdentity%q called fn", key)
			}
		}
	}},
}

// seedIdentities creates business "biz" with contacts c1 and c2 (live)
// and c1 (test), and three live identities: c1's email and phone, and
// c2's Facebook id.
func seedIdentities(t *testing.T, s store.Store) []store.Identity {
	t.Helper()
	seedOrg(t, s, "biz")
	seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
	seedContact(t, s, mkContact("biz", store.ModeLive, "c2"))
	seedContact(t, s, mkContact("biz", store.ModeTest, "c1"))
	ids := []store.Identity{
		{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderEmail, Subject: "alice@example.com", ContactID: "c1", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", CreatedAt: at(time.Hour)},
		{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderPhone, Subject: "+447700900123", ContactID: "c1", CreatedAt: at(2 * time.Hour)},
		{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderFacebook, Subject: "FbUser12345AbC", ContactID: "c2", CreatedAt: at(3 * time.Hour)},
	}
	for _, i := range ids {
		must(t, s.CreateIdentity(ctx(t), i), "CreateIdentity "+i.Subject)
	}
	return ids
}

// checkIdentity fails unless the stored identity equals want.
func checkIdentity(t *testing.T, s store.Store, want store.Identity) {
	t.Helper()
	what := fmt.Sprintf("identity %s/%s/%s/%s", want.BusinessID, want.Mode, want.Provider, want.Subject)
	got, err := s.GetIdentity(ctx(t), want.BusinessID, want.Mode, want.Provider, want.Subject)
	if err != nil {
		t.Errorf("GetIdentity %s: %v", what, err)
		return
	}
	checkEqual(t, what, got, want)
	checkUTC(t, what, got)
}

func testIdentityRoundTrip(t *testing.T, s store.Store) {
	seeded := seedIdentities(t, s)
	for _, want := range seeded {
		checkIdentity(t, s, want)
	}
	// An EMAIL subject is lower-cased on write and on look-up; other
	// subjects are kept and matched as given.
	zone := time.FixedZone("UTC-5", -5*3600)
	mixed := store.Identity{BusinessID: "biz", Mode: store.ModeTest, Provider: store.ProviderEmail, Subject: "Bob.Smith@Example.COM", ContactID: "c1", CreatedAt: at(time.Minute).In(zone)}
	must(t, s.CreateIdentity(ctx(t), mixed), "CreateIdentity(mixed-case email)")
	want := mixed
	want.Subject = "bob.smith@example.com"
	for _, subject := range []string{"bob.smith@example.com", "BOB.SMITH@example.com", mixed.Subject} {
		got, err := s.GetIdentity(ctx(t), "biz", store.ModeTest, store.ProviderEmail, subject)
		must(t, err, "GetIdentity "+subject)
		checkEqual(t, "identity by "+subject, got, want)
	}
	_, err := s.GetIdentity(ctx(t), "biz", store.ModeLive, store.ProviderFacebook, "fbuser12345abc")
	wantOnly(t, err, store.ErrNotFound, "GetIdentity(Facebook id in another case)")
}

func testGetIdentityIsolation(t *testing.T, s store.Store) {
	seedIdentities(t, s)
	seedOrg(t, s, "other")
	tests := []struct {
		name              string
		business          string
		mode              store.Mode
		provider, subject string
	}{
		{"other business", "other", store.ModeLive, store.ProviderEmail, "alice@example.com"},
		{"other mode", "biz", store.ModeTest, store.ProviderEmail, "alice@example.com"},
		{"other provider", "biz", store.ModeLive, store.ProviderPhone, "alice@example.com"},
		{"unknown subject", "biz", store.ModeLive, store.ProviderEmail, "nobody@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.GetIdentity(ctx(t), tc.business, tc.mode, tc.provider, tc.subject)
			wantOnly(t, err, store.ErrNotFound, "GetIdentity("+tc.name+")")
		})
	}
}

func testIdentityDuplicates(t *testing.T, s store.Store) {
	seeded := seedIdentities(t, s)
	seedOrg(t, s, "other")
	seedContact(t, s, mkContact("other", store.ModeLive, "c1"))
	id := func(business string, mode store.Mode, provider, subject, contact string) store.Identity {
		return store.Identity{BusinessID: business, Mode: mode, Provider: provider, Subject: subject, ContactID: contact, PasswordHash: "dup", CreatedAt: at(time.Minute)}
	}
	tests := []struct {
		name     string
		identity store.Identity
		want     error // nil: allowed
	}{
		{"same key, other contact", id("biz", store.ModeLive, store.ProviderEmail, "alice@example.com", "c2"), store.ErrAlreadyExists},
		{"same key, same contact", id("biz", store.ModeLive, store.ProviderPhone, "+447700900123", "c1"), store.ErrAlreadyExists},
		{"email in other case", id("biz", store.ModeLive, store.ProviderEmail, "Alice@EXAMPLE.com", "c2"), store.ErrAlreadyExists},
		{"same subject other mode", id("biz", store.ModeTest, store.ProviderEmail, "alice@example.com", "c1"), nil},
		{"same subject other business", id("other", store.ModeLive, store.ProviderEmail, "alice@example.com", "c1"), nil},
		{"same subject other provider", id("biz", store.ModeLive, store.ProviderFacebook, "+447700900123", "c2"), nil},
		{"Facebook id in other case", id("biz", store.ModeLive, store.ProviderFacebook, "fbuser12345abc", "c1"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateIdentity(ctx(t), tc.identity)
			if tc.want == nil {
				must(t, err, "CreateIdentity("+tc.name+")")
				checkIdentity(t, s, tc.identity)
				return
			}
			wantOnly(t, err, tc.want, "CreateIdentity("+tc.name+")")
		})
	}
	for _, want := range seeded {
		checkIdentity(t, s, want)
	}
}

func testIdentityMissingContact(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	seedOrg(t, s, "other")
	seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
	tests := []struct {
		name     string
		business string
		mode     store.Mode
		contact  string
	}{
		{"unknown contact", "biz", store.ModeLive, "nope"},
		{"contact of the other mode", "biz", store.ModeTest, "c1"},
		{"contact of another business", "other", store.ModeLive, "c1"},
		{"unknown business", "nope", store.ModeLive, "c1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := store.Identity{BusinessID: tc.business, Mode: tc.mode, Provider: store.ProviderEmail, Subject: "x@example.com", ContactID: tc.contact}
			wantOnly(t, s.CreateIdentity(ctx(t), i), store.ErrNotFound, "CreateIdentity("+tc.name+")")
			_, err := s.GetIdentity(ctx(t), tc.business, tc.mode, store.ProviderEmail, "x@example.com")
			wantOnly(t, err, store.ErrNotFound, "GetIdentity after refused create")
		})
	}
}

func testListIdentities(t *testing.T, s store.Store) {
	seeded := seedIdentities(t, s)
	// Same time as the phone identity: sorts by provider, FACEBOOK first.
	fb := store.Identity{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderFacebook, Subject: "999", ContactID: "c1", CreatedAt: at(2 * time.Hour)}
	early := store.Identity{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderEmail, Subject: "early@example.com", ContactID: "c1", CreatedAt: at(time.Minute)}
	testMode := store.Identity{BusinessID: "biz", Mode: store.ModeTest, Provider: store.ProviderEmail, Subject: "alice@example.com", ContactID: "c1", CreatedAt: at(0)}
	for _, i := range []store.Identity{fb, early, testMode} {
		must(t, s.CreateIdentity(ctx(t), i), "CreateIdentity "+i.Subject)
	}
	tests := []struct {
		name    string
		mode    store.Mode
		contact string
		want    []store.Identity
	}{
		{"c1 live", store.ModeLive, "c1", []store.Identity{early, seeded[0], fb, seeded[1]}},
		{"c2 live", store.ModeLive, "c2", []store.Identity{seeded[2]}},
		{"c1 test", store.ModeTest, "c1", []store.Identity{testMode}},
		{"c2 test", store.ModeTest, "c2", nil},
		{"unknown contact", store.ModeLive, "nope", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListIdentities(ctx(t), "biz", tc.mode, tc.contact)
			must(t, err, "ListIdentities")
			checkEqual(t, "identities", got, tc.want)
			checkUTC(t, "identities", got)
		})
	}
	got, err := s.ListIdentities(ctx(t), "other", store.ModeLive, "c1")
	must(t, err, "ListIdentities(other business)")
	if len(got) != 0 {
		t.Errorf("ListIdentities(other business) = %+v, want none", got)
	}
}

func testUpdateIdentity(t *testing.T, s store.Store) {
	seeded := seedIdentities(t, s)
	before := seeded[0]
	want := before
	want.ContactID, want.PasswordHash, want.CreatedAt = "c2", "$argon2id$new", at(-time.Hour)
	var seen store.Identity
	// Named by its subject in another case.
	err := s.UpdateIdentity(ctx(t), "biz", store.ModeLive, store.ProviderEmail, "ALICE@example.com", func(i store.Identity) (store.Identity, error) {
		seen = i
		i.ContactID, i.PasswordHash, i.CreatedAt = want.ContactID, want.PasswordHash, want.CreatedAt
		return i, nil
	})
	must(t, err, "UpdateIdentity")
	checkEqual(t, "identity passed to fn", seen, before)
	checkIdentity(t, s, want)
	checkIdentity(t, s, seeded[1])
	checkIdentity(t, s, seeded[2])
	got, err := s.ListIdentities(ctx(t), "biz", store.ModeLive, "c2")
	must(t, err, "ListIdentities c2")
	checkEqual(t, "identities of c2 after the move", got, []store.Identity{want, seeded[2]})
	got, err = s.ListIdentities(ctx(t), "biz", store.ModeLive, "c1")
	must(t, err, "ListIdentities c1")
	checkEqual(t, "identities of c1 after the move", got, []store.Identity{seeded[1]})
	// Clearing the password.
	want.PasswordHash = ""
	must(t, s.UpdateIdentity(ctx(t), "biz", store.ModeLive, store.ProviderEmail, "alice@example.com", func(i store.Identity) (store.Identity, error) {
		i.PasswordHash = ""
		return i, nil
	}), "UpdateIdentity(clear password)")
	checkIdentity(t, s, want)
}

// testUpdateIdentityKeys: fn changing the key is ignored, and neither the
// identity the new key would name nor any other is touched.
func testUpdateIdentityKeys(t *testing.T, s store.Store) {
	seeded := seedIdentities(t, s)
	seedOrg(t, s, "other")
	seedContact(t, s, mkContact("other", store.ModeLive, "c1"))
	target := seeded[0]
	bystanders := []store.Identity{seeded[1], seeded[2],
		{BusinessID: "biz", Mode: store.ModeTest, Provider: store.ProviderEmail, Subject: "alice@example.com", ContactID: "c1", CreatedAt: at(0)},
		{BusinessID: "other", Mode: store.ModeLive, Provider: store.ProviderEmail, Subject: "alice@example.com", ContactID: "c1", CreatedAt: at(0)},
		{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderEmail, Subject: "bob@example.com", ContactID: "c2", CreatedAt: at(0)},
	}
	for _, b := range bystanders[2:] {
		must(t, s.CreateIdentity(ctx(t), b), "CreateIdentity "+b.BusinessID+"/"+b.Subject)
	}
	tests := []struct {
		name   string
		change func(*store.Identity)
	}{
		{"business", func(i *store.Identity) { i.BusinessID = "other" }},
		{"mode", func(i *store.Identity) { i.Mode = store.ModeTest }},
		{"provider", func(i *store.Identity) { i.Provider = store.ProviderPhone; i.Subject = "+447700900123" }},
		{"subject", func(i *store.Identity) { i.Subject = "bob@example.com" }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target.PasswordHash = fmt.Sprintf("hash %d", i)
			err := s.UpdateIdentity(ctx(t), "biz", store.ModeLive, target.Provider, target.Subject, func(id store.Identity) (store.Identity, error) {
				tc.change(&id)
				id.PasswordHash = target.PasswordHash
				return id, nil
			})
			must(t, err, "UpdateIdentity")
			checkIdentity(t, s, target)
			for _, b := range bystanders {
				checkIdentity(t, s, b)
			}
		})
	}
}

var contactOrganisationTests = []subtest{
	{"AddListRoundTrip", testContactOrganisations},
	{"Duplicate", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "biz")
		seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
		co := store.ContactOrganisation{BusinessID: "biz", Mode: store.ModeLive, ContactID: "c1", OrganisationID: "biz", Relationship: store.RelationshipJoined, CreatedAt: base}
		must(t, s.AddContactOrganisation(ctx(t), co), "AddContactOrganisation")
		dup := co
		dup.Relationship, dup.CreatedAt = store.RelationshipShared, at(time.Hour)
		wantOnly(t, s.AddContactOrganisation(ctx(t), dup), store.ErrAlreadyExists, "AddContactOrganisation(duplicate)")
		got, err := s.ListContactOrganisations(ctx(t), "biz", store.ModeLive, "c1")
		must(t, err, "ListContactOrganisations")
		checkEqual(t, "links after a refused duplicate", got, []store.ContactOrganisation{co})
	}},
	{"MissingReferences", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "biz")
		seedContact(t, s, mkContact("biz", store.ModeLive, "c1"))
		tests := []struct {
			name         string
			mode         store.Mode
			contact, org string
		}{
			{"unknown contact", store.ModeLive, "nope", "biz"},
			{"contact of the other mode", store.ModeTest, "c1", "biz"},
			{"unknown organisation", store.ModeLive, "c1", "nope"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				co := store.ContactOrganisation{BusinessID: "biz", Mode: tc.mode, ContactID: tc.contact, OrganisationID: tc.org, Relationship: store.RelationshipJoined}
				wantOnly(t, s.AddContactOrganisation(ctx(t), co), store.ErrNotFound, "AddContactOrganisation("+tc.name+")")
				got, err := s.ListContactOrganisations(ctx(t), "biz", tc.mode, tc.contact)
				must(t, err, "ListContactOrganisations")
				if len(got) != 0 {
					t.Errorf("links after a refused add: %+v", got)
				}
			})
		}
	}},
}

func testContactOrganisations(t *testing.T, s store.Store) {
	seedOrg(t, s, "root")
	for i, id := range []string{"biz", "m1", "m2"} {
		parent := "biz"
		if id == "biz" {
			parent = "root"
		}
		must(t, s.CreateOrganisation(ctx(t), mkOrg(id, parent, at(time.Duration(i)*time.Minute))), "create "+id)
	}
	for _, c := range []store.Contact{mkContact("biz", store.ModeLive, "c1"), mkContact("biz", store.ModeLive, "c2"), mkContact("biz", store.ModeTest, "c1")} {
		seedContact(t, s, c)
	}
	zone := time.FixedZone("UTC+4", 4*3600)
	link := func(mode store.Mode, contact, org, rel string, when time.Time) store.ContactOrganisation {
		return store.ContactOrganisation{BusinessID: "biz", Mode: mode, ContactID: contact, OrganisationID: org, Relationship: rel, CreatedAt: when}
	}
	// Out of order; m2 and m1 share a time and sort by organisation id,
	// biz comes last though its id sorts first.
	c1m2 := link(store.ModeLive, "c1", "m2", store.RelationshipJoined, at(time.Hour))
	c1m1 := link(store.ModeLive, "c1", "m1", store.RelationshipShared, at(time.Hour).In(zone))
	c1biz := link(store.ModeLive, "c1", "biz", store.RelationshipJoined, at(2*time.Hour))
	c2m1 := link(store.ModeLive, "c2", "m1", store.RelationshipJoined, at(time.Minute))
	t1m2 := link(store.ModeTest, "c1", "m2", store.RelationshipShared, at(time.Minute))
	for _, co := range []store.ContactOrganisation{c1m2, c1m1, c1biz, c2m1, t1m2} {
		must(t, s.AddContactOrganisation(ctx(t), co), "AddContactOrganisation "+co.ContactID+"/"+co.OrganisationID)
	}
	tests := []struct {
		name    string
		mode    store.Mode
		contact string
		want    []store.ContactOrganisation
	}{
		{"c1 live", store.ModeLive, "c1", []store.ContactOrganisation{c1m1, c1m2, c1biz}},
		{"c2 live", store.ModeLive, "c2", []store.ContactOrganisation{c2m1}},
		{"c1 test", store.ModeTest, "c1", []store.ContactOrganisation{t1m2}},
		{"unknown contact", store.ModeLive, "nope", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListContactOrganisations(ctx(t), "biz", tc.mode, tc.contact)
			must(t, err, "ListContactOrganisations")
			checkEqual(t, "contact organisations", got, tc.want)
			checkUTC(t, "contact organisations", got)
		})
	}
	got, err := s.ListContactOrganisations(ctx(t), "m1", store.ModeLive, "c1")
	must(t, err, "ListContactOrganisations(other business)")
	if len(got) != 0 {
		t.Errorf("ListContactOrganisations(other business) = %+v, want none", got)
	}
}
