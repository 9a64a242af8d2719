package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/store"
)

// TestSignUpChecks: a sign-up follows the rules of CreateOrganisation and
// CreateUser, naming the fields within the organisation and the owner.
func TestSignUpChecks(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	if err := st.CreateOrganisation(ctx, store.Organisation{ID: "so", Name: "SO", Type: store.OrgTypeServiceOwner}); err != nil {
		t.Fatal(err)
	}
	org := func(name, typ string) identity.NewOrganisation {
		return identity.NewOrganisation{Name: name, Type: typ}
	}
	owner := identity.NewUser{Email: " Ada@Example.COM ", Password: "a-long-secret-phrase", FirstName: "Ada", LastName: "Lovelace"}
	with := func(f func(*identity.NewUser)) identity.NewUser { u := owner; f(&u); return u }
	for _, tc := range []struct {
		name   string
		parent string
		org    identity.NewOrganisation
		owner  identity.NewUser
		field  string
	}{
		{"empty name", "so", org(" ", "business"), owner, "organisation.name"},
		{"long name", "so", org(strings.Repeat("n", 201), "business"), owner, "organisation.name"},
		{"invisible character in the name", "so", org("Shop\u200b", "business"), owner, "organisation.name"},
		{"bad type", "so", org("Shop", "Business"), owner, "organisation.type"},
		{"service owner", "so", org("Shop", "service_owner"), owner, "organisation.type"},
		{"bad email", "so", org("Shop", "business"), with(func(u *identity.NewUser) { u.Email = "nope" }), "owner.email"},
		{"common password", "so", org("Shop", "business"), with(func(u *identity.NewUser) { u.Password = "password1234" }), "owner.password"},
		{"no first name", "so", org("Shop", "business"), with(func(u *identity.NewUser) { u.FirstName = "" }), "owner.first_name"},
		{"long last name", "so", org("Shop", "business"), with(func(u *identity.NewUser) { u.LastName = strings.Repeat("l", 101) }), "owner.last_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.CheckSignUp(ctx, tc.parent, tc.org, tc.owner)
			var ve *identity.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("got %v, want a validation error on %s", err, tc.field)
			}
		})
	}
	if _, _, err := s.CheckSignUp(ctx, "gone", org("Shop", "business"), owner); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown parent: %v", err)
	}
	o, u, err := s.CheckSignUp(ctx, "so", org("  Shop ", "business"), owner)
	if err != nil || o.Name != "Shop" || o.ParentID != "so" || u.Email != "ada@example.com" {
		t.Fatalf("normalised: %+v %+v %v", o, u, err)
	}

	// Stored in one go; a second owner with the email is a conflict that
	// keeps nothing.
	hash, err := s.HashPassword(u.Password)
	if err != nil {
		t.Fatal(err)
	}
	made, owner1, err := s.SignUpOrganisation(ctx, o, u, hash)
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.RoleIn(ctx, owner1.ID, made.ID)
	if err != nil || g.Role != identity.RoleOwner {
		t.Fatalf("owner's role: %+v %v", g, err)
	}
	if taken, err := s.UserEmailTaken(ctx, "ada@example.com"); err != nil || !taken {
		t.Fatalf("UserEmailTaken: %v %v", taken, err)
	}
	o.Name = "Second"
	if _, _, err := s.SignUpOrganisation(ctx, o, u, hash); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("taken email: %v", err)
	}
	kids, err := st.ListOrganisations(ctx, "so", store.Page{Size: 10})
	if err != nil || len(kids) != 1 || kids[0].Name != "Shop" {
		t.Fatalf("organisations: %+v %v", kids, err)
	}
}
