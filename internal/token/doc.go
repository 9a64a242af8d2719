// Package token issues and verifies authd's RFC 9068 JWT access tokens
// (typ at+jwt). It is the one verifier every entry point uses: RFC 7662
// introspection, forward-auth and bearer authentication of the CRM-style
// endpoints. Revoked access tokens are remembered by jti in the shared
// cache until they would have expired.
package token
