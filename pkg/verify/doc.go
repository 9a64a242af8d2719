// Package verify lets a backend service verify authd's access tokens in
// process, without a call to authd per request: it checks the signature
// against the issuer's published keys, the RFC 9068 claims, and, when
// asked, follows authd's revocation feed so a revoked token is refused
// within moments. It depends on the standard library and go-jose only;
// the gin adapter is the subpackage ginverify, and verifytest is a fake
// authd for tests.
//
// # Setting up
//
// New discovers the issuer (<issuer>/.well-known/openid-configuration)
// and fetches its JWKS; make one Verifier per process and share it:
//
//	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
//	defer cancel()
//	v, err := verify.New(ctx, "https://auth.example.com",
//		verify.WithAudience("https://orders.example.com"),
//		verify.WithRevocationFeed(clientID, clientSecret))
//	if err != nil { … }
//	defer v.Close()
//
// WithAudience is required. authd puts its issuer in a token's aud unless
// the client asked for one of its registered audiences (or the operator
// set tokens.default_audience): a service that accepts authd's default
// tokens passes WithAudience(issuer), a service with its own audience
// refuses tokens minted for others.
//
// # Verifying
//
// Verify checks a token and returns its Claims (subject, kind user,
// contact or client, organisation, mode live or test, scopes, client,
// jti, refresh family, times). Refusals match one of ErrInvalid,
// ErrExpired (the client should refresh), ErrRevoked and ErrAudience with
// errors.Is. What is checked:
//
//   - the JWS header: typ at+jwt, a kid of the issuer's JWKS and that
//     key's alg; only ES256, RS256 and EdDSA keys are used, so alg none and
//     HMAC are refused;
//   - iss is the issuer, aud contains the audience, exp and nbf with a
//     leeway (WithLeeway, 30s by default), sub, jti, kind, client_id and
//     iat present;
//   - with WithRevocationFeed, that no revocation covers the token.
//
// # Keys
//
// The JWKS is kept for the max-age of its Cache-Control (5 minutes when
// absent, between 10s and 24h), then refreshed in the background with
// If-None-Match while the held set keeps serving. A token signed by a kid
// the set does not hold makes the Verifier fetch the JWKS at once, at
// most every 10 seconds, so a key authd starts signing with is picked up
// without waiting for max-age. When authd is down, the last set fetched
// keeps serving (a failed fetch is retried every 10 seconds); tokens
// signed by a key that left the JWKS are refused once the set is
// refreshed.
//
// # Cache
//
// A token that passed every check is remembered (WithCacheSize, 10000 by
// default) under its SHA-256, never the token itself. A cache hit costs
// about a microsecond: it skips parsing and the signature, but checks exp,
// that the key is still published and the revocation state every time,
// so a cached token is refused as soon as it expires or is revoked.
//
// # Revocation
//
// With WithRevocationFeed(clientID, clientSecret), the Verifier follows
// GET <issuer>/oauth2/revocations (the client needs the permission
// revocations:read) as Server-Sent Events in one goroutine: New returns
// once the entries in force have been replayed, later entries arrive as
// authd records them, and a lost connection is reopened with backoff
// (100ms to 30s) and resumed after the last entry seen. Entries revoke a
// token (jti), a refresh family (sid), or every token issued up to a
// moment to a user, a contact or a client; each is dropped once nothing
// it covers can be valid. While the feed is disconnected, the entries
// already known keep applying; Status reports whether the feed is
// current.
//
// Without WithRevocationFeed there is no revocation check: a token stays
// valid until its exp (authd's access tokens live minutes). Use the feed
// wherever a sign-out, a password change or a disabled user must take
// effect at once.
//
// # HTTP
//
// Middleware protects a net/http handler: it reads `Authorization:
// Bearer <token>`, answers refusals as RFC 6750 asks (401 with
// `WWW-Authenticate: Bearer realm="…", error="invalid_token",
// error_description="…"`) and passes the claims on in the request context
// (FromContext). RequireScopes, RequireKind and RequireMode narrow a route
// further (403 insufficient_scope). Tokens are read from the header only,
// never from the query or a form.
//
// API keys (pk_…, sk_…) are not access tokens: services that accept them
// ask authd (introspection or forward-auth).
package verify
