package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var userTests = []subtest{
	{"GetUsers", func(t *testing.T, s store.Store) {
		a, b := mkUser("u-a", "a@example.com"), mkUser("u-b", "b@example.com")
		must(t, s.CreateUser(ctx(t), a), "CreateUser a")
		must(t, s.CreateUser(ctx(t), b), "CreateUser b")
		got, err := s.GetUsers(ctx(t), []string{"u-b", "nope", "u-a"})
		must(t, err, "GetUsers")
		ids := map[string]bool{}
		for _, u := range got {
			ids[u.ID] = true
		}
		if len(got) != 2 || !ids["u-a"] || !ids["u-b"] {
			t.Fatalf("GetUsers = %+v, want u-a and u-b", got)
		}
		none, err := s.GetUsers(ctx(t), nil)
		must(t, err, "GetUsers(nil)")
		if len(none) != 0 {
			t.Errorf("GetUsers(nil) = %+v", none)
		}
	}},
	{"CreateGetRoundTrip", testUserRoundTrip},
	{"GetMissing", func(t *testing.T, s store.Store) {
		_, err := s.GetUser(ctx(t), "nope")
		wantErr(t, err, store.ErrNotFound, "GetUser(missing)")
		_, err = s.GetUserByEmail(ctx(t), "nope@example.com")
		wantErr(t, err, store.ErrNotFound, "GetUserByEmail(missing)")
	}},
	{"GetByEmailIgnoresCase", func(t *testing.T, s store.Store) {
		want := seedUser(t, s, "u1", "alice@example.com")
		for _, email := range []string{"alice@example.com", "Alice@Example.COM"} {
			got, err := s.GetUserByEmail(ctx(t), email)
			must(t, err, "GetUserByEmail "+email)
			checkEqual(t, "user by email "+email, got, want)
		}
	}},
	{"Duplicates", testUserDuplicates},
	{"Update", testUpdateUser},
	{"UpdateFnErrorWritesNothing", testUpdateUserFnError},
	{"UpdateMissing", func(t *testing.T, s store.Store) {
		called := false
		err := s.UpdateUser(ctx(t), "nope", func(u store.User) (store.User, error) { called = true; return u, nil })
		wantErr(t, err, store.ErrNotFound, "UpdateUser(missing)")
		if called {
			t.Errorf("UpdateUser(missing) called fn")
		}
	}},
	{"List", testListUsers},
	{"UpdateToTakenEmail", func(t *testing.T, s store.Store) {
		seedUser(t, s, "u1", "one@example.com")
		want := seedUser(t, s, "u2", "two@example.com")
		err := s.UpdateUser(ctx(t), "u2", func(u store.User) (store.User, error) {
			u.Email = "one@example.com"
			u.FirstName = "changed"
			return u, nil
		})
		wantErr(t, err, store.ErrAlreadyExists, "UpdateUser(taken email)")
		got, err := s.GetUser(ctx(t), "u2")
		must(t, err, "GetUser")
		checkEqual(t, "user after failed update", got, want)
	}},
}

func testUserRoundTrip(t *testing.T, s store.Store) {
	enabled := mkUser("u1", "alice@example.com")
	disabled := store.User{
		ID: "u2", Email: "bob@example.org", PasswordHash: "$2a$10$abcdefghijklmnopqrstuv",
		FirstName: "Bób", LastName: "O'Brien", Disabled: true, CreatedAt: at(time.Hour), UpdatedAt: at(90 * time.Minute),
	}
	for _, u := range []store.User{enabled, disabled} {
		must(t, s.CreateUser(ctx(t), u), "CreateUser "+u.ID)
		got, err := s.GetUser(ctx(t), u.ID)
		must(t, err, "GetUser "+u.ID)
		checkEqual(t, "user "+u.ID, got, u)
		checkUTC(t, "user "+u.ID, got)
	}
}

func testUserDuplicates(t *testing.T, s store.Store) {
	seedUser(t, s, "u1", "alice@example.com")
	tests := []struct {
		name string
		user store.User
	}{
		{"same id", mkUser("u1", "other@example.com")},
		{"same email", mkUser("u2", "alice@example.com")},
		{"same email other case", mkUser("u3", "ALICE@Example.com")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, s.CreateUser(ctx(t), tc.user), store.ErrAlreadyExists, "CreateUser("+tc.name+")")
		})
	}
	for _, id := range []string{"u2", "u3"} {
		_, err := s.GetUser(ctx(t), id)
		wantErr(t, err, store.ErrNotFound, "GetUser after refused create "+id)
	}
}

func testUpdateUser(t *testing.T, s store.Store) {
	before := seedUser(t, s, "u1", "alice@example.com")
	var seen store.User
	want := before
	want.Email = "alice.new@example.com"
	want.FirstName = "Alicia"
	want.PasswordHash = "$argon2id$new"
	want.Disabled = true
	want.UpdatedAt = at(time.Hour)
	err := s.UpdateUser(ctx(t), "u1", func(u store.User) (store.User, error) {
		seen = u
		u.Email, u.FirstName, u.PasswordHash, u.Disabled, u.UpdatedAt = want.Email, want.FirstName, want.PasswordHash, want.Disabled, want.UpdatedAt
		return u, nil
	})
	must(t, err, "UpdateUser")
	checkEqual(t, "user passed to fn", seen, before)
	got, err := s.GetUser(ctx(t), "u1")
	must(t, err, "GetUser")
	checkEqual(t, "updated user", got, want)
	got, err = s.GetUserByEmail(ctx(t), want.Email)
	must(t, err, "GetUserByEmail(new email)")
	if got.ID != "u1" {
		t.Errorf("GetUserByEmail(new email) = %q, want u1", got.ID)
	}
	_, err = s.GetUserByEmail(ctx(t), before.Email)
	wantErr(t, err, store.ErrNotFound, "GetUserByEmail(old email)")
	// Only the named user changed.
	other := seedUser(t, s, "u2", "carol@example.com")
	must(t, s.UpdateUser(ctx(t), "u1", func(u store.User) (store.User, error) { u.LastName = "X"; return u, nil }), "UpdateUser")
	got, err = s.GetUser(ctx(t), "u2")
	must(t, err, "GetUser u2")
	checkEqual(t, "untouched user", got, other)
}

func testUpdateUserFnError(t *testing.T, s store.Store) {
	want := seedUser(t, s, "u1", "alice@example.com")
	err := s.UpdateUser(ctx(t), "u1", func(u store.User) (store.User, error) {
		u.FirstName = "should not be saved"
		return u, errBoom
	})
	if err != errBoom { //nolint:errorlint // the very same error must come back
		t.Errorf("UpdateUser returned %v, want fn's error unchanged", err)
	}
	got, err := s.GetUser(ctx(t), "u1")
	must(t, err, "GetUser")
	checkEqual(t, "user after failed fn", got, want)
}

var membershipTests = []subtest{
	{"CreateListRoundTrip", testMembershipRoundTrip},
	{"Duplicate", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "root")
		seedUser(t, s, "u1", "u1@example.com")
		m := store.Membership{UserID: "u1", OrganisationID: "root", Role: "owner", CreatedAt: base}
		must(t, s.CreateMembership(ctx(t), m), "CreateMembership")
		m.Role = "member"
		wantErr(t, s.CreateMembership(ctx(t), m), store.ErrAlreadyExists, "CreateMembership(duplicate)")
		got, err := s.ListMemberships(ctx(t), "u1")
		must(t, err, "ListMemberships")
		if len(got) != 1 || got[0].Role != "owner" {
			t.Errorf("after a refused duplicate, memberships = %+v, want the single owner one", got)
		}
	}},
	{"ListNone", func(t *testing.T, s store.Store) {
		seedUser(t, s, "u1", "u1@example.com")
		for _, id := range []string{"u1", "unknown"} {
			got, err := s.ListMemberships(ctx(t), id)
			must(t, err, "ListMemberships "+id)
			if len(got) != 0 {
				t.Errorf("ListMemberships(%s) = %+v, want none", id, got)
			}
		}
	}},
	{"Delete", testDeleteMembership},
	{"ListOrganisationMembers", testListOrganisationMembers},
}

func testMembershipRoundTrip(t *testing.T, s store.Store) {
	seedOrg(t, s, "root")
	must(t, s.CreateOrganisation(ctx(t), mkOrg("biz", "root", at(time.Minute))), "create biz")
	seedUser(t, s, "u1", "u1@example.com")
	seedUser(t, s, "u2", "u2@example.com")
	want := []store.Membership{
		{UserID: "u1", OrganisationID: "root", Role: "owner", IsDefault: true, CreatedAt: at(time.Hour)},
		{UserID: "u1", OrganisationID: "biz", Role: "admin", IsDefault: false, CreatedAt: at(2 * time.Hour)},
	}
	for _, m := range want {
		must(t, s.CreateMembership(ctx(t), m), "CreateMembership "+m.OrganisationID)
	}
	must(t, s.CreateMembership(ctx(t), store.Membership{UserID: "u2", OrganisationID: "biz", Role: "member", CreatedAt: base}), "CreateMembership u2")
	got, err := s.ListMemberships(ctx(t), "u1")
	must(t, err, "ListMemberships")
	byOrg := func(a, b store.Membership) int { return strings.Compare(a.OrganisationID, b.OrganisationID) }
	got = slices.Clone(got)
	slices.SortFunc(got, byOrg)
	want = slices.Clone(want)
	slices.SortFunc(want, byOrg)
	checkEqual(t, "memberships of u1", got, want)
	checkUTC(t, "memberships", got)
}

func testDeleteMembership(t *testing.T, s store.Store) {
	seedOrg(t, s, "root")
	seedUser(t, s, "u1", "u1@example.com")
	seedUser(t, s, "u2", "u2@example.com")
	for _, u := range []string{"u1", "u2"} {
		must(t, s.CreateMembership(ctx(t), store.Membership{UserID: u, OrganisationID: "root", Role: "member", CreatedAt: base}), "CreateMembership "+u)
	}
	must(t, s.DeleteMembership(ctx(t), "u1", "root"), "DeleteMembership")
	got, err := s.ListMemberships(ctx(t), "u1")
	must(t, err, "ListMemberships u1")
	if len(got) != 0 {
		t.Errorf("memberships of u1 after delete = %+v, want none", got)
	}
	got, err = s.ListMemberships(ctx(t), "u2")
	must(t, err, "ListMemberships u2")
	if len(got) != 1 {
		t.Errorf("memberships of u2 = %+v, want the one untouched", got)
	}
	wantErr(t, s.DeleteMembership(ctx(t), "u1", "root"), store.ErrNotFound, "DeleteMembership(again)")
	wantErr(t, s.DeleteMembership(ctx(t), "nobody", "nowhere"), store.ErrNotFound, "DeleteMembership(unknown)")
}

func testListUsers(t *testing.T, s store.Store) {
	got, err := s.ListUsers(ctx(t), store.Page{})
	must(t, err, "ListUsers(empty store)")
	if len(got) != 0 {
		t.Errorf("ListUsers on an empty store = %+v", got)
	}
	// Created out of order; u-b and u-a share a time and sort by id.
	var users []store.User
	for _, u := range []struct {
		id      string
		created time.Time
	}{{"u-late", at(3 * time.Hour)}, {"u-b", at(2 * time.Hour)}, {"u-a", at(2 * time.Hour)}, {"u-early", at(time.Hour)}, {"u-first", at(0)}} {
		user := mkUser(u.id, u.id+"@example.com")
		user.CreatedAt, user.UpdatedAt = u.created, u.created.Add(time.Minute)
		must(t, s.CreateUser(ctx(t), user), "CreateUser "+u.id)
		users = append(users, user)
	}
	all := []string{"u-first", "u-early", "u-a", "u-b", "u-late"}
	userID := func(u store.User) string { return u.ID }
	tests := []struct {
		name string
		page store.Page
		want []string
	}{
		{"all", store.Page{}, all},
		{"first page", store.Page{Size: 2}, all[:2]},
		{"second page", store.Page{Offset: 2, Size: 2}, all[2:4]},
		{"last page", store.Page{Offset: 4, Size: 2}, all[4:]},
		{"past the end", store.Page{Offset: 5, Size: 2}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListUsers(ctx(t), tc.page)
			must(t, err, "ListUsers")
			checkIDs(t, fmt.Sprintf("ListUsers(%+v)", tc.page), ids(got, userID), tc.want)
		})
	}
	got, err = s.ListUsers(ctx(t), store.Page{Offset: 2, Size: 1})
	must(t, err, "ListUsers")
	checkEqual(t, "listed user", got, []store.User{users[2]})
	checkUTC(t, "listed user", got)
}

func testListOrganisationMembers(t *testing.T, s store.Store) {
	seedOrg(t, s, "root")
	must(t, s.CreateOrganisation(ctx(t), mkOrg("biz", "root", at(time.Minute))), "create biz")
	for _, id := range []string{"u1", "u2", "u3", "u4"} {
		seedUser(t, s, id, id+"@example.com")
	}
	// Out of order; u3 and u2 share a time and sort by user id.
	ms := []store.Membership{
		{UserID: "u4", OrganisationID: "biz", Role: "member", CreatedAt: at(3 * time.Hour)},
		{UserID: "u3", OrganisationID: "biz", Role: "admin", IsDefault: true, CreatedAt: at(2 * time.Hour)},
		{UserID: "u2", OrganisationID: "biz", Role: "member", CreatedAt: at(2 * time.Hour)},
		{UserID: "u1", OrganisationID: "biz", Role: "owner", IsDefault: true, CreatedAt: at(time.Hour)},
		{UserID: "u1", OrganisationID: "root", Role: "owner", CreatedAt: at(0)},
	}
	for _, m := range ms {
		must(t, s.CreateMembership(ctx(t), m), "CreateMembership "+m.UserID+"/"+m.OrganisationID)
	}
	tests := []struct {
		name string
		org  string
		page store.Page
		want []store.Membership
	}{
		{"biz", "biz", store.Page{}, []store.Membership{ms[3], ms[2], ms[1], ms[0]}},
		{"root", "root", store.Page{}, []store.Membership{ms[4]}},
		{"unknown organisation", "nope", store.Page{}, nil},
		{"first page", "biz", store.Page{Size: 2}, []store.Membership{ms[3], ms[2]}},
		{"second page", "biz", store.Page{Offset: 2, Size: 2}, []store.Membership{ms[1], ms[0]}},
		{"past the end", "biz", store.Page{Offset: 4, Size: 2}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListOrganisationMembers(ctx(t), tc.org, tc.page)
			must(t, err, "ListOrganisationMembers")
			checkEqual(t, fmt.Sprintf("ListOrganisationMembers(%s, %+v)", tc.org, tc.page), got, tc.want)
			checkUTC(t, "members", got)
		})
	}
}
