package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/store"
)

// refreshGrant is the refresh_token grant (RFC 6749 §6) on authd's one
// refresh-token mechanism: rotation on every use, reuse detection, the
// immediate-parent grace interval. fosite's own refresh handler cannot
// answer a replayed parent with the same child, so this replaces it.
type refreshGrant struct {
	signin *signin.Service
}

var _ fosite.TokenEndpointHandler = (*refreshGrant)(nil)

func (g *refreshGrant) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !g.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	if !r.GetClient().GetGrantTypes().Has(GrantRefreshToken) {
		return fosite.ErrUnauthorizedClient.WithHint("The client may not use the refresh_token grant.")
	}
	rt := r.GetRequestForm().Get("refresh_token")
	if rt == "" {
		return fosite.ErrInvalidRequest.WithHint("The refresh_token parameter is missing.")
	}
	// RFC 6749 §6: the requested scope may not include a scope the family
	// was not granted (checked on the record, before anything happens to
	// the token). A narrower request is answered with the family's scopes,
	// which the response's scope then names (§3.3).
	requested := r.GetRequestedScopes()
	scopeRefused := false
	accept := func(rec store.RefreshToken) bool {
		for _, sc := range requested {
			if !slices.Contains(rec.Scopes, sc) {
				scopeRefused = true
				return false
			}
		}
		return true
	}
	p, toks, err := g.signin.Refresh(ctx, rt, r.GetClient().GetID(), accept)
	if scopeRefused {
		return fosite.ErrInvalidScope.WithHint("The requested scope exceeds what the refresh token was granted.")
	}
	if err != nil {
		return grantError(err, "")
	}
	r.GetSession().(*Session).issue(p, toks)
	return nil
}

func (g *refreshGrant) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !g.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	return populateIssued(r, resp)
}

func (g *refreshGrant) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (g *refreshGrant) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne(GrantRefreshToken)
}

// populateIssued writes tokens a grant already minted into the response.
func populateIssued(r fosite.AccessRequester, resp fosite.AccessResponder) error {
	s, ok := r.GetSession().(*Session)
	if !ok || s.issued == nil {
		return fosite.ErrServerError.WithHint("No tokens were issued.")
	}
	resp.SetAccessToken(s.issued.AccessToken)
	resp.SetTokenType("Bearer") // fosite refuses a response without one
	resp.SetExpiresIn(time.Duration(s.issued.ExpiresIn) * time.Second)
	if s.issued.Scope != "" {
		resp.SetScopes(strings.Fields(s.issued.Scope))
	}
	if s.issued.RefreshToken != "" {
		resp.SetExtra("refresh_token", s.issued.RefreshToken)
	}
	return nil
}

// refreshIntrospector introspects refresh tokens (RFC 7662).
type refreshIntrospector struct {
	rs *refresh.Service
}

func (refreshIntrospector) Hint() string { return "refresh_token" }

func (i refreshIntrospector) Introspect(ctx context.Context, tok string) (Introspection, error) {
	if !refresh.LooksLike(tok) {
		return Introspection{}, ErrUnknownToken
	}
	rec, err := i.rs.Lookup(ctx, tok)
	if errors.Is(err, refresh.ErrInvalid) {
		return Introspection{Active: false}, nil
	}
	if err != nil {
		return Introspection{}, err
	}
	return Introspection{
		Active:    true,
		ClientID:  rec.ClientID,
		TokenType: "refresh_token",
		TokenUse:  "refresh_token",
		Scope:     strings.Join(rec.Scopes, " "),
		Sub:       rec.SubjectID,
		Kind:      rec.SubjectKind,
		Org:       rec.OrganisationID,
		Mode:      string(rec.Mode),
		HomeOrg:   rec.HomeOrg,
		Iat:       rec.CreatedAt.Unix(),
		Exp:       i.rs.IdleExpiry(rec).Unix(),
	}, nil
}

// refreshRevoker ends a refresh token's family (RFC 7009 §2.1: revoking a
// refresh token may revoke the grant).
type refreshRevoker struct {
	rs *refresh.Service
}

func (refreshRevoker) Hint() string { return "refresh_token" }

func (r refreshRevoker) Revoke(ctx context.Context, tok, clientID string, anyClient bool) error {
	if !refresh.LooksLike(tok) {
		return ErrUnknownToken
	}
	_, err := r.rs.RevokeFamily(ctx, tok, func(rec store.RefreshToken) bool { return anyClient || rec.ClientID == clientID })
	switch {
	case errors.Is(err, refresh.ErrOtherClient):
		return ErrNotYourToken
	case errors.Is(err, refresh.ErrInvalid):
		return ErrUnknownToken
	}
	return err
}
