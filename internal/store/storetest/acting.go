package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var actingTests = []subtest{
	{"ListActingOrganisations", testActing},
}

// testActing builds so ─ b1 (m1a, m1b) ─ …, so ─ b2 (m2a) and checks the
// pages, order (depth, name, id), totals and strongest roles of users with
// memberships at different places.
func testActing(t *testing.T, s store.Store) {
	c := ctx(t)
	org := func(id, name, parent string) {
		typ := store.OrgTypeMerchant
		switch parent {
		case "":
			typ = store.OrgTypeServiceOwner
		case "so":
			typ = store.OrgTypeBusiness
		}
		must(t, s.CreateOrganisation(c, store.Organisation{ID: id, Name: name, Type: typ, ParentID: parent, CreatedAt: base}), "create "+id)
	}
	org("so", "Root", "")
	org("b2", "Beta", "so")
	org("b1", "Alpha", "so")
	org("m1b", "Zed shop", "b1")
	org("m1a", "Acme shop", "b1")
	org("m2a", "Beta shop", "b2")
	org("k1", "Kiosk", "m1a")
	user := func(id string, ms ...[2]string) {
		must(t, s.CreateUser(c, mkUser(id, id+"@example.com")), "create user "+id)
		for _, m := range ms {
			must(t, s.CreateMembership(c, store.Membership{UserID: id, OrganisationID: m[0], Role: m[1], CreatedAt: base}), "membership")
		}
	}
	user("root-owner", [2]string{"so", "owner"})
	user("root-member", [2]string{"so", "member"}, [2]string{"b1", "admin"})
	user("b1-admin", [2]string{"b1", "admin"}, [2]string{"m1a", "owner"})
	user("nobody")

	names := func(as []store.ActingOrganisation) string {
		out := ""
		for _, a := range as {
			out += fmt.Sprintf("%s:%s ", a.ID, a.Role)
		}
		return out
	}
	for _, tc := range []struct {
		user  string
		page  store.Page
		want  string
		total int
	}{
		// Depth first, then name: Alpha (b1) before Beta (b2).
		{"root-owner", store.Page{Size: 50}, "so:owner b1:owner b2:owner m1a:owner m2a:owner m1b:owner k1:owner ", 7},
		{"root-owner", store.Page{Offset: 2, Size: 3}, "b2:owner m1a:owner m2a:owner ", 7},
		// A stronger membership below the root wins there and below.
		{"root-member", store.Page{Size: 50}, "so:member b1:admin b2:member m1a:admin m2a:member m1b:admin k1:admin ", 7},
		{"b1-admin", store.Page{Size: 50}, "b1:admin m1a:owner m1b:admin k1:owner ", 4},
		{"b1-admin", store.Page{Offset: 3, Size: 2}, "k1:owner ", 4},
		{"b1-admin", store.Page{Offset: 10, Size: 2}, "", 4},
		{"nobody", store.Page{Size: 50}, "", 0},
	} {
		got, total, err := s.ListActingOrganisations(c, tc.user, tc.page)
		must(t, err, "ListActingOrganisations "+tc.user)
		if names(got) != tc.want || total != tc.total {
			t.Errorf("%s %+v: got %q (total %d), want %q (total %d)", tc.user, tc.page, names(got), total, tc.want, tc.total)
		}
		for _, a := range got {
			if a.CreatedAt.IsZero() || a.CreatedAt.Location() != time.UTC {
				t.Errorf("%s: organisation %s without a UTC creation time", tc.user, a.ID)
			}
		}
	}
}
