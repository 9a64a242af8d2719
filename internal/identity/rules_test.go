package identity_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/store"
)

// TestAuthorizationRules is the decision table of the back office: who
// (role, where the membership is), acting for which organisation (the
// token's: its home, or switched down), may do what to which organisation
// (own, below, above, beside). Each row names its rule, so a broken rule
// fails a named case.
func TestAuthorizationRules(t *testing.T) {
	tr := newTree(t)
	ctx := context.Background()
	page := store.Page{Size: 10}
	read := func(a identity.Actor, org string) error { _, _, err := tr.s.Organisation(ctx, a, org); return err }
	children := func(a identity.Actor, org string) error { _, err := tr.s.Children(ctx, a, org, page); return err }
	members := func(a identity.Actor, org string) error { _, err := tr.s.MemberUsers(ctx, a, org, page); return err }
	create := func(a identity.Actor, org string) error {
		_, err := tr.s.CreateOrganisation(ctx, a, identity.NewOrganisation{Name: "Shop", Type: "shop", ParentID: org})
		return err
	}
	audit := func(a identity.Actor, _ string) error { _, err := tr.s.AuditEvents(ctx, a, "", page); return err }
	act := func(user, org string) identity.Actor { return identity.Actor{UserID: user, Org: org} }

	for _, tc := range []struct {
		rule   string
		op     func(identity.Actor, string) error
		actor  identity.Actor
		target string
		want   error
	}{
		// Reading: any role in the organisation or above it, within the token's scope.
		{"service-owner owner reads a business", read, act(tr.owner, tr.so), tr.bizA, nil},
		{"service-owner owner reads another business", read, act(tr.owner, tr.so), tr.bB, nil},
		{"business admin reads her merchant", read, act(tr.adminA, tr.bizA), tr.merchM, nil},
		{"business admin cannot read another business", read, act(tr.adminA, tr.bizA), tr.bB, identity.ErrOutsideScope},
		{"business admin cannot read the service owner", read, act(tr.adminA, tr.bizA), tr.so, identity.ErrOutsideScope},
		{"merchant member reads his merchant", read, act(tr.member, tr.merchM), tr.merchM, nil},
		{"merchant member cannot read his business", read, act(tr.member, tr.merchM), tr.bizA, identity.ErrOutsideScope},
		{"a token for an organisation the user has no role in reads nothing", read, act(tr.member, tr.bB), tr.bB, identity.ErrForbidden},
		// Masquerade: a switched token acts within the organisation it acts for only.
		{"owner switched to a merchant reads it", read, act(tr.owner, tr.merchM), tr.merchM, nil},
		{"owner switched to a merchant cannot read above it", read, act(tr.owner, tr.merchM), tr.bizA, identity.ErrOutsideScope},
		{"owner switched to a merchant cannot read beside it", read, act(tr.owner, tr.merchM), tr.bB, identity.ErrOutsideScope},
		{"owner switched to a merchant cannot list the service owner's children", children, act(tr.owner, tr.merchM), tr.so, identity.ErrOutsideScope},
		// Managing: admin or owner.
		{"business admin lists her merchant's members", members, act(tr.adminA, tr.bizA), tr.merchM, nil},
		{"merchant member cannot list members", members, act(tr.member, tr.merchM), tr.merchM, identity.ErrForbidden},
		{"business admin creates below her merchant", create, act(tr.adminA, tr.bizA), tr.merchM, nil},
		{"merchant member cannot create organisations", create, act(tr.member, tr.merchM), tr.merchM, identity.ErrForbidden},
		{"owner switched to a merchant cannot create beside it", create, act(tr.owner, tr.merchM), tr.bB, identity.ErrOutsideScope},
		// The audit trail: admins and owners of the organisation acted for.
		{"business admin reads her audit trail", audit, act(tr.adminA, tr.bizA), "", nil},
		{"merchant member cannot read the audit trail", audit, act(tr.member, tr.merchM), "", identity.ErrForbidden},
		{"owner switched to a merchant reads the merchant's trail", audit, act(tr.owner, tr.merchM), "", nil},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			err := tc.op(tc.actor, tc.target)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestContactTenantRules: contacts belong to a business; a key or token
// must act for a business itself, and a user must hold a role there.
func TestContactTenantRules(t *testing.T) {
	tr := newTree(t)
	ctx := context.Background()
	for _, tc := range []struct {
		rule    string
		caller  identity.ContactCaller
		want    error
		wantBiz string
		kind    string
	}{
		{"business admin's token", identity.ContactCaller{UserID: tr.adminA, Org: tr.bizA, Mode: store.ModeLive}, nil, tr.bizA, store.KindUser},
		{"the business's secret key", identity.ContactCaller{KeyID: "k1", Org: tr.bizA, Mode: store.ModeTest}, nil, tr.bizA, store.KindAPIKey},
		{"a token acting for a merchant", identity.ContactCaller{UserID: tr.adminA, Org: tr.merchM, Mode: store.ModeLive}, identity.ErrNoBusiness, "", ""},
		{"a merchant's secret key", identity.ContactCaller{KeyID: "k2", Org: tr.merchM, Mode: store.ModeLive}, identity.ErrNoBusiness, "", ""},
		{"the service owner's token", identity.ContactCaller{UserID: tr.owner, Org: tr.so, Mode: store.ModeLive}, identity.ErrNoBusiness, "", ""},
		{"a token for a business the user has no role in", identity.ContactCaller{UserID: tr.adminA, Org: tr.bB, Mode: store.ModeLive}, identity.ErrForbidden, "", ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			biz, mode, kind, _, err := tr.s.ContactTenant(ctx, tc.caller)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil || biz != tc.wantBiz || mode != tc.caller.Mode || kind != tc.kind {
				t.Fatalf("got %s %s %s %v", biz, mode, kind, err)
			}
		})
	}
}
