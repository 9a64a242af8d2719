package signin

import (
	"context"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/store"
)

// ContactPasswordAuthenticator signs contacts in with email and password
// (provided by the contact service).
type ContactPasswordAuthenticator interface {
	AuthenticateContactPassword(ctx context.Context, businessID string, mode store.Mode, email, password string) (Principal, error)
}

// SetContactPasswords plugs in contact password sign-in.
func (s *Service) SetContactPasswords(c ContactPasswordAuthenticator) { s.contactPw = c }

// AuthenticatePassword is the password grant's check: a client bound to a
// business signs that business's contacts in (mode from the client);
// other clients sign back-office users in.
func (s *Service) AuthenticatePassword(ctx context.Context, client store.Client, username, password string) (Principal, error) {
	if client.OrganisationID != "" {
		if s.contactPw == nil {
			return Principal{}, identity.ErrInvalidCredentials
		}
		mode := client.Mode
		if mode == "" {
			mode = store.ModeLive
		}
		p, err := s.contactPw.AuthenticateContactPassword(ctx, client.OrganisationID, mode, username, password)
		if err != nil {
			return Principal{}, err
		}
		s.SignedIn(ctx, p, "password")
		return p, nil
	}
	u, err := s.identity.AuthenticateUser(ctx, username, password)
	if err != nil {
		return Principal{}, err
	}
	p, err := s.UserPrincipal(ctx, u.ID)
	if err != nil {
		return Principal{}, err
	}
	s.SignedIn(ctx, p, "password")
	return p, nil
}
