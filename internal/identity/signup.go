package identity

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/authd/authd/internal/store"
)

// CheckSignUp checks an organisation sign-up below parentID (an API key's
// organisation) with the rules of CreateOrganisation and CreateUser: the
// organisation's name and type (fields "organisation.name",
// "organisation.type"; the type must be one that may be created below
// the parent) and its owner's email, password and names (fields
// "owner.…"; a sign-up names its owner, so both names are required). It
// returns both normalised (trimmed, the email in its normal form) and
// looks nothing up but the parent.
func (s *Service) CheckSignUp(ctx context.Context, parentID string, org NewOrganisation, owner NewUser) (NewOrganisation, NewUser, error) {
	if err := checkOrganisation(&org); err != nil {
		return NewOrganisation{}, NewUser{}, prefixField(err, "organisation.")
	}
	owner.Memberships = nil
	if err := s.checkUser(&owner); err != nil {
		return NewOrganisation{}, NewUser{}, prefixField(err, "owner.")
	}
	switch {
	case owner.FirstName == "":
		return NewOrganisation{}, NewUser{}, &ValidationError{Field: "owner.first_name", Message: "The owner's first name is required."}
	case owner.LastName == "":
		return NewOrganisation{}, NewUser{}, &ValidationError{Field: "owner.last_name", Message: "The owner's last name is required."}
	}
	if _, err := s.organisation(ctx, parentID); err != nil {
		return NewOrganisation{}, NewUser{}, err
	}
	org.ParentID = parentID
	return org, owner, nil
}

// prefixField names a ValidationError's field within an object of the
// input ("owner." + "email").
func prefixField(err error, prefix string) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return &ValidationError{Field: prefix + ve.Field, Message: ve.Message}
	}
	return err
}

// UserEmailTaken reports whether a back-office user has the email (in
// its normal form, NormaliseEmail).
func (s *Service) UserEmailTaken(ctx context.Context, email string) (bool, error) {
	_, err := s.st.GetUserByEmail(ctx, email)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, err
}

// SignUpOrganisation stores a signed-up organisation (checked by
// CheckSignUp, ParentID set) and its owner, whose password is already
// hashed, as the owner (role owner) of the new organisation (their default
// membership): all three in one transaction. An email that has an
// account (meanwhile) is ErrConflict, and nothing is stored.
func (s *Service) SignUpOrganisation(ctx context.Context, org NewOrganisation, owner NewUser, passwordHash string) (store.Organisation, store.User, error) {
	if org.ParentID == "" || passwordHash == "" {
		return store.Organisation{}, store.User{}, errors.New("identity: a sign-up needs its parent and the owner's password hash")
	}
	now := s.now().UTC()
	o := store.Organisation{ID: uuid.Must(uuid.NewV7()).String(), Name: org.Name, Type: org.Type, ParentID: org.ParentID, CreatedAt: now}
	u := store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: owner.Email, PasswordHash: passwordHash,
		FirstName: owner.FirstName, LastName: owner.LastName, CreatedAt: now, UpdatedAt: now}
	err := s.st.Tx(ctx, func(tx store.Store) error {
		if err := tx.CreateOrganisation(ctx, o); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.CreateMembership(ctx, store.Membership{UserID: u.ID, OrganisationID: o.ID, Role: RoleOwner, IsDefault: true, CreatedAt: now})
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.Organisation{}, store.User{}, ErrConflict
	}
	if err != nil {
		return store.Organisation{}, store.User{}, err
	}
	s.invalidate(ctx, u.ID)
	return o, u, nil
}
