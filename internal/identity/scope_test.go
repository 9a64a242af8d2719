package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/store"
)

// tree is a small network: so ─ bizA ─ merchM, and so ─ bizB; owner holds
// the service owner (and so every organisation), adminA is an admin of
// bizA, member a member of merchM.
type tree struct {
	s                     *identity.Service
	st                    store.Store
	so, bizA, merchM, bB  string
	owner, adminA, member string
}

func newTree(t *testing.T) *tree {
	t.Helper()
	s, st := newService(t)
	ctx := context.Background()
	tr := &tree{s: s, st: st, so: "so", bizA: "biz-a", merchM: "merch-m", bB: "biz-b", owner: "owner", adminA: "admin-a", member: "member"}
	now := time.Now().UTC()
	for _, o := range []store.Organisation{
		{ID: tr.so, Name: "SO", Type: store.OrgTypeServiceOwner},
		{ID: tr.bizA, Name: "A", Type: store.OrgTypeBusiness, ParentID: tr.so},
		{ID: tr.merchM, Name: "M", Type: store.OrgTypeMerchant, ParentID: tr.bizA},
		{ID: tr.bB, Name: "B", Type: store.OrgTypeBusiness, ParentID: tr.so},
	} {
		o.CreatedAt = now
		if err := st.CreateOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct{ id, org, role string }{{tr.owner, tr.so, identity.RoleOwner}, {tr.adminA, tr.bizA, identity.RoleAdmin}, {tr.member, tr.merchM, identity.RoleMember}} {
		if err := st.CreateUser(ctx, store.User{ID: u.id, Email: u.id + "@example.com", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateMembership(ctx, store.Membership{UserID: u.id, OrganisationID: u.org, Role: u.role, IsDefault: true, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// TestTokenScope: an actor whose token acts for merchant M (a service
// owner's token switched down) reads and writes M and below only: every
// back-office read and write naming an organisation above M, beside it or
// unknown is ErrOutsideScope, though the user holds rights there; with a
// token acting for the service owner the same calls succeed.
func TestTokenScope(t *testing.T) {
	tr := newTree(t)
	ctx := context.Background()
	page := store.Page{Size: 10}
	calls := []struct {
		name string
		call func(a identity.Actor, org string) error
	}{
		{"Organisation", func(a identity.Actor, org string) error { _, _, err := tr.s.Organisation(ctx, a, org); return err }},
		{"Children", func(a identity.Actor, org string) error { _, err := tr.s.Children(ctx, a, org, page); return err }},
		{"Members", func(a identity.Actor, org string) error { _, err := tr.s.Members(ctx, a, org, page); return err }},
		{"CreateOrganisation", func(a identity.Actor, org string) error {
			_, err := tr.s.CreateOrganisation(ctx, a, identity.NewOrganisation{Name: "Shop", Type: "shop", ParentID: org})
			return err
		}},
		{"CreateUser", func(a identity.Actor, org string) error {
			_, err := tr.s.CreateUser(ctx, a, identity.NewUser{Email: "new-" + org + "@example.com", Password: "a-long-enough-password",
				Memberships: []store.Membership{{OrganisationID: org, Role: identity.RoleMember}}})
			return err
		}},
		{"AddMembership", func(a identity.Actor, org string) error {
			return tr.s.AddMembership(ctx, a, store.Membership{UserID: tr.member, OrganisationID: org, Role: identity.RoleMember})
		}},
		{"RemoveMembership", func(a identity.Actor, org string) error { return tr.s.RemoveMembership(ctx, a, tr.member, org) }},
	}
	inM := identity.Actor{UserID: tr.owner, Org: tr.merchM}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			for _, org := range []string{tr.so, tr.bizA, tr.bB, "no-such-org"} {
				if err := c.call(inM, org); !errors.Is(err, identity.ErrOutsideScope) {
					t.Errorf("token acting for M, %s: %v, want ErrOutsideScope", org, err)
				}
			}
			if err := c.call(identity.Actor{UserID: tr.owner}, tr.merchM); !errors.Is(err, identity.ErrOutsideScope) {
				t.Errorf("actor without an organisation: %v, want ErrOutsideScope", err)
			}
		})
	}
	// Within M the switched token acts; acting for the service owner, the
	// same user reaches above M too.
	if _, _, err := tr.s.Organisation(ctx, inM, tr.merchM); err != nil {
		t.Fatalf("token acting for M reads M: %v", err)
	}
	if ms, err := tr.s.Members(ctx, inM, tr.merchM, page); err != nil || len(ms) != 1 || ms[0].UserID != tr.member {
		t.Fatalf("token acting for M lists M's members: %v, %v", ms, err)
	}
	if _, err := tr.s.CreateOrganisation(ctx, inM, identity.NewOrganisation{Name: "Shop", Type: "shop", ParentID: tr.merchM}); err != nil {
		t.Fatalf("token acting for M creates below M: %v", err)
	}
	asSO := identity.Actor{UserID: tr.owner, Org: tr.so}
	if ms, err := tr.s.Members(ctx, asSO, tr.so, page); err != nil || len(ms) != 1 || ms[0].UserID != tr.owner {
		t.Fatalf("token acting for the service owner lists its members: %v, %v", ms, err)
	}
	if kids, err := tr.s.Children(ctx, asSO, tr.bizA, page); err != nil || len(kids) != 1 || kids[0].ID != tr.merchM {
		t.Fatalf("token acting for the service owner lists A's children: %v, %v", kids, err)
	}
	if err := tr.s.AddMembership(ctx, asSO, store.Membership{UserID: tr.member, OrganisationID: tr.bizA, Role: identity.RoleMember}); err != nil {
		t.Fatalf("token acting for the service owner adds a membership of A: %v", err)
	}
	if err := tr.s.RemoveMembership(ctx, asSO, tr.member, tr.bizA); err != nil {
		t.Fatalf("token acting for the service owner removes it: %v", err)
	}
	// Audit events: the token's organisation and what lies below it.
	root, err := tr.s.AuditScope(ctx, inM)
	if err != nil || root != tr.merchM {
		t.Fatalf("audit scope of a token acting for M: %v, %v", root, err)
	}
	// A user with a membership above M is refused to the switched token
	// like any user beyond its reach; acting for the service owner, the
	// same user disables them.
	if err := tr.s.DisableUser(ctx, inM, tr.adminA); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("token acting for M disables an admin of A: %v, want ErrForbidden", err)
	}
	if err := tr.s.DisableUser(ctx, asSO, tr.adminA); err != nil {
		t.Fatalf("token acting for the service owner disables an admin of A: %v", err)
	}
}
