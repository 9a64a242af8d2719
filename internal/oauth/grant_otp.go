package oauth

import (
	"context"
	"errors"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/signin"
)

// otpGrant is urn:authd:params:oauth:grant-type:otp: otp_id and code (the
// code was requested with POST /self-service/v1/otps, whose API key gave
// it its tenant). A client bound to a business accepts only codes of that
// business and of its mode (live when the client names none), as the
// password and Facebook grants sign in that tenant's contacts only; a
// code of another tenant is invalid_grant and its attempts are not
// counted, so such a client cannot burn it either.
func otpGrant(s *signin.Service) *grant {
	return &grant{name: GrantOTP, signIn: func(ctx context.Context, r fosite.AccessRequester, c *Client) (signin.Result, error) {
		f := r.GetRequestForm()
		id, code := f.Get("otp_id"), f.Get("code")
		if id == "" || code == "" {
			return signin.Result{}, fosite.ErrInvalidRequest.WithHint("otp_id and code are required.")
		}
		aud, err := requestedAudience(r, c)
		if err != nil {
			return signin.Result{}, err
		}
		tenant := binding(c).Tenant()
		res, err := s.OTP(ctx, signinClient(c, aud...), tenant, id, code)
		switch {
		case errors.Is(err, selfservice.ErrOTPExpired) && tenant != nil:
			return signin.Result{}, grantError(err, "The code expired, was used up, or was issued for another business or mode than this client's.")
		case err != nil:
			return signin.Result{}, grantError(err, "")
		}
		return res, nil
	}}
}
