// Package oauth is authd's OAuth 2.0 core: fosite wired with authd's
// clients, sessions and JWT access-token strategy, and the net/http
// handlers of the token (RFC 6749), introspection (RFC 7662) and
// revocation (RFC 7009) endpoints, plus the authorization-server metadata
// (RFC 8414) that lists exactly the grants registered here.
//
// fosite stays inside this package. Grants beyond client_credentials are
// fosite.TokenEndpointHandlers registered with Provider.AddGrant; token
// kinds beyond access tokens (refresh tokens, API keys) plug into
// introspection and revocation through the Introspector and Revoker
// interfaces.
package oauth
