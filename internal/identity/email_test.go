package identity_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/store"
)

const lookalikePassword = "a-long-enough-password"

// TestLookalikeUsers: a back-office user's email is stored in its normal
// form, so its fullwidth spelling is the same account (creating it again
// is a conflict; signing in with it signs that user in), and spellings
// that would only display like it (an invisible character, a letter of
// another script) are refused, never a second account.
func TestLookalikeUsers(t *testing.T) {
	tr := newTree(t)
	ctx := context.Background()
	asSO := identity.Actor{UserID: tr.owner, Org: tr.so}
	create := func(email, first string) (store.User, error) {
		return tr.s.CreateUser(ctx, asSO, identity.NewUser{Email: email, Password: lookalikePassword, FirstName: first,
			Memberships: []store.Membership{{OrganisationID: tr.bizA, Role: identity.RoleMember}}})
	}
	u, err := create("Zed@Example.com", "Zed")
	if err != nil || u.Email != "zed@example.com" {
		t.Fatalf("create: %+v, %v", u, err)
	}
	if _, err := create("ｚｅｄ@ｅｘａｍｐｌｅ．ｃｏｍ", "Zed"); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("the fullwidth spelling of a taken email: %v, want ErrConflict", err)
	}
	for _, email := range []string{"z\u200bed@example.com", "ze\u00add@example.com", "z\u0435d@example.com", "zed@\u0435xample.com", "zed\ufeff@example.com"} {
		_, err := create(email, "Zed")
		var ve *identity.ValidationError
		if !errors.As(err, &ve) || ve.Field != "email" {
			t.Errorf("create %q: %v, want a validation error on email", email, err)
		}
	}
	for _, name := range []struct{ field, first, last string }{{"first_name", "Z\u200bed", ""}, {"last_name", "Zed", "Ng\u202e"}} {
		_, err := tr.s.CreateUser(ctx, asSO, identity.NewUser{Email: "other@example.com", Password: lookalikePassword,
			FirstName: name.first, LastName: name.last, Memberships: []store.Membership{{OrganisationID: tr.bizA, Role: identity.RoleMember}}})
		var ve *identity.ValidationError
		if !errors.As(err, &ve) || ve.Field != name.field {
			t.Errorf("create with %s %q%q: %v, want a validation error on %s", name.field, name.first, name.last, err, name.field)
		}
	}

	// Sign-in: the fullwidth spelling is the same user; look-alikes are
	// refused as input; a malformed username is just an unknown account.
	for _, email := range []string{"zed@example.com", " ZED@example.com", "ｚｅｄ@ｅｘａｍｐｌｅ．ｃｏｍ"} {
		got, err := tr.s.AuthenticateUser(ctx, email, lookalikePassword)
		if err != nil || got.ID != u.ID {
			t.Errorf("sign in as %q: %+v, %v; want user %s", email, got, err, u.ID)
		}
	}
	for _, email := range []string{"z\u200bed@example.com", "z\u0435d@example.com"} {
		_, err := tr.s.AuthenticateUser(ctx, email, lookalikePassword)
		var ve *identity.ValidationError
		if !errors.As(err, &ve) || ve.Field != "username" {
			t.Errorf("sign in as %q: %v, want a validation error on username", email, err)
		}
	}
	if _, err := tr.s.AuthenticateUser(ctx, "zed", lookalikePassword); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Errorf("sign in with a malformed username: %v, want ErrInvalidCredentials", err)
	}
}

// TestLookalikeContacts: a contact's email is normalised like a user's,
// and its names, title and code refuse invisible characters.
func TestLookalikeContacts(t *testing.T) {
	tr := newTree(t)
	s, biz := tr.s, tr.bizA
	ctx := context.Background()
	c, err := s.BuildContact(biz, store.ModeLive, identity.ContactInput{FirstName: "Bea", Email: "ｂｅａ@Example.com", Code: "CRM-9"})
	if err != nil || c.Email != "bea@example.com" {
		t.Fatalf("build: %+v, %v", c, err)
	}
	if err := s.CreateContact(ctx, c, store.KindUser, "u"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		in    identity.ContactInput
	}{
		{"email", identity.ContactInput{Email: "be\u00ada@example.com"}},
		{"email", identity.ContactInput{Email: "b\u0435a@example.com"}},
		{"first_name", identity.ContactInput{FirstName: "Be\u200ba"}},
		{"last_name", identity.ContactInput{LastName: "\u2066Ng"}},
		{"title", identity.ContactInput{Title: "Dr\u00ad"}},
		{"code", identity.ContactInput{Code: "CRM\u200b-9"}},
	} {
		_, err := s.BuildContact(biz, store.ModeLive, tc.in)
		var ve *identity.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%+v: %v, want a validation error on %s", tc.in, err, tc.field)
		}
	}

	// Password sign-in looks the normal form up.
	hash, err := s.HashPassword(lookalikePassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AttachIdentity(ctx, store.Identity{BusinessID: biz, Mode: store.ModeLive, ContactID: c.ID,
		Provider: store.ProviderEmail, Subject: c.Email, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	got, err := s.AuthenticateContact(ctx, biz, store.ModeLive, "ＢＥＡ@example.com", lookalikePassword)
	if err != nil || got.ID != c.ID {
		t.Fatalf("fullwidth sign-in: %+v, %v", got, err)
	}
	_, err = s.AuthenticateContact(ctx, biz, store.ModeLive, "be\u200ba@example.com", lookalikePassword)
	var ve *identity.ValidationError
	if !errors.As(err, &ve) || ve.Field != "email" {
		t.Fatalf("zero-width sign-in: %v, want a validation error on email", err)
	}
}

// TestOrganisationNames: an organisation's name holds no invisible
// character.
func TestOrganisationNames(t *testing.T) {
	tr := newTree(t)
	_, err := tr.s.CreateOrganisation(context.Background(), identity.Actor{UserID: tr.owner, Org: tr.so},
		identity.NewOrganisation{Name: "Shop\u200b", Type: "shop", ParentID: tr.merchM})
	var ve *identity.ValidationError
	if !errors.As(err, &ve) || ve.Field != "name" {
		t.Fatalf("%v, want a validation error on name", err)
	}
}
