package oauth

import (
	"github.com/ory/fosite/handler/oauth2"

	"github.com/authd/authd/internal/signin"
)

// EnableSignIn registers the grants that sign people in and renew their
// tokens: password (fosite's resource-owner handler), refresh_token and
// token exchange (masquerading, and external providers such as Facebook),
// plus introspection and revocation of refresh tokens.
func (p *Provider) EnableSignIn(s *signin.Service, auth PasswordAuthenticator, external ...ExternalExchanger) {
	rs := s.RefreshTokens()
	p.fc.RefreshTokenScopes = []string{}                                                                  // every sign-in gets a refresh token
	p.AddGrant(GrantPassword, &passwordGrant{inner: &oauth2.ResourceOwnerPasswordCredentialsGrantHandler{ //nolint:staticcheck // SA1019: see passwordGrant
		HandleHelper: p.HandleHelper(),
		ResourceOwnerPasswordCredentialsGrantStorage: &ropcStorage{accessTokens: p.at, auth: auth},
		RefreshTokenStrategy:                         &refreshStrategy{rs: rs},
		Config:                                       p.fc,
	}})
	p.AddGrant(GrantRefreshToken, &refreshGrant{signin: s})
	ex := &exchangeGrant{signin: s, tokens: p.tokens, external: map[string]ExternalExchanger{}}
	for _, e := range external {
		ex.external[e.Issuer()] = e
	}
	p.exchange = ex
	p.AddGrant(GrantTokenExchange, ex)
	p.AddIntrospector(refreshIntrospector{rs: rs})
	p.AddRevoker(refreshRevoker{rs: rs})
}

// AddExternalExchanger registers another subject_issuer for token exchange
// (after EnableSignIn).
func (p *Provider) AddExternalExchanger(e ExternalExchanger) {
	if p.exchange != nil {
		p.exchange.external[e.Issuer()] = e
	}
}
