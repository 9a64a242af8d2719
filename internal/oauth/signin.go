package oauth

import (
	"github.com/authd/authd/internal/signin"
)

// EnableSignIn registers the grants that sign people in and renew their
// tokens — password, refresh_token, token exchange (masquerading and
// Facebook) and the OTP grant, every one through signin — plus
// introspection and revocation of refresh tokens.
func (p *Provider) EnableSignIn(s *signin.Service) {
	p.AddGrant(passwordGrant(s))
	p.AddGrant(refreshGrant(s))
	p.AddGrant(exchangeGrant(s))
	p.AddGrant(otpGrant(s))
	p.AddIntrospector(refreshIntrospector{s: s})
	p.AddRevoker(refreshRevoker{s: s})
}
