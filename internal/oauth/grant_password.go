package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/store"
)

// PasswordAuthenticator checks the password grant's credentials for the
// authenticated client: back-office users for unbound clients, contacts
// with an email identity for a client bound to a business.
type PasswordAuthenticator interface {
	AuthenticatePassword(ctx context.Context, client store.Client, username, password string) (signin.Principal, error)
}

type principalKey struct{}

// passwordGrant wraps fosite's resource-owner handler: fosite parses and
// checks the request and issues the tokens through authd's strategies;
// this wrapper supplies the principal to the session.
type passwordGrant struct {
	inner *oauth2.ResourceOwnerPasswordCredentialsGrantHandler //nolint:staticcheck // SA1019: RFC 6749 §4.3 is what the CRM's clients use; deprecated by OAuth 2.1, kept deliberately.
}

var _ fosite.TokenEndpointHandler = (*passwordGrant)(nil)

func (g *passwordGrant) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	holder := &signin.Principal{}
	if err := g.inner.HandleTokenEndpointRequest(context.WithValue(ctx, principalKey{}, holder), r); err != nil {
		// A username refused as input (a look-alike spelling of an email)
		// is the request's fault, which fosite would call a server error.
		var ve *identity.ValidationError
		if errors.As(err, &ve) {
			return fosite.ErrInvalidRequest.WithHint(ve.Message).WithWrap(ve)
		}
		return err
	}
	s, ok := r.GetSession().(*Session)
	if !ok || holder.ID == "" {
		return fosite.ErrServerError.WithHint("No principal was authenticated.")
	}
	s.setPrincipal(*holder)
	return nil
}

func (g *passwordGrant) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) error {
	// fosite signs the access token before it asks for the refresh token:
	// name the family now, so the access token carries its sid and ends
	// with it (logout, reuse detection, a disabled user).
	if s, ok := r.GetSession().(*Session); ok && s.Family == "" && g.issuesRefresh(ctx, r) {
		s.Family = refresh.NewFamilyID()
	}
	return g.inner.PopulateTokenEndpointResponse(ctx, r, resp)
}

// issuesRefresh is fosite's own test for issuing a refresh token, plus
// authd's: only to a client that may redeem one (refreshStrategy).
func (g *passwordGrant) issuesRefresh(ctx context.Context, r fosite.AccessRequester) bool {
	scopes := g.inner.Config.GetRefreshTokenScopes(ctx)
	return mayRefresh(r.GetClient()) && (len(scopes) == 0 || r.GetGrantedScopes().HasOneOf(scopes...))
}

// mayRefresh reports whether the client may use the refresh_token grant:
// a client that may not gets no refresh token at all.
func mayRefresh(c fosite.Client) bool {
	return c != nil && c.GetGrantTypes().Has(GrantRefreshToken)
}

// signinClient is the client a grant issues tokens to, for signin.
func signinClient(c fosite.Client) signin.Client {
	return signin.Client{ID: c.GetID(), Refresh: mayRefresh(c)}
}

func (g *passwordGrant) CanSkipClientAuth(ctx context.Context, r fosite.AccessRequester) bool {
	return g.inner.CanSkipClientAuth(ctx, r)
}

func (g *passwordGrant) CanHandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) bool {
	return g.inner.CanHandleTokenEndpointRequest(ctx, r)
}

// issue records tokens a grant minted itself, for populateIssued.
func (s *Session) issue(p signin.Principal, toks signin.Tokens) {
	s.setPrincipal(p)
	s.issued = &toks
	s.SetExpiresAt(fosite.AccessToken, time.Unix(toks.Claims.ExpiresAt, 0))
}

func (s *Session) setPrincipal(p signin.Principal) {
	s.Subject, s.Kind, s.Org, s.Mode, s.HomeOrg = p.ID, p.Kind, p.Org, string(p.Mode), p.HomeOrg
}

// ropcStorage is fosite's resource-owner storage over authd's services.
// Refresh tokens are minted by the refresh strategy (refreshStrategy), so
// the session methods here have nothing left to store.
type ropcStorage struct {
	*accessTokens
	auth PasswordAuthenticator
}

func (s *ropcStorage) Authenticate(ctx context.Context, username, password string) (string, error) {
	ar, _ := ctx.Value(fosite.AccessRequestContextKey).(fosite.AccessRequester)
	holder, _ := ctx.Value(principalKey{}).(*signin.Principal)
	if ar == nil || holder == nil {
		return "", errors.New("oauth: password grant outside a token request")
	}
	c, ok := ar.GetClient().(*Client)
	if !ok {
		return "", errors.New("oauth: unexpected client type")
	}
	p, err := s.auth.AuthenticatePassword(ctx, c.Client, username, password)
	if errors.Is(err, identity.ErrInvalidCredentials) || errors.Is(err, signin.ErrForbiddenOrganisation) {
		return "", fosite.ErrNotFound.WithWrap(err)
	}
	if err != nil {
		return "", err
	}
	*holder = p
	return p.ID, nil
}

func (s *ropcStorage) CreateRefreshTokenSession(context.Context, string, string, fosite.Requester) error {
	return nil
}

func (s *ropcStorage) GetRefreshTokenSession(context.Context, string, fosite.Session) (fosite.Requester, error) {
	return nil, fosite.ErrNotFound
}

func (s *ropcStorage) DeleteRefreshTokenSession(context.Context, string) error { return nil }

func (s *ropcStorage) RotateRefreshToken(context.Context, string, string) error { return nil }

// refreshStrategy mints the first refresh token of a family for fosite's
// handlers, through the one refresh-token service.
type refreshStrategy struct {
	rs *refresh.Service
}

var _ oauth2.RefreshTokenStrategy = (*refreshStrategy)(nil)

func (r *refreshStrategy) RefreshTokenSignature(_ context.Context, tok string) string {
	return refresh.Hash(tok)
}

func (r *refreshStrategy) GenerateRefreshToken(ctx context.Context, req fosite.Requester) (string, string, error) {
	s, ok := req.GetSession().(*Session)
	if !ok {
		return "", "", errors.New("oauth: unexpected session type")
	}
	if !mayRefresh(req.GetClient()) {
		return "", "", nil // fosite then answers without a refresh_token
	}
	tok, rec, err := r.rs.Start(ctx, refresh.Grant{
		SubjectKind: s.Kind, SubjectID: s.Subject, ClientID: req.GetClient().GetID(),
		OrganisationID: s.Org, HomeOrg: s.HomeOrg, Mode: store.Mode(s.Mode), Scopes: req.GetGrantedScopes(),
		FamilyID: s.Family,
	})
	if err != nil {
		return "", "", err
	}
	s.Family = rec.FamilyID
	return tok, rec.Hash, nil
}

func (r *refreshStrategy) ValidateRefreshToken(ctx context.Context, _ fosite.Requester, tok string) error {
	_, err := r.rs.Lookup(ctx, tok)
	return err
}
