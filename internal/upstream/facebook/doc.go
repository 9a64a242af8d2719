// Package facebook verifies Facebook sign-in tokens with Facebook: it is
// authd's only client of the Graph API and of Facebook's Limited Login
// (OpenID Connect) keys.
//
// Two kinds of token are accepted, each through one method of Verifier:
//
//   - a classic Graph user access token (VerifyAccessToken): Graph's
//     debug_token, called with the app access token (APP_ID|APP_SECRET),
//     must call it valid, issued to our app, of type USER and unexpired;
//     then /me, called with the user token and its appsecret_proof, gives
//     the profile, whose id must be the one debug_token named;
//   - a Limited Login id token (VerifyIDToken): a JWT signed RS256 by a key
//     of Facebook's JWKS, for our app (aud), from the configured issuer,
//     unexpired and carrying the expected nonce.
//
// Every failure is one of two answers: ErrInvalidToken (the token is not a
// valid sign-in for this app, whatever the reason) or ErrUnavailable
// (Facebook could not give an answer: unreachable, slow, 5xx, throttled,
// garbage, or it refused our own app credentials). Each verification is
// bounded by Config.Timeout and never retried.
//
// Graph answers are cached in the shared cache.Cache under
// "fb:at:"+hex(SHA-256(app id, token)), never under the token itself:
// verified profiles for min(CacheTTL, token lifetime), refusals for
// InvalidTTL, outages never. Concurrent verifications of one token share a
// single Graph round trip.
//
// Tokens, the app secret and appsecret_proof travel in Graph query strings,
// as Graph expects, so no request URL is ever logged or kept in an error
// (the *url.Error of net/http is unwrapped), and Graph's own messages are
// scrubbed before they reach a log line.
//
// facebooktest is a fake Graph API and Limited Login issuer for tests.
package facebook
