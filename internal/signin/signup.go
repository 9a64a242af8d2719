package signin

import (
	"context"
	"errors"

	"github.com/authd/authd/internal/signup"
)

// SignUps completes organisation sign-ups (package signup).
type SignUps interface {
	Complete(ctx context.Context, k signup.Key, otpID, code string) (signup.Completed, error)
}

// UseSignUps installs the organisation sign-ups.
func (s *Service) UseSignUps(f SignUps) { s.signups = f }

// ErrSignUpsOff: no sign-up service is installed.
var ErrSignUpsOff = errors.New("signin: organisation sign-up is not configured")

// OrganisationSignUp completes an organisation's sign-up with its code
// (made with API key k) and signs the new owner in, acting for the new
// organisation in live mode.
func (s *Service) OrganisationSignUp(ctx context.Context, c Client, k signup.Key, otpID, code string) (Result, error) {
	if s.signups == nil {
		return Result{}, ErrSignUpsOff
	}
	done, err := s.signups.Complete(ctx, k, otpID, code)
	if err != nil {
		return Result{}, err
	}
	p, err := s.UserPrincipal(ctx, done.Owner.ID)
	if err != nil {
		return Result{}, err
	}
	return s.complete(ctx, p, c, nil, "organisation_signup", nil)
}
