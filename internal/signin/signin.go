// Package signin turns an authenticated principal into tokens, and tokens
// into new tokens: the shared core behind the OAuth grants at
// /oauth2/token and the CRM-style sign-in, refresh and switch endpoints,
// so both paths mint, rotate and check exactly alike.
package signin

import (
	"context"
	"errors"
	"slices"
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
	// AccessTokenTTL is the lifetime of access tokens whose client sets
	// none (tokens.access_token_ttl).
	AccessTokenTTL time.Duration
	// MaxAccessTokenTTL caps a client's own access-token lifetime
	// (tokens.max_access_token_ttl): revocations are kept this long.
	// Zero: AccessTokenTTL.
	MaxAccessTokenTTL time.Duration
	Audience          []string
	// Clients tells each client's own lifetimes and what it may still
	// hold (nil: every client has the defaults and no policy).
	Clients ClientPolicies
}

// ClientPolicy is what a client's registration says about the tokens
// issued to it. Zero lifetimes take the configured ones.
type ClientPolicy struct {
	// Known: the client is registered. An unknown client (the CRM
	// endpoints' before bootstrap) gets the defaults and no checks.
	Known           bool
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration // absolute lifetime of a refresh family
	RefreshIdleTTL  time.Duration
	// MayRefresh: the client holds the refresh_token grant.
	MayRefresh bool
	// Scopes and Audiences the client holds now.
	Scopes    []string
	Audiences []string
}

// ClientPolicies reads clients' policies (the clients service, through
// its cache, adapted by the composition root).
type ClientPolicies interface {
	Policy(ctx context.Context, clientID string) (ClientPolicy, error)
}

// policy is the policy of clientID: the one place a client's lifetimes
// are read for issuance, renewal and introspection.
func (s *Service) policy(ctx context.Context, clientID string) (ClientPolicy, error) {
	if s.cfg.Clients == nil {
		return ClientPolicy{}, nil
	}
	return s.cfg.Clients.Policy(ctx, clientID)
}

// accessTTL is the access-token lifetime under pol: the client's own,
// never above the maximum, or the default.
func (s *Service) accessTTL(pol ClientPolicy) time.Duration {
	if pol.AccessTokenTTL <= 0 {
		return s.cfg.AccessTokenTTL
	}
	return min(pol.AccessTokenTTL, max(s.cfg.MaxAccessTokenTTL, s.cfg.AccessTokenTTL))
}

// refreshLifetimes are the refresh lifetimes under pol.
func refreshLifetimes(pol ClientPolicy) refresh.Lifetimes {
	return refresh.Lifetimes{Absolute: pol.RefreshTokenTTL, Idle: pol.RefreshIdleTTL}
}

// lifetimesOf reads a client's refresh lifetimes for the refresh service.
func (s *Service) lifetimesOf(ctx context.Context, clientID string) (refresh.Lifetimes, error) {
	pol, err := s.policy(ctx, clientID)
	return refreshLifetimes(pol), err
}

// stillHeld reports whether a family's scopes and audience are all still
// held by its client (a client narrowed since the sign-in renews nothing
// it no longer holds).
func stillHeld(pol ClientPolicy, rec store.RefreshToken) bool {
	if !pol.Known {
		return true
	}
	for _, sc := range rec.Scopes {
		if !slices.Contains(pol.Scopes, sc) {
			return false
		}
	}
	for _, a := range rec.Audience {
		if !slices.Contains(pol.Audiences, a) {
			return false
		}
	}
	return true
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
	codes    Codes
	signups  SignUps
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

// accessToken signs an access token for p, valid for ttl; family ties it
// to a refresh family when not empty; audience empty is the default. A
// user who is a member of the service owner gets service_owner: true.
func (s *Service) accessToken(ctx context.Context, p Principal, clientID string, scopes, audience []string, family string, ttl time.Duration) (string, token.Claims, error) {
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
		HomeOrg: p.HomeOrg, Family: family, Scopes: scopes, Audience: audience, ServiceOwner: so}, ttl)
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
// the first refresh token of a new family (which the access token names),
// with the client's own lifetimes.
func (s *Service) Mint(ctx context.Context, p Principal, c Client, scopes []string) (Tokens, error) {
	pol, err := s.policy(ctx, c.ID)
	if err != nil {
		return Tokens{}, err
	}
	var rt, family string
	if c.Refresh {
		tok, rec, err := s.refresh.Start(ctx, refresh.Grant{
			SubjectKind: p.Kind, SubjectID: p.ID, ClientID: c.ID,
			OrganisationID: p.Org, HomeOrg: p.HomeOrg, Mode: p.Mode, Scopes: scopes, Audience: c.Audience,
			Lifetimes: refreshLifetimes(pol),
		})
		if err != nil {
			return Tokens{}, err
		}
		rt, family = tok, rec.FamilyID
	}
	ttl := s.accessTTL(pol)
	at, claims, err := s.accessToken(ctx, p, c.ID, scopes, c.Audience, family, ttl)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: at, RefreshToken: rt, ExpiresIn: claims.ExpiresAt - claims.IssuedAt,
		Scope: strings.Join(scopes, " "), Claims: claims}, nil
}

// Refresh rotates a refresh token and issues a new pair for the same
// subject and organisation, re-checking that the subject may still act
// for it (a removed membership or a disabled user ends the family) and
// that the client still holds the refresh_token grant and every scope and
// audience of the family (a client narrowed since is refused, and the
// token left as it is: restoring the client restores it). The client's
// lifetimes as they are now apply. accept (may be nil) refuses tokens the
// caller may not redeem before anything happens to them.
func (s *Service) Refresh(ctx context.Context, rt, clientID string, accept refresh.Accept) (Principal, Tokens, error) {
	pol, err := s.policy(ctx, clientID)
	if err != nil {
		return Principal{}, Tokens{}, err
	}
	if pol.Known && !pol.MayRefresh {
		return Principal{}, Tokens{}, ErrInvalidGrant
	}
	held := func(rec store.RefreshToken) bool {
		return stillHeld(pol, rec) && (accept == nil || accept(rec))
	}
	child, rec, err := s.refresh.Redeem(ctx, rt, clientID, refreshLifetimes(pol), held)
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
	at, claims, err := s.accessToken(ctx, p, clientID, rec.Scopes, rec.Audience, rec.FamilyID, s.accessTTL(pol))
	if err != nil {
		return Principal{}, Tokens{}, err
	}
	return p, Tokens{AccessToken: at, RefreshToken: child, ExpiresIn: claims.ExpiresAt - claims.IssuedAt,
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
// it asked for (checked by the caller against what it holds), with its own
// access-token lifetime.
func (s *Service) ClientCredentials(ctx context.Context, c ClientPrincipal, scopes, audience []string) (Result, error) {
	pol, err := s.policy(ctx, c.ID)
	if err != nil {
		return Result{}, err
	}
	if len(audience) == 0 {
		audience = s.cfg.Audience
	}
	at, claims, err := s.tokens.IssueFor(token.Subject{ID: c.ID, Kind: token.KindClient, ClientID: c.ID, Org: c.Org,
		Mode: string(c.Mode), Scopes: scopes, Audience: audience}, s.accessTTL(pol))
	if err != nil {
		return Result{}, err
	}
	return Result{Principal: Principal{Kind: store.KindClient, ID: c.ID, Org: c.Org, Mode: c.Mode},
		Tokens: Tokens{AccessToken: at, ExpiresIn: claims.ExpiresAt - claims.IssuedAt, Scope: strings.Join(scopes, " "), Claims: claims}}, nil
}
