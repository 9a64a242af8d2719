package identity

import (
	"context"
	"errors"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/store"
)

// ServiceOwner returns the root organisation of the network (the service
// owner's), which back-office users' own one-time codes are issued under.
func (s *Service) ServiceOwner(ctx context.Context) (store.Organisation, error) {
	roots, err := s.st.ListOrganisations(ctx, "", store.Page{Size: 1})
	if err != nil {
		return store.Organisation{}, err
	}
	if len(roots) == 0 {
		return store.Organisation{}, store.ErrNotFound
	}
	return roots[0], nil
}

// UserToReset returns the normal form of email and the enabled user who
// signs in with it, for a password reset; ErrNotFound (with the email)
// for no such user or a disabled one. A look-alike spelling of an email
// is a ValidationError on field email.
func (s *Service) UserToReset(ctx context.Context, email string) (string, store.User, error) {
	e, err := signInEmail(email, "email")
	if err != nil {
		return "", store.User{}, err
	}
	u, err := s.st.GetUserByEmail(ctx, e)
	if err == nil && u.Disabled {
		err = store.ErrNotFound
	}
	return e, u, err
}

// VerifyUserPassword checks the password of a signed-in user (to change
// it), with the limits of sign-in: a wrong one is ErrInvalidCredentials,
// and is recorded like a failed sign-in.
func (s *Service) VerifyUserPassword(ctx context.Context, userID, pw string) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.CheckPasswordRate(ctx, "user:"+u.Email); err != nil {
		return err
	}
	if _, err := s.hasher.Verify(pw, u.PasswordHash); err != nil || u.Disabled {
		s.audit.Record(ctx, store.AuditEvent{Action: audit.UserSignInFailed, ActorKind: store.KindUser, ActorID: u.ID,
			OrganisationID: s.userOrg(ctx, u.ID), TargetKind: store.KindUser, TargetID: u.ID,
			Details: map[string]string{"reason": "wrong_password"}})
		return ErrInvalidCredentials
	}
	return nil
}

// ChangeUserPassword replaces a signed-in user's password after checking
// the current one (field current_password).
func (s *Service) ChangeUserPassword(ctx context.Context, userID, current, next string) error {
	if err := s.CheckPassword(next); err != nil { // before any work: the field is password
		return err
	}
	if err := s.VerifyUserPassword(ctx, userID, current); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(next)
	if err != nil {
		return err
	}
	return s.setUserPassword(ctx, userID, "", hash, audit.PasswordChanged)
}

// ResetUserPassword sets the password of the user whose email a one-time
// code proved to hash (HashPassword). The user must still have that
// email and be enabled: ErrNotFound otherwise.
func (s *Service) ResetUserPassword(ctx context.Context, userID, email, hash string) error {
	return s.setUserPassword(ctx, userID, email, hash, audit.PasswordReset)
}

func (s *Service) setUserPassword(ctx context.Context, userID, email, hash, action string) error {
	err := s.st.UpdateUser(ctx, userID, func(u store.User) (store.User, error) {
		if email != "" && (u.Email != email || u.Disabled) {
			return u, store.ErrNotFound
		}
		u.PasswordHash = hash
		return u, nil
	})
	if err != nil {
		return err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: action, Success: true, ActorKind: store.KindUser, ActorID: userID,
		OrganisationID: s.userOrg(ctx, userID), TargetKind: store.KindUser, TargetID: userID})
	return nil
}

// userOrg is the organisation a user's own events are filed under: their
// default membership's, so its admins see them (empty when none).
func (s *Service) userOrg(ctx context.Context, userID string) string {
	m, err := s.DefaultMembership(ctx, userID)
	if err != nil {
		return ""
	}
	return m.OrganisationID
}

// CanManageUser reports (nil) whether the actor may manage userID: its
// sessions, its account. The user themself always may; anyone else must
// be an admin over every organisation the user belongs to (manageable),
// else ErrForbidden, the same for an unknown user.
func (s *Service) CanManageUser(ctx context.Context, a Actor, userID string) error {
	if a.UserID == userID {
		return nil
	}
	_, err := s.manageable(ctx, a, userID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrForbidden
	}
	return err
}
