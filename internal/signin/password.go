package signin

import (
	"context"
	"errors"

	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// Binding is the business and mode an OAuth client is bound to (empty
// Org: none). A bound client signs in that tenant's contacts only.
type Binding struct {
	Org  string
	Mode store.Mode
}

// Tenant is the binding's business and mode (live when the client names
// none), or nil for an unbound client.
func (b Binding) Tenant() *selfservice.Tenant {
	if b.Org == "" {
		return nil
	}
	mode := b.Mode
	if mode == "" {
		mode = store.ModeLive
	}
	return &selfservice.Tenant{BusinessID: b.Org, Mode: mode}
}

// Password is the password grant's sign-in: a client bound to a business
// signs that business's contacts in (ContactPassword), any other client
// back-office users (UserPassword).
func (s *Service) Password(ctx context.Context, b Binding, c Client, scopes []string, username, password string) (Result, error) {
	if t := b.Tenant(); t != nil {
		return s.ContactPassword(ctx, c, scopes, *t, username, password)
	}
	return s.UserPassword(ctx, c, scopes, username, password)
}

// UserPassword signs a back-office user in with email and password,
// acting for their default membership's organisation in live mode.
func (s *Service) UserPassword(ctx context.Context, c Client, scopes []string, username, password string) (Result, error) {
	u, err := s.identity.AuthenticateUser(ctx, username, password)
	if err != nil {
		return Result{}, err
	}
	p, err := s.UserPrincipal(ctx, u.ID)
	if err != nil {
		return Result{}, err
	}
	return s.complete(ctx, p, c, scopes, "password", nil)
}

// ContactPassword signs a contact of t in with its email and password.
func (s *Service) ContactPassword(ctx context.Context, c Client, scopes []string, t selfservice.Tenant, email, password string) (Result, error) {
	ct, err := s.identity.AuthenticateContact(ctx, t.BusinessID, t.Mode, email, password)
	if err != nil {
		return Result{}, err
	}
	return s.complete(ctx, ContactPrincipal(ct), c, scopes, "password", &ct)
}

// ContactPrincipal is what a contact's sign-in acts for: its business, in
// its mode.
func ContactPrincipal(c store.Contact) Principal {
	return Principal{Kind: store.KindContact, ID: c.ID, Org: c.BusinessID, Mode: c.Mode}
}

// ContactFlows proves who a contact is (package selfservice).
type ContactFlows interface {
	ValidateOTP(ctx context.Context, t *selfservice.Tenant, otpID, code string) (store.Contact, error)
	FacebookSignIn(ctx context.Context, t selfservice.Tenant, tok, kind, nonce string) (store.Contact, error)
	ResetPassword(ctx context.Context, t *selfservice.Tenant, otpID, code, password string) (store.Contact, error)
}

// UseContacts installs the contact flows (OTP and Facebook sign-in).
func (s *Service) UseContacts(f ContactFlows) { s.contacts = f }

// OTP signs in the contact a one-time code proves; t, when not nil, is the
// only tenant whose codes are accepted (a bound client's, an API key's).
func (s *Service) OTP(ctx context.Context, c Client, t *selfservice.Tenant, otpID, code string) (Result, error) {
	ct, err := s.contacts.ValidateOTP(ctx, t, otpID, code)
	if err != nil {
		return Result{}, err
	}
	return s.complete(ctx, ContactPrincipal(ct), c, nil, "otp", &ct)
}

// Facebook signs in the contact of t a Facebook token vouches for
// (registering it when the business allows).
func (s *Service) Facebook(ctx context.Context, c Client, t selfservice.Tenant, tok, kind, nonce string) (Result, error) {
	ct, err := s.contacts.FacebookSignIn(ctx, t, tok, kind, nonce)
	if err != nil {
		return Result{}, err
	}
	return s.complete(ctx, ContactPrincipal(ct), c, nil, "facebook", &ct)
}

// ContactPasswordReset completes a contact's password reset (the code
// sent to its email, for t when not nil), ends every session and access
// token the contact had, and signs it in.
func (s *Service) ContactPasswordReset(ctx context.Context, c Client, t *selfservice.Tenant, otpID, code, password string) (Result, error) {
	ct, err := s.contacts.ResetPassword(ctx, t, otpID, code, password)
	if err != nil {
		return Result{}, err
	}
	p := ContactPrincipal(ct)
	if err := s.endEverySession(ctx, p); err != nil {
		return Result{}, err
	}
	return s.complete(ctx, p, c, nil, "password_reset", &ct)
}

// ChangeContactPassword replaces the password of the contact an access
// token belongs to, and ends every other session of it (the token's own
// family stays).
func (s *Service) ChangeContactPassword(ctx context.Context, claims token.Claims, current, next string) error {
	p := Principal{Kind: store.KindContact, ID: claims.Subject, Org: claims.Org, Mode: store.Mode(claims.Mode)}
	if err := s.identity.ChangeContactPassword(ctx, p.Org, p.Mode, p.ID, current, next); err != nil {
		return err
	}
	return s.refresh.EndFamilies(ctx, sessionsOf(p, claims.Family))
}

// EndContactSessions ends every session of a contact (its erasure).
func (s *Service) EndContactSessions(ctx context.Context, businessID string, mode store.Mode, id string) error {
	return s.refresh.EndFamilies(ctx, sessionsOf(Principal{Kind: store.KindContact, ID: id, Org: businessID, Mode: mode}, ""))
}

// sessionsOf selects p's refresh families but except: a contact's within
// its business and mode, a user's all.
func sessionsOf(p Principal, except string) store.SubjectSessions {
	sel := store.SubjectSessions{Kind: p.Kind, ID: p.ID, Except: except}
	if p.Kind == store.KindContact {
		sel.Org, sel.Mode = p.Org, p.Mode
	}
	return sel
}

// ErrNotYourToken: a refresh token of another person was sent to end a
// session.
var ErrNotYourToken = errors.New("signin: the refresh token belongs to someone else")
