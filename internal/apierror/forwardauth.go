package apierror

import (
	"net/http"

	"github.com/authd/authd/internal/forwardauth"
)

// ForwardAuth describes a refused forward-auth decision (every Status but
// 200): the same answer at /forward-auth and on Envoy's gRPC ext_authz.
func ForwardAuth(d forwardauth.Decision) *Error {
	switch d.Reason {
	case forwardauth.ExpiredToken:
		return New(http.StatusUnauthorized, CodeTokenExpired, "The access token expired; refresh it.")
	case forwardauth.InvalidToken:
		return New(http.StatusUnauthorized, CodeInvalidToken, "The access token is not valid.")
	case forwardauth.InvalidKey:
		return New(http.StatusUnauthorized, CodeInvalidAPIKey, "The API key is not valid.")
	case forwardauth.NoCredentials:
		return New(http.StatusUnauthorized, CodeInvalidToken, "A bearer token or an api_key header is required.")
	case forwardauth.RateLimited:
		return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited, OAuth: OAuthTooManyRequests,
			Detail: "Too many requests for this API key.", RetryAfter: d.RetryAfter}
	case forwardauth.InsufficientScope:
		return New(http.StatusForbidden, CodeInsufficientScope, "The credential lacks a scope this path requires.")
	default:
		return New(http.StatusForbidden, CodeForbidden, "This credential may not call this path.")
	}
}
