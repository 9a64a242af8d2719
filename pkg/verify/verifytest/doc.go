// Package verifytest is a fake authd for tests of services that verify
// authd access tokens with package verify: an httptest server that serves
// discovery, a JWKS and the revocation feed, and signs tokens with keys
// it holds. It panics on failures it cannot report (it is for tests).
//
//	authd := verifytest.NewIssuer()
//	defer authd.Close()
//	v, err := verify.New(ctx, authd.URL(), verify.WithAudience(authd.URL()))
//	…
//	tok := authd.Token(authd.Claims()) // a valid user token
package verifytest
