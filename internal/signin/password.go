package signin

import (
	"context"

	"github.com/authd/authd/internal/store"
)

// AuthenticatePassword is the password grant's check: a client bound to a
// business signs that business's contacts in (mode from the client);
// other clients sign back-office users in.
func (s *Service) AuthenticatePassword(ctx context.Context, client store.Client, username, password string) (Principal, error) {
	if client.OrganisationID != "" {
		mode := client.Mode
		if mode == "" {
			mode = store.ModeLive
		}
		c, err := s.identity.AuthenticateContact(ctx, client.OrganisationID, mode, username, password)
		if err != nil {
			return Principal{}, err
		}
		p := ContactPrincipal(c)
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

// ContactPrincipal is what a contact's sign-in acts for: its business, in
// its mode.
func ContactPrincipal(c store.Contact) Principal {
	return Principal{Kind: store.KindContact, ID: c.ID, Org: c.BusinessID, Mode: c.Mode}
}
