package selfservice

import (
	"context"
	"errors"
	"strings"

	"github.com/authd/authd/internal/ident"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/upstream/facebook"
)

var (
	// ErrInvalidFacebookToken: Facebook does not vouch for the token (other
	// app, expired, revoked, forged).
	ErrInvalidFacebookToken = errors.New("selfservice: invalid Facebook token")
	// ErrFacebookUnavailable: Facebook could not be asked; nothing changed.
	ErrFacebookUnavailable = errors.New("selfservice: Facebook unavailable")
	// ErrContactNotFound: no contact has this Facebook identity and the
	// business does not register contacts automatically.
	ErrContactNotFound = errors.New("selfservice: contact not found")
	// ErrFacebookNotConfigured: no Facebook app is configured.
	ErrFacebookNotConfigured = errors.New("selfservice: Facebook sign-in is not configured")
)

// FacebookVerifier checks Facebook tokens with Facebook.
type FacebookVerifier interface {
	VerifyAccessToken(ctx context.Context, token string) (facebook.Profile, error)
	VerifyIDToken(ctx context.Context, idToken, nonce string) (facebook.Profile, error)
}

// Facebook token types.
const (
	FacebookAccessToken = "access_token"
	FacebookIDToken     = "id_token"
)

// EnableFacebook plugs in Facebook sign-in.
func (s *Service) EnableFacebook(v FacebookVerifier, autoRegister bool) {
	s.fb, s.fbAutoRegister = v, autoRegister
}

// FacebookTokenType guesses the kind of a Facebook token: Limited Login id
// tokens are JWTs, Graph access tokens are not.
func FacebookTokenType(tok string) string {
	if strings.Count(tok, ".") == 2 && strings.HasPrefix(tok, "ey") {
		return FacebookIDToken
	}
	return FacebookAccessToken
}

func (s *Service) verifyFacebook(ctx context.Context, tok, tokenType, nonce string) (facebook.Profile, error) {
	if s.fb == nil {
		return facebook.Profile{}, ErrFacebookNotConfigured
	}
	var (
		p   facebook.Profile
		err error
	)
	switch tokenType {
	case FacebookIDToken:
		p, err = s.fb.VerifyIDToken(ctx, tok, nonce)
	case FacebookAccessToken:
		p, err = s.fb.VerifyAccessToken(ctx, tok)
	default:
		return facebook.Profile{}, &identity.ValidationError{Field: "token_type", Message: "The token_type must be access_token or id_token."}
	}
	switch {
	case errors.Is(err, facebook.ErrInvalidToken):
		return facebook.Profile{}, ErrInvalidFacebookToken
	case errors.Is(err, facebook.ErrUnavailable):
		return facebook.Profile{}, errors.Join(ErrFacebookUnavailable, err)
	case err != nil:
		return facebook.Profile{}, err
	}
	if p.ID == "" {
		return facebook.Profile{}, ErrInvalidFacebookToken
	}
	return p, nil
}

// FacebookSignIn signs a contact of (business, mode) in with a Facebook
// token. The Facebook user id is the identity; a first sign-in registers a
// new contact from the profile when auto-registration is on. A Facebook
// email never merges into an existing contact with that email: linking an
// existing contact takes that contact's own token (LinkFacebook).
func (s *Service) FacebookSignIn(ctx context.Context, t Tenant, tok, tokenType, nonce string) (store.Contact, error) {
	p, err := s.verifyFacebook(ctx, tok, tokenType, nonce)
	if err != nil {
		return store.Contact{}, err
	}
	for attempt := 0; attempt < 2; attempt++ {
		linked, err := s.id.Identity(ctx, t.BusinessID, t.Mode, store.ProviderFacebook, p.ID)
		if err == nil {
			return s.id.Contact(ctx, t.BusinessID, t.Mode, linked.ContactID)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Contact{}, err
		}
		if !s.fbAutoRegister {
			return store.Contact{}, ErrContactNotFound
		}
		// Facebook vouches for the names: what authd refuses in a typed
		// name (an invisible character) is dropped, not refused.
		in := identity.ContactInput{FirstName: ident.StripInvisible(p.FirstName), LastName: ident.StripInvisible(p.LastName),
			Email: p.Email, AvatarURL: p.PictureURL}
		c, err := s.id.BuildContact(t.BusinessID, t.Mode, in)
		if err != nil {
			// A profile field authd cannot store (an odd picture URL, an
			// email it refuses): register without the optional fields
			// rather than fail.
			c, err = s.id.BuildContact(t.BusinessID, t.Mode, identity.ContactInput{FirstName: in.FirstName, LastName: in.LastName})
			if err != nil {
				return store.Contact{}, err
			}
		}
		err = s.id.RegisterContact(ctx, c, store.Identity{Provider: store.ProviderFacebook, Subject: p.ID})
		if errors.Is(err, identity.ErrConflict) {
			continue // a concurrent first sign-in registered it: read it back
		}
		if err != nil {
			return store.Contact{}, err
		}
		return c, nil
	}
	return store.Contact{}, identity.ErrConflict
}

// LinkFacebook attaches a Facebook identity to a signed-in contact. The
// Facebook account already signing another contact in is
// identity.ErrConflict.
func (s *Service) LinkFacebook(ctx context.Context, c store.Contact, tok, tokenType, nonce string) (string, error) {
	p, err := s.verifyFacebook(ctx, tok, tokenType, nonce)
	if err != nil {
		return "", err
	}
	ident, err := s.id.Identity(ctx, c.BusinessID, c.Mode, store.ProviderFacebook, p.ID)
	if err == nil {
		if ident.ContactID == c.ID {
			return p.ID, nil // already linked: idempotent
		}
		return "", identity.ErrConflict
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	return p.ID, s.id.AttachIdentity(ctx, store.Identity{BusinessID: c.BusinessID, Mode: c.Mode, ContactID: c.ID,
		Provider: store.ProviderFacebook, Subject: p.ID})
}
