package oauth

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/signin"
)

// grant is the one shape of every grant at /oauth2/token. fosite parses
// the request and authenticates the client; the grant checks that the
// client may use it, and signIn proves the principal and has signin mint
// the tokens (and record the audit event) — the one place tokens are
// minted. The response is written from what signin issued.
type grant struct {
	name string
	// signIn runs the grant for an authenticated client that may use it.
	signIn func(ctx context.Context, r fosite.AccessRequester, c *Client) (signin.Result, error)
	// extra members of the response (RFC 8693's issued_token_type).
	extra map[string]string
}

var _ fosite.TokenEndpointHandler = (*grant)(nil)

// CanHandleTokenEndpointRequest implements fosite.TokenEndpointHandler.
func (g *grant) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne(g.name)
}

// CanSkipClientAuth implements fosite.TokenEndpointHandler: every grant
// authenticates its client (public clients by client_id).
func (g *grant) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

// HandleTokenEndpointRequest implements fosite.TokenEndpointHandler.
func (g *grant) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !g.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	c, ok := r.GetClient().(*Client)
	if !ok {
		return fosite.ErrServerError.WithHint("Unexpected client type.")
	}
	if !c.GetGrantTypes().Has(g.name) {
		return fosite.ErrUnauthorizedClient.WithHintf("The client may not use the %s grant.", g.name)
	}
	res, err := g.signIn(ctx, r, c)
	if err != nil {
		return err
	}
	s, ok := r.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithHint("Unexpected session type.")
	}
	s.issued = &res.Tokens
	s.SetExpiresAt(fosite.AccessToken, time.Unix(res.Tokens.Claims.ExpiresAt, 0))
	s.Subject = res.Principal.ID
	return nil
}

// PopulateTokenEndpointResponse implements fosite.TokenEndpointHandler.
func (g *grant) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !g.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	s, ok := r.GetSession().(*Session)
	if !ok || s.issued == nil {
		return fosite.ErrServerError.WithHint("No tokens were issued.")
	}
	resp.SetAccessToken(s.issued.AccessToken)
	resp.SetTokenType("Bearer") // RFC 6750's name, as the CRM answers spell it
	resp.SetExpiresIn(time.Duration(s.issued.ExpiresIn) * time.Second)
	if s.issued.Scope != "" {
		resp.SetScopes(strings.Fields(s.issued.Scope))
	}
	if s.issued.RefreshToken != "" {
		resp.SetExtra("refresh_token", s.issued.RefreshToken)
	}
	for k, v := range g.extra {
		resp.SetExtra(k, v)
	}
	return nil
}

// requestedScopes are the scopes asked for, each of which the client must
// hold (RFC 6749 §3.3; invalid_scope otherwise).
func requestedScopes(r fosite.AccessRequester, c *Client) ([]string, error) {
	scopes := []string(r.GetRequestedScopes())
	for _, sc := range scopes {
		if !fosite.ExactScopeStrategy(c.GetScopes(), sc) {
			return nil, fosite.ErrInvalidScope.WithHintf("The client may not request the scope %q.", sc)
		}
	}
	return scopes, nil
}

// requestedAudience is the audience asked for (audience=, or RFC 8707's
// resource=), each of which must be one of the client's registered
// audiences (invalid_target otherwise); none asked: the default.
func requestedAudience(r fosite.AccessRequester, c *Client) ([]string, error) {
	aud := slices.Clone([]string(r.GetRequestedAudience()))
	for _, res := range r.GetRequestForm()["resource"] {
		if !slices.Contains(aud, res) {
			aud = append(aud, res)
		}
	}
	for _, a := range aud {
		if !slices.Contains(c.Audience, a) {
			return nil, errInvalidTarget.WithHintf("The client may not ask for the audience %q: it is not one of its registered audiences.", a)
		}
	}
	return aud, nil
}

// mayRefresh reports whether the client may use the refresh_token grant:
// a client that may not gets no refresh token at all.
func mayRefresh(c fosite.Client) bool {
	return c != nil && c.GetGrantTypes().Has(GrantRefreshToken)
}

// signinClient is the client a grant issues tokens to, for signin, with
// the audience it asked for.
func signinClient(c fosite.Client, audience ...string) signin.Client {
	return signin.Client{ID: c.GetID(), Refresh: mayRefresh(c), Audience: audience}
}

// binding is the business and mode the client is bound to.
func binding(c *Client) signin.Binding {
	return signin.Binding{Org: c.OrganisationID, Mode: c.Mode}
}
