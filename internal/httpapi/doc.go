// Package httpapi is authd's HTTP surface: the gin engines of the public
// and admin listeners, their middleware (request ids, access logs, body
// limits, metrics, panic recovery), the one error renderer for the
// CRM-style endpoints (RFC 9457 problem+json with a stable code), the
// discovery and JWKS documents, and the mounting of the OAuth endpoints,
// which render RFC 6749 errors themselves.
//
// gin is imported nowhere else.
package httpapi
