package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// Token types of RFC 8693 §3.
const (
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	orgResourcePrefix    = "urn:authd:organisation:"
)

// errInvalidTarget is RFC 8693 §2.2.2's invalid_target.
var errInvalidTarget = &fosite.RFC6749Error{
	ErrorField:       "invalid_target",
	DescriptionField: "The requested organisation or mode is not one the subject may act for.",
	CodeField:        400,
}

// ExternalExchanger handles token exchanges whose subject_issuer names
// another identity provider (Facebook). It returns the principal to sign
// in.
type ExternalExchanger interface {
	Issuer() string
	Exchange(ctx context.Context, client store.Client, subjectToken, subjectTokenType string, form map[string][]string) (signin.Principal, error)
}

// exchangeGrant is RFC 8693 token exchange. With an authd access token as
// subject it is masquerading: the same user acting for another
// organisation (organisation_id or resource=urn:authd:organisation:<id>)
// and/or mode. With subject_issuer naming an external provider it signs a
// contact in from that provider's token.
type exchangeGrant struct {
	signin   *signin.Service
	tokens   *token.Service
	external map[string]ExternalExchanger
}

var _ fosite.TokenEndpointHandler = (*exchangeGrant)(nil)

func (g *exchangeGrant) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !g.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	client := r.GetClient().(*Client)
	if !client.GetGrantTypes().Has(GrantTokenExchange) {
		return fosite.ErrUnauthorizedClient.WithHint("The client may not use token exchange.")
	}
	f := r.GetRequestForm()
	subjectToken, subjectType := f.Get("subject_token"), f.Get("subject_token_type")
	if subjectToken == "" || subjectType == "" {
		return fosite.ErrInvalidRequest.WithHint("subject_token and subject_token_type are required.")
	}
	if f.Get("actor_token") != "" {
		return fosite.ErrInvalidRequest.WithHint("Delegation (actor_token) is not supported.")
	}
	if rt := f.Get("requested_token_type"); rt != "" && rt != TokenTypeAccessToken {
		return fosite.ErrInvalidRequest.WithHint("Only access tokens can be requested.")
	}
	// RFC 8693 §2.2.2: a target the server will not honour is
	// invalid_target, never silently ignored. authd's tokens are for its
	// own audience, and name at most one organisation.
	if len(f["audience"]) > 0 {
		return errInvalidTarget.WithHint("audience is not supported: tokens are issued for authd's own audience.")
	}
	if len(f["resource"]) > 1 {
		return errInvalidTarget.WithHint("Name one organisation: a single resource=" + orgResourcePrefix + "<id>.")
	}
	s := r.GetSession().(*Session)

	if iss := f.Get("subject_issuer"); iss != "" {
		if f.Has("resource") || f.Has("organisation_id") || f.Has("mode") {
			return errInvalidTarget.WithHint("A sign-in with an external provider takes its organisation and mode from the client.")
		}
		ext, ok := g.external[iss]
		if !ok {
			return fosite.ErrInvalidRequest.WithHintf("Unknown subject_issuer %q.", iss)
		}
		p, err := ext.Exchange(ctx, client.Client, subjectToken, subjectType, f)
		if err != nil {
			return err
		}
		toks, err := g.signin.Mint(ctx, p, signinClient(r.GetClient()), nil)
		if err != nil {
			return err
		}
		g.signin.SignedIn(ctx, p, iss)
		s.issue(p, toks)
		return nil
	}

	if subjectType != TokenTypeAccessToken {
		return fosite.ErrInvalidRequest.WithHint("subject_token_type must be " + TokenTypeAccessToken + ".")
	}
	claims, err := g.tokens.Verify(ctx, subjectToken)
	if err != nil {
		return grantError(err, "The subject_token is not a valid authd access token.")
	}
	org := f.Get("organisation_id")
	if res := f.Get("resource"); res != "" {
		if !strings.HasPrefix(res, orgResourcePrefix) {
			return errInvalidTarget.WithHint("resource must be " + orgResourcePrefix + "<id>.")
		}
		if org != "" && org != strings.TrimPrefix(res, orgResourcePrefix) {
			return fosite.ErrInvalidRequest.WithHint("organisation_id and resource disagree.")
		}
		org = strings.TrimPrefix(res, orgResourcePrefix)
	}
	mode := store.Mode(f.Get("mode"))
	if mode != "" && !mode.Valid() {
		return fosite.ErrInvalidRequest.WithHint("mode must be live or test.")
	}
	if org == "" && mode == "" {
		return fosite.ErrInvalidRequest.WithHint("Name the target: organisation_id (or resource) and/or mode.")
	}
	p, toks, err := g.signin.Switch(ctx, claims, org, mode, signinClient(r.GetClient()))
	switch {
	case errors.Is(err, signin.ErrOtherClient):
		return grantError(err, "The subject_token was issued to another client.")
	case errors.Is(err, signin.ErrForbiddenOrganisation):
		return grantError(err, errInvalidTarget.DescriptionField)
	case err != nil:
		return grantError(err, "")
	}
	s.issue(p, toks)
	return nil
}

func (g *exchangeGrant) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !g.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	if err := populateIssued(r, resp); err != nil {
		return err
	}
	resp.SetExtra("issued_token_type", TokenTypeAccessToken)
	return nil
}

func (g *exchangeGrant) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (g *exchangeGrant) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne(GrantTokenExchange)
}
