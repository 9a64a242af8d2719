package storetest

import (
	"testing"

	"github.com/authd/authd/internal/store"
)

// An organisation signed up with its owner: the organisation, the user
// and the membership are stored in one transaction (identity's
// SignUpOrganisation), and an owner email that is taken, in any case,
// keeps none of them.
var signupTests = []subtest{
	{"OrganisationOwnerCommit", testSignUpCommit},
	{"TakenEmailKeepsNothing", testSignUpTakenEmail},
}

// signUp stores o, u and u's admin membership of o in one transaction.
func signUp(t *testing.T, s store.Store, o store.Organisation, u store.User) error {
	return s.Tx(ctx(t), func(tx store.Store) error {
		if err := tx.CreateOrganisation(ctx(t), o); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx(t), u); err != nil {
			return err
		}
		return tx.CreateMembership(ctx(t), store.Membership{UserID: u.ID, OrganisationID: o.ID, Role: "owner", IsDefault: true, CreatedAt: base})
	})
}

func testSignUpCommit(t *testing.T, s store.Store) {
	seedOrg(t, s, "so")
	parent := mkOrg("biz", "so", base)
	must(t, s.CreateOrganisation(ctx(t), parent), "CreateOrganisation(biz)")
	o := mkOrg("shop", "biz", at(1))
	o.Type = store.OrgTypeMerchant
	must(t, signUp(t, s, o, mkUser("owner", "owner@shop.example")), "sign-up")
	got, err := s.GetOrganisation(ctx(t), "shop")
	must(t, err, "GetOrganisation")
	if got.ParentID != "biz" || got.Type != store.OrgTypeMerchant {
		t.Fatalf("organisation %+v", got)
	}
	u, err := s.GetUserByEmail(ctx(t), "owner@shop.example")
	must(t, err, "GetUserByEmail")
	ms, err := s.ListMemberships(ctx(t), u.ID)
	must(t, err, "ListMemberships")
	if len(ms) != 1 || ms[0].OrganisationID != "shop" || ms[0].Role != "owner" || !ms[0].IsDefault {
		t.Fatalf("memberships %+v", ms)
	}
}

func testSignUpTakenEmail(t *testing.T, s store.Store) {
	seedOrg(t, s, "so")
	seedUser(t, s, "existing", "owner@shop.example")
	o := mkOrg("shop", "so", at(1))
	err := signUp(t, s, o, mkUser("owner", "Owner@Shop.Example"))
	wantErr(t, err, store.ErrAlreadyExists, "sign-up with a taken email")
	_, err = s.GetOrganisation(ctx(t), "shop")
	wantErr(t, err, store.ErrNotFound, "GetOrganisation after the refused sign-up")
	_, err = s.GetUser(ctx(t), "owner")
	wantErr(t, err, store.ErrNotFound, "GetUser after the refused sign-up")
	kids, err := s.ListOrganisations(ctx(t), "so", store.Page{Size: 10})
	must(t, err, "ListOrganisations")
	if len(kids) != 0 {
		t.Fatalf("organisations after the refused sign-up: %+v", kids)
	}
	// Nothing is left to collide with: the organisation can be created.
	must(t, s.CreateOrganisation(ctx(t), o), "CreateOrganisation after the refused sign-up")
}
