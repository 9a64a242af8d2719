package oauth

import (
	"context"
	"errors"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/store"
)

// OTPValidator checks a one-time code and returns the contact it signs in.
type OTPValidator interface {
	ValidateOTP(ctx context.Context, t *selfservice.Tenant, otpID, code string) (store.Contact, signin.Principal, error)
}

// otpGrant is urn:authd:params:oauth:grant-type:otp: otp_id and code (the
// code was requested with POST /self-service/v1/otps, whose API key gave
// it its tenant). A client bound to a business accepts only codes of that
// business and of its mode (live when the client names none), as the
// password and Facebook grants sign in that tenant's contacts only; a
// code of another tenant is invalid_grant and its attempts are not
// counted, so such a client cannot burn it either.
type otpGrant struct {
	otp    OTPValidator
	signin *signin.Service
}

var _ fosite.TokenEndpointHandler = (*otpGrant)(nil)

func (g *otpGrant) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !g.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	if !r.GetClient().GetGrantTypes().Has(GrantOTP) {
		return fosite.ErrUnauthorizedClient.WithHint("The client may not use the OTP grant.")
	}
	f := r.GetRequestForm()
	id, code := f.Get("otp_id"), f.Get("code")
	if id == "" || code == "" {
		return fosite.ErrInvalidRequest.WithHint("otp_id and code are required.")
	}
	tenant := clientTenant(r.GetClient())
	_, p, err := g.otp.ValidateOTP(ctx, tenant, id, code)
	switch {
	case errors.Is(err, selfservice.ErrOTPExpired) && tenant != nil:
		return grantError(err, "The code expired, was used up, or was issued for another business or mode than this client's.")
	case err != nil:
		return grantError(err, "")
	}
	toks, err := g.signin.Mint(ctx, p, signinClient(r.GetClient()), nil)
	if err != nil {
		return err
	}
	r.GetSession().(*Session).issue(p, toks)
	return nil
}

// clientTenant is the business and mode a client is bound to (its mode
// defaulting to live, as for the password grant), or nil for a client
// bound to none.
func clientTenant(c fosite.Client) *selfservice.Tenant {
	bc, ok := c.(*Client)
	if !ok || bc.OrganisationID == "" {
		return nil
	}
	mode := bc.Mode
	if mode == "" {
		mode = store.ModeLive
	}
	return &selfservice.Tenant{BusinessID: bc.OrganisationID, Mode: mode}
}

func (g *otpGrant) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !g.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	return populateIssued(r, resp)
}

func (g *otpGrant) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (g *otpGrant) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne(GrantOTP)
}

// EnableOTP registers the OTP grant.
func (p *Provider) EnableOTP(v OTPValidator, s *signin.Service) {
	p.AddGrant(GrantOTP, &otpGrant{otp: v, signin: s})
}
