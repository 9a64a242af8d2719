package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/signin"
)

// Token types of RFC 8693 §3.
const (
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	orgResourcePrefix    = "urn:authd:organisation:"
	// issuerFacebook is the subject_issuer of a Facebook sign-in.
	issuerFacebook = "facebook"
)

// errInvalidTarget is RFC 8693 §2.2.2's invalid_target.
var errInvalidTarget = &fosite.RFC6749Error{
	ErrorField:       "invalid_target",
	DescriptionField: "The requested organisation or mode is not one the subject may act for.",
	CodeField:        400,
}

// exchangeGrant is RFC 8693 token exchange. With an authd access token as
// subject it is masquerading: the same user acting for another
// organisation (organisation_id or resource=urn:authd:organisation:<id>)
// and/or mode. With subject_issuer=facebook it signs a contact of the
// client's business in from a Facebook token.
func exchangeGrant(s *signin.Service) *grant {
	return &grant{name: GrantTokenExchange, extra: map[string]string{"issued_token_type": TokenTypeAccessToken},
		signIn: func(ctx context.Context, r fosite.AccessRequester, c *Client) (signin.Result, error) {
			f := r.GetRequestForm()
			subjectToken, subjectType := f.Get("subject_token"), f.Get("subject_token_type")
			switch {
			case subjectToken == "" || subjectType == "":
				return signin.Result{}, fosite.ErrInvalidRequest.WithHint("subject_token and subject_token_type are required.")
			case f.Get("actor_token") != "":
				return signin.Result{}, fosite.ErrInvalidRequest.WithHint("Delegation (actor_token) is not supported.")
			case f.Get("requested_token_type") != "" && f.Get("requested_token_type") != TokenTypeAccessToken:
				return signin.Result{}, fosite.ErrInvalidRequest.WithHint("Only access tokens can be requested.")
			// RFC 8693 §2.2.2: a target the server will not honour is
			// invalid_target, never silently ignored. authd's tokens are for
			// its own audience, and name at most one organisation.
			case len(f["audience"]) > 0:
				return signin.Result{}, errInvalidTarget.WithHint("audience is not supported: tokens are issued for authd's own audience.")
			case len(f["resource"]) > 1:
				return signin.Result{}, errInvalidTarget.WithHint("Name one organisation: a single resource=" + orgResourcePrefix + "<id>.")
			}
			if iss := f.Get("subject_issuer"); iss != "" {
				return externalSignIn(ctx, s, c, iss, subjectToken, subjectType, f)
			}
			if subjectType != TokenTypeAccessToken {
				return signin.Result{}, fosite.ErrInvalidRequest.WithHint("subject_token_type must be " + TokenTypeAccessToken + ".")
			}
			org := f.Get("organisation_id")
			if res := f.Get("resource"); res != "" {
				if !strings.HasPrefix(res, orgResourcePrefix) {
					return signin.Result{}, errInvalidTarget.WithHint("resource must be " + orgResourcePrefix + "<id>.")
				}
				if org != "" && org != strings.TrimPrefix(res, orgResourcePrefix) {
					return signin.Result{}, fosite.ErrInvalidRequest.WithHint("organisation_id and resource disagree.")
				}
				org = strings.TrimPrefix(res, orgResourcePrefix)
			}
			mode := identity.Mode(f.Get("mode"))
			if mode != "" && !mode.Valid() {
				return signin.Result{}, fosite.ErrInvalidRequest.WithHint("mode must be live or test.")
			}
			if org == "" && mode == "" {
				return signin.Result{}, fosite.ErrInvalidRequest.WithHint("Name the target: organisation_id (or resource) and/or mode.")
			}
			res, err := s.SwitchToken(ctx, subjectToken, org, mode, signinClient(c))
			switch {
			case errors.Is(err, signin.ErrInvalidSubjectToken):
				return signin.Result{}, grantError(err, "The subject_token is not a valid authd access token.")
			case errors.Is(err, signin.ErrOtherClient):
				return signin.Result{}, grantError(err, "The subject_token was issued to another client.")
			case errors.Is(err, signin.ErrForbiddenOrganisation):
				return signin.Result{}, grantError(err, errInvalidTarget.DescriptionField)
			case err != nil:
				return signin.Result{}, grantError(err, "")
			}
			return res, nil
		}}
}

// externalSignIn signs a contact in from another provider's token: the
// client must be bound to a business, whose organisation and mode the
// sign-in takes.
func externalSignIn(ctx context.Context, s *signin.Service, c *Client, iss, tok, tokType string, f map[string][]string) (signin.Result, error) {
	if iss != issuerFacebook {
		return signin.Result{}, fosite.ErrInvalidRequest.WithHintf("Unknown subject_issuer %q.", iss)
	}
	if _, ok := f["resource"]; ok || len(f["organisation_id"]) > 0 || len(f["mode"]) > 0 {
		return signin.Result{}, errInvalidTarget.WithHint("A sign-in with an external provider takes its organisation and mode from the client.")
	}
	t := binding(c).Tenant()
	if t == nil {
		return signin.Result{}, fosite.ErrInvalidClient.WithHint("This client is not bound to a business; Facebook sign-in needs one.")
	}
	var kind string
	switch tokType {
	case TokenTypeAccessToken:
		kind = selfservice.FacebookAccessToken
	case TokenTypeIDToken:
		kind = selfservice.FacebookIDToken
	default:
		return signin.Result{}, fosite.ErrInvalidRequest.WithHint("subject_token_type must be an access_token or an id_token type.")
	}
	nonce := ""
	if v := f["nonce"]; len(v) > 0 {
		nonce = v[0]
	}
	res, err := s.Facebook(ctx, signinClient(c), *t, tok, kind, nonce)
	if err != nil {
		return signin.Result{}, grantError(err, "")
	}
	return res, nil
}
