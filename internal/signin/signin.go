// Package signin turns an authenticated principal into tokens, and tokens
// into new tokens: the shared core behind the OAuth grants at
// /oauth2/token and the CRM-style sign-in, refresh and switch endpoints,
// so both paths mint, rotate and check exactly alike.
package signin

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

var (
	// ErrInvalidGrant: the refresh token (or the principal behind it) is
	// no longer valid. OAuth: invalid_grant.
	ErrInvalidGrant = errors.New("signin: invalid grant")
	// ErrForbiddenOrganisation: the subject may not act for the target.
	ErrForbiddenOrganisation = errors.New("signin: forbidden organisation")
	// ErrOtherClient: the token was issued to another client than the one
	// asking to exchange it. OAuth: invalid_grant.
	ErrOtherClient = errors.New("signin: token issued to another client")
)

// Principal is who tokens are issued for and what they act for.
type Principal struct {
	Kind    string // store.KindUser or store.KindContact
	ID      string
	Org     string
	Mode    store.Mode
	HomeOrg string // set when acting through a membership of another (higher) organisation
}

// Tokens is a freshly issued pair.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int64 // seconds
	Scope        string
	Claims       token.Claims
}

// Config tunes issuance.
type Config struct {
	AccessTokenTTL time.Duration
	Audience       []string
}

// Result is a completed sign-in: who, the tokens, and for a contact the
// contact as it is now.
type Result struct {
	Principal Principal
	Tokens    Tokens
	Contact   *store.Contact
}

// Service owns every sign-in from its proof to its tokens and audit event,
// and every renewal and end of one: both doors (the CRM endpoints and
// /oauth2/token) call the same functions.
type Service struct {
	tokens   *token.Service
	refresh  *refresh.Service
	identity *identity.Service
	contacts ContactFlows
	audit    *audit.Recorder
	cfg      Config
}

// New returns a Service.
func New(tokens *token.Service, rs *refresh.Service, id *identity.Service, rec *audit.Recorder, cfg Config) *Service {
	return &Service{tokens: tokens, refresh: rs, identity: id, audit: rec, cfg: cfg}
}

// RefreshTokens exposes the refresh-token service (revocation, introspection).
func (s *Service) RefreshTokens() *refresh.Service { return s.refresh }

// UserPrincipal is what a user's sign-in acts for: their default
// membership's organisation, in live mode.
func (s *Service) UserPrincipal(ctx context.Context, userID string) (Principal, error) {
	m, err := s.identity.DefaultMembership(ctx, userID)
	if errors.Is(err, identity.ErrForbidden) {
		return Principal{}, ErrForbiddenOrganisation
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: store.KindUser, ID: userID, Org: m.OrganisationID, Mode: store.ModeLive}, nil
}

// AccessToken signs an access token for p (no refresh token); family ties
// it to a refresh family when not empty; audience empty is the default. A
// user who is a member of the service owner gets service_owner: true.
func (s *Service) AccessToken(ctx context.Context, p Principal, clientID string, scopes, audience []string, family string) (string, token.Claims, error) {
	if len(audience) == 0 {
		audience = s.cfg.Audience
	}
	so := false
	if p.Kind == store.KindUser {
		var err error
		if so, err = s.identity.IsServiceOwnerUser(ctx, p.ID); err != nil {
			return "", token.Claims{}, err
		}
	}
	return s.tokens.IssueFor(token.Subject{ID: p.ID, Kind: p.Kind, ClientID: clientID, Org: p.Org, Mode: string(p.Mode),
		HomeOrg: p.HomeOrg, Family: family, Scopes: scopes, Audience: audience, ServiceOwner: so}, s.tokens.Now().Add(s.cfg.AccessTokenTTL))
}

// Client is who tokens are issued to: its id, whether it may use the
// refresh_token grant (a client that may not gets an access token only),
// and the audience it asked for among its registered ones (empty: the
// default).
type Client struct {
	ID       string
	Refresh  bool
	Audience []string
}

// Mint issues tokens for p to c: an access token and, when c may refresh,
// the first refresh token of a new family (which the access token names).
func (s *Service) Mint(ctx context.Context, p Principal, c Client, scopes []string) (Tokens, error) {
	var rt, family string
	if c.Refresh {
		tok, rec, err := s.refresh.Start(ctx, refresh.Grant{
			SubjectKind: p.Kind, SubjectID: p.ID, ClientID: c.ID,
			OrganisationID: p.Org, HomeOrg: p.HomeOrg, Mode: p.Mode, Scopes: scopes, Audience: c.Audience,
		})
		if err != nil {
			return Tokens{}, err
		}
		rt, family = tok, rec.FamilyID
	}
	at, claims, err := s.AccessToken(ctx, p, c.ID, scopes, c.Audience, family)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: at, RefreshToken: rt, ExpiresIn: int64(s.cfg.AccessTokenTTL.Seconds()),
		Scope: strings.Join(scopes, " "), Claims: claims}, nil
}

// Refresh rotates a refresh token and issues a new pair for the same
// subject and organisation, re-checking that the subject may still act
// for it (a removed membership or a disabled user ends the family).
// accept (may be nil) refuses tokens the caller may not redeem before
// anything happens to them.
func (s *Service) Refresh(ctx context.Context, rt, clientID string, accept refresh.Accept) (Principal, Tokens, error) {
	child, rec, err := s.refresh.Redeem(ctx, rt, clientID, accept)
	if errors.Is(err, refresh.ErrInvalid) || errors.Is(err, refresh.ErrReused) {
		return Principal{}, Tokens{}, ErrInvalidGrant
	}
	if err != nil {
		return Principal{}, Tokens{}, err
	}
	p := Principal{Kind: rec.SubjectKind, ID: rec.SubjectID, Org: rec.OrganisationID, Mode: rec.Mode, HomeOrg: rec.HomeOrg}
	if err := s.stillAllowed(ctx, &p); err != nil {
		if errors.Is(err, ErrInvalidGrant) {
			_ = s.refresh.EndFamily(ctx, rec.FamilyID)
		}
		return Principal{}, Tokens{}, err
	}
	at, claims, err := s.AccessToken(ctx, p, clientID, rec.Scopes, rec.Audience, rec.FamilyID)
	if err != nil {
		return Principal{}, Tokens{}, err
	}
	return p, Tokens{AccessToken: at, RefreshToken: child, ExpiresIn: int64(s.cfg.AccessTokenTTL.Seconds()),
		Scope: strings.Join(rec.Scopes, " "), Claims: claims}, nil
}

// stillAllowed re-checks a principal against current data.
func (s *Service) stillAllowed(ctx context.Context, p *Principal) error {
	switch p.Kind {
	case store.KindUser:
		g, err := s.identity.ActiveRoleIn(ctx, p.ID, p.Org)
		if errors.Is(err, identity.ErrForbidden) || errors.Is(err, identity.ErrInvalidCredentials) {
			return ErrInvalidGrant
		}
		if err != nil {
			return err
		}
		p.HomeOrg = homeOrg(g, p.Org)
		return nil
	case store.KindContact:
		err := s.identity.ContactActive(ctx, p.Org, p.Mode, p.ID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidGrant
		}
		return err
	default:
		return ErrInvalidGrant
	}
}

func homeOrg(g identity.Grant, org string) string {
	if g.HomeOrg == org {
		return ""
	}
	return g.HomeOrg
}

// Switch is masquerading (RFC 8693 token exchange, and the back-office
// switch endpoint): from a valid user access token, a new pair for the same
// user acting for orgID (default: the token's) in mode (default: the
// token's). Rights come from the user's memberships; contact tokens can
// never be exchanged, and a token is exchanged only by the client it was
// issued to (client), so one client's token never becomes another's
// refresh family.
func (s *Service) Switch(ctx context.Context, subject token.Claims, orgID string, mode store.Mode, client Client) (Principal, Tokens, error) {
	if subject.Kind != store.KindUser {
		return Principal{}, Tokens{}, ErrForbiddenOrganisation
	}
	if subject.ClientID != client.ID {
		return Principal{}, Tokens{}, ErrOtherClient
	}
	if orgID == "" {
		orgID = subject.Org
	}
	if mode == "" {
		mode = store.Mode(subject.Mode)
	}
	p := Principal{Kind: store.KindUser, ID: subject.Subject, Org: orgID, Mode: mode}
	if err := s.stillAllowed(ctx, &p); err != nil {
		if errors.Is(err, ErrInvalidGrant) {
			s.audit.Record(ctx, store.AuditEvent{Action: audit.UserSwitched, ActorKind: store.KindUser, ActorID: subject.Subject,
				OrganisationID: subject.Org, TargetKind: "organisation", TargetID: orgID, Details: map[string]string{"mode": string(mode)}})
			return Principal{}, Tokens{}, ErrForbiddenOrganisation
		}
		return Principal{}, Tokens{}, err
	}
	toks, err := s.Mint(ctx, p, client, subject.Scopes())
	if err != nil {
		return Principal{}, Tokens{}, err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.UserSwitched, Success: true, ActorKind: store.KindUser, ActorID: subject.Subject,
		OrganisationID: orgID, TargetKind: "organisation", TargetID: orgID,
		Details: map[string]string{"from_organisation": subject.Org, "mode": string(mode), "home_org": p.HomeOrg}})
	return p, toks, nil
}

// complete ends every sign-in: tokens for p issued to c, and the audit
// event naming how it was proven.
func (s *Service) complete(ctx context.Context, p Principal, c Client, scopes []string, method string, ct *store.Contact) (Result, error) {
	toks, err := s.Mint(ctx, p, c, scopes)
	if err != nil {
		return Result{}, err
	}
	s.signedIn(ctx, p, method)
	return Result{Principal: p, Tokens: toks, Contact: ct}, nil
}

// signedIn records a successful sign-in.
func (s *Service) signedIn(ctx context.Context, p Principal, method string) {
	action := audit.UserSignIn
	if p.Kind == store.KindContact {
		action = audit.ContactSignIn
	}
	s.audit.Record(ctx, store.AuditEvent{Action: action, Success: true, ActorKind: p.Kind, ActorID: p.ID,
		OrganisationID: p.Org, TargetKind: p.Kind, TargetID: p.ID, Details: map[string]string{"method": method, "mode": string(p.Mode)}})
}

// ErrInvalidSubjectToken: the token to exchange is not a valid authd
// access token (malformed, forged, expired or revoked).
var ErrInvalidSubjectToken = errors.New("signin: the subject token is not a valid access token")

// SwitchToken is Switch from a raw access token (RFC 8693's
// subject_token), verified first.
func (s *Service) SwitchToken(ctx context.Context, raw, orgID string, mode store.Mode, client Client) (Result, error) {
	claims, err := s.tokens.Verify(ctx, raw)
	switch {
	case errors.Is(err, token.ErrInvalid), errors.Is(err, token.ErrExpired), errors.Is(err, token.ErrRevoked):
		return Result{}, ErrInvalidSubjectToken
	case err != nil:
		return Result{}, err
	}
	p, toks, err := s.Switch(ctx, claims, orgID, mode, client)
	if err != nil {
		return Result{}, err
	}
	return Result{Principal: p, Tokens: toks}, nil
}

// ClientPrincipal is a confidential client acting for itself, with the
// business and mode it may be bound to.
type ClientPrincipal struct {
	ID   string
	Org  string
	Mode store.Mode
}

// ClientCredentials issues a client its own access token (no refresh
// token): sub and client_id are the client, for the scopes and audiences
// it asked for (checked by the caller against what it holds).
func (s *Service) ClientCredentials(c ClientPrincipal, scopes, audience []string) (Result, error) {
	if len(audience) == 0 {
		audience = s.cfg.Audience
	}
	at, claims, err := s.tokens.IssueFor(token.Subject{ID: c.ID, Kind: token.KindClient, ClientID: c.ID, Org: c.Org,
		Mode: string(c.Mode), Scopes: scopes, Audience: audience}, s.tokens.Now().Add(s.cfg.AccessTokenTTL))
	if err != nil {
		return Result{}, err
	}
	return Result{Principal: Principal{Kind: store.KindClient, ID: c.ID, Org: c.Org, Mode: c.Mode},
		Tokens: Tokens{AccessToken: at, ExpiresIn: int64(s.cfg.AccessTokenTTL.Seconds()), Scope: strings.Join(scopes, " "), Claims: claims}}, nil
}
