package app

import (
	"github.com/authd/authd/internal/signup"
)

// wireSignUp builds organisation sign-up (after the OTP service) and
// lets signin complete it.
func (a *App) wireSignUp() {
	rl := a.Config.RateLimits
	a.SignUp = signup.New(a.Identity, a.OTP, a.Audit, signup.Config{
		PerIPPerHour:     rl.SignupPerIPPerHour,
		PerAPIKeyPerHour: rl.SignupPerAPIKeyPerHour,
		PerEmailPerHour:  rl.SignupPerEmailPerHour,
	})
	a.SignIn.UseSignUps(a.SignUp)
}
