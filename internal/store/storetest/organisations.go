package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var organisationTests = []subtest{
	{"IsEmpty", testIsEmpty},
	{"CreateGetRoundTrip", testOrganisationRoundTrip},
	{"NonUTCTimeStoredAsInstant", testOrganisationNonUTC},
	{"GetMissing", func(t *testing.T, s store.Store) {
		_, err := s.GetOrganisation(ctx(t), "nope")
		wantErr(t, err, store.ErrNotFound, "GetOrganisation(missing)")
	}},
	{"DuplicateID", func(t *testing.T, s store.Store) {
		o := seedOrg(t, s, "org1")
		o.Name = "other name"
		wantErr(t, s.CreateOrganisation(ctx(t), o), store.ErrAlreadyExists, "CreateOrganisation(duplicate id)")
		got, err := s.GetOrganisation(ctx(t), "org1")
		must(t, err, "GetOrganisation")
		if got.Name != "Org org1" {
			t.Errorf("duplicate create overwrote the organisation: name %q", got.Name)
		}
	}},
	{"ListOrderAndFilter", testListOrganisations},
	{"ListPagination", testListOrganisationsPages},
	// Text a database cannot hold (PostgreSQL refuses NUL) is the request's
	// fault: stored, or ErrInvalidValue, never ErrUnavailable (an outage).
	{"TextTheDatabaseRefuses", func(t *testing.T, s store.Store) {
		o := mkOrg("nul\x00id", "", at(0))
		o.Name = "bad\x00name"
		if err := s.CreateOrganisation(ctx(t), o); err != nil && !errors.Is(err, store.ErrInvalidValue) {
			t.Fatalf("CreateOrganisation with a NUL: %v, want nil or ErrInvalidValue", err)
		}
		if _, err := s.GetOrganisation(ctx(t), "\xff\xfe"); !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrInvalidValue) {
			t.Fatalf("GetOrganisation with invalid UTF-8: %v, want ErrNotFound or ErrInvalidValue", err)
		}
	}},
}

func testIsEmpty(t *testing.T, s store.Store) {
	empty, err := s.IsEmpty(ctx(t))
	must(t, err, "IsEmpty")
	if !empty {
		t.Fatalf("IsEmpty on a fresh store = false, want true")
	}
	// Rows other than organisations do not count.
	seedUser(t, s, "u1", "u1@example.com")
	empty, err = s.IsEmpty(ctx(t))
	must(t, err, "IsEmpty")
	if !empty {
		t.Errorf("IsEmpty with a user but no organisation = false, want true")
	}
	seedOrg(t, s, "root")
	empty, err = s.IsEmpty(ctx(t))
	must(t, err, "IsEmpty")
	if empty {
		t.Errorf("IsEmpty after creating an organisation = true, want false")
	}
}

func testOrganisationRoundTrip(t *testing.T, s store.Store) {
	root := store.Organisation{ID: "so", Name: "Service Owner", Type: store.OrgTypeServiceOwner, CreatedAt: at(0)}
	child := store.Organisation{ID: "biz", Name: "Café Ünïcode ☕", Type: store.OrgTypeBusiness, ParentID: "so", CreatedAt: at(time.Hour)}
	grandchild := store.Organisation{ID: "m1", Name: "Merchant", Type: store.OrgTypeMerchant, ParentID: "biz", CreatedAt: at(2 * time.Hour)}
	for _, o := range []store.Organisation{root, child, grandchild} {
		must(t, s.CreateOrganisation(ctx(t), o), "CreateOrganisation "+o.ID)
	}
	for _, want := range []store.Organisation{root, child, grandchild} {
		got, err := s.GetOrganisation(ctx(t), want.ID)
		must(t, err, "GetOrganisation "+want.ID)
		checkEqual(t, "organisation "+want.ID, got, want)
		checkUTC(t, "organisation "+want.ID, got)
	}
}

func testOrganisationNonUTC(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	o := mkOrg("o", "", time.Date(2024, 6, 1, 9, 30, 0, 1000, zone))
	must(t, s.CreateOrganisation(ctx(t), o), "CreateOrganisation")
	got, err := s.GetOrganisation(ctx(t), "o")
	must(t, err, "GetOrganisation")
	if !got.CreatedAt.Equal(o.CreatedAt) {
		t.Errorf("CreatedAt = %v, want the instant %v", got.CreatedAt, o.CreatedAt)
	}
	checkUTC(t, "organisation", got)
}

func testListOrganisations(t *testing.T, s store.Store) {
	seedOrg(t, s, "root")
	must(t, s.CreateOrganisation(ctx(t), mkOrg("root2", "", at(time.Hour))), "create root2")
	// Created out of order; two share a timestamp and sort by id.
	children := []store.Organisation{
		mkOrg("c-late", "root", at(3*time.Hour)),
		mkOrg("c-b", "root", at(2*time.Hour)),
		mkOrg("c-a", "root", at(2*time.Hour)),
		mkOrg("c-early", "root", at(time.Hour)),
		mkOrg("other-child", "root2", at(time.Hour)),
	}
	for _, o := range children {
		must(t, s.CreateOrganisation(ctx(t), o), "create "+o.ID)
	}
	orgID := func(o store.Organisation) string { return o.ID }
	tests := []struct {
		name   string
		parent string
		want   []string
	}{
		{"children of root", "root", []string{"c-early", "c-a", "c-b", "c-late"}},
		{"children of root2", "root2", []string{"other-child"}},
		{"roots", "", []string{"root", "root2"}},
		{"leaf", "c-a", []string{}},
		{"unknown parent", "nope", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListOrganisations(ctx(t), tc.parent, store.Page{})
			must(t, err, "ListOrganisations")
			checkIDs(t, "ListOrganisations("+tc.parent+")", ids(got, orgID), tc.want)
		})
	}
	got, err := s.ListOrganisations(ctx(t), "root", store.Page{})
	must(t, err, "ListOrganisations")
	for _, o := range got {
		if o.ID == "c-b" {
			checkEqual(t, "listed organisation", o, children[1])
			checkUTC(t, "listed organisation", o)
		}
	}
}

func testListOrganisationsPages(t *testing.T, s store.Store) {
	seedOrg(t, s, "root")
	var want []string
	for i := range 7 {
		id := string(rune('a' + i))
		must(t, s.CreateOrganisation(ctx(t), mkOrg(id, "root", at(time.Duration(i)*time.Minute))), "create "+id)
		want = append(want, id)
	}
	orgID := func(o store.Organisation) string { return o.ID }
	tests := []struct {
		name string
		page store.Page
		want []string
	}{
		{"first page", store.Page{Offset: 0, Size: 3}, want[0:3]},
		{"second page", store.Page{Offset: 3, Size: 3}, want[3:6]},
		{"last partial page", store.Page{Offset: 6, Size: 3}, want[6:]},
		{"past the end", store.Page{Offset: 7, Size: 3}, []string{}},
		{"default size covers small lists", store.Page{}, want},
		{"offset with default size", store.Page{Offset: 5}, want[5:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListOrganisations(ctx(t), "root", tc.page)
			must(t, err, "ListOrganisations")
			checkIDs(t, "page", ids(got, orgID), tc.want)
		})
	}
}
