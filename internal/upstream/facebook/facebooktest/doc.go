// Package facebooktest fakes Facebook for tests: Server is a Graph API
// (debug_token and /me) that checks the app access token and
// appsecret_proof like graph.facebook.com, serves valid, expired,
// other-app, revoked and non-user tokens, counts calls and can be taken
// down or made to hang; LimitedLogin is a Limited Login issuer that signs
// RS256 id tokens and publishes its rotating keys as a JWKS.
//
// Point facebook.Config (or config.Facebook) at them: GraphURL = URL(),
// LimitedLoginJWKSURL = JWKSURL(), LimitedLoginIssuer = Issuer().
package facebooktest
