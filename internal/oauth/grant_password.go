package oauth

import (
	"context"
	"errors"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/signin"
)

// passwordGrant is RFC 6749 §4.3 (resource owner password credentials):
// back-office users for unbound clients, contacts with an email identity
// for a client bound to a business. OAuth 2.1 drops it; the CRM's clients
// use it, so it is kept deliberately.
func passwordGrant(s *signin.Service) *grant {
	return &grant{name: GrantPassword, signIn: func(ctx context.Context, r fosite.AccessRequester, c *Client) (signin.Result, error) {
		f := r.GetRequestForm()
		username, password := f.Get("username"), f.Get("password")
		if username == "" || password == "" {
			return signin.Result{}, fosite.ErrInvalidRequest.WithHint("username and password are required.")
		}
		scopes, err := requestedScopes(r, c)
		if err != nil {
			return signin.Result{}, err
		}
		aud, err := requestedAudience(r, c)
		if err != nil {
			return signin.Result{}, err
		}
		res, err := s.Password(ctx, binding(c), signinClient(c, aud...), scopes, username, password)
		if errors.Is(err, signin.ErrForbiddenOrganisation) {
			// A user with no organisation to act for cannot sign in: the
			// grant's one refusal of credentials is invalid_grant.
			return signin.Result{}, fosite.ErrInvalidGrant.WithHint("The credentials are not valid.")
		}
		return res, err
	}}
}

// clientCredentialsGrant is RFC 6749 §4.4 for confidential clients: a token
// whose subject is the client, with the scopes and audiences it asks for
// among those it holds.
func clientCredentialsGrant(s *signin.Service) *grant {
	return &grant{name: GrantClientCredentials, signIn: func(ctx context.Context, r fosite.AccessRequester, c *Client) (signin.Result, error) {
		if c.IsPublic() {
			return signin.Result{}, fosite.ErrUnauthorizedClient.WithHint("A public client may not use the client_credentials grant.")
		}
		scopes, err := requestedScopes(r, c)
		if err != nil {
			return signin.Result{}, err
		}
		aud, err := requestedAudience(r, c)
		if err != nil {
			return signin.Result{}, err
		}
		return s.ClientCredentials(ctx, signin.ClientPrincipal{ID: c.ID, Org: c.OrganisationID, Mode: c.Mode}, scopes, aud)
	}}
}
