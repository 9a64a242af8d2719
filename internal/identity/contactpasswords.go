package identity

import (
	"context"
	"errors"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/store"
)

// passwordIdentity returns the contact's EMAIL identity that holds a
// password (ErrNotFound when it has none).
func (s *Service) passwordIdentity(ctx context.Context, businessID string, mode store.Mode, contactID string) (store.Identity, error) {
	ids, err := s.st.ListIdentities(ctx, businessID, mode, contactID)
	if err != nil {
		return store.Identity{}, err
	}
	for _, id := range ids {
		if id.Provider == store.ProviderEmail && id.PasswordHash != "" {
			return id, nil
		}
	}
	return store.Identity{}, store.ErrNotFound
}

// VerifyContactPassword checks the password of a signed-in contact (to
// change it, or to erase the contact), with the same limits as sign-in. A
// wrong password is ErrInvalidCredentials; a contact without a password
// is a ValidationError on field.
func (s *Service) VerifyContactPassword(ctx context.Context, businessID string, mode store.Mode, contactID, pw, field string) error {
	id, err := s.passwordIdentity(ctx, businessID, mode, contactID)
	if errors.Is(err, store.ErrNotFound) {
		return &ValidationError{Field: field, Message: "This contact has no password; prove it with a one-time code, or set one with a password reset."}
	}
	if err != nil {
		return err
	}
	if err := s.CheckPasswordRate(ctx, "contact:"+businessID+":"+string(mode)+":"+id.Subject); err != nil {
		return err
	}
	if _, err := s.hasher.Verify(pw, id.PasswordHash); err != nil {
		s.audit.Record(ctx, store.AuditEvent{Action: audit.ContactSignInFailed, ActorKind: store.KindContact, ActorID: contactID,
			OrganisationID: businessID, TargetKind: store.KindContact, TargetID: contactID,
			Details: map[string]string{"reason": "wrong_password", "mode": string(mode)}})
		return ErrInvalidCredentials
	}
	return nil
}

// ChangeContactPassword replaces a signed-in contact's password after
// checking the current one.
func (s *Service) ChangeContactPassword(ctx context.Context, businessID string, mode store.Mode, contactID, current, next string) error {
	if err := s.CheckPassword(next); err != nil { // before any work: the field is password
		return err
	}
	if err := s.VerifyContactPassword(ctx, businessID, mode, contactID, current, "current_password"); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(next)
	if err != nil {
		return err
	}
	id, err := s.passwordIdentity(ctx, businessID, mode, contactID)
	if err != nil {
		return err
	}
	return s.setContactPassword(ctx, id, hash, audit.PasswordChanged)
}

// ResetContactPassword sets the password of the contact's EMAIL identity
// subject (proven by a one-time code sent to it) to the already hashed
// hash (HashPassword). The identity must be the contact's.
func (s *Service) ResetContactPassword(ctx context.Context, businessID string, mode store.Mode, contactID, subject, hash string) error {
	id, err := s.st.GetIdentity(ctx, businessID, mode, store.ProviderEmail, subject)
	if err != nil {
		return err
	}
	if id.ContactID != contactID {
		return store.ErrNotFound
	}
	return s.setContactPassword(ctx, id, hash, audit.PasswordReset)
}

func (s *Service) setContactPassword(ctx context.Context, id store.Identity, hash, action string) error {
	err := s.st.UpdateIdentity(ctx, id.BusinessID, id.Mode, id.Provider, id.Subject, func(old store.Identity) (store.Identity, error) {
		if old.ContactID != id.ContactID {
			return old, store.ErrNotFound
		}
		old.PasswordHash = hash
		return old, nil
	})
	if err != nil {
		return err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: action, Success: true, ActorKind: store.KindContact, ActorID: id.ContactID,
		OrganisationID: id.BusinessID, TargetKind: store.KindContact, TargetID: id.ContactID, Details: map[string]string{"mode": string(id.Mode)}})
	return nil
}
