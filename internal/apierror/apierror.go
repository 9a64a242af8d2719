package apierror

import (
	"errors"
	"net/http"
	"time"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/clients"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/integrations"
	"github.com/authd/authd/internal/otp"
	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/signup"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// Stable machine-readable problem codes (listed in openapi.yaml).
const (
	CodeBadRequest         = "BAD_REQUEST"
	CodeValidation         = "VALIDATION_FAILED"
	CodeNotFound           = "NOT_FOUND"
	CodeConflict           = "CONFLICT"
	CodeUnavailable        = "SERVICE_UNAVAILABLE"
	CodeInternal           = "INTERNAL_ERROR"
	CodeRateLimited        = "RATE_LIMITED"
	CodeTokenExpired       = "TOKEN_EXPIRED"
	CodeInvalidToken       = "INVALID_TOKEN"
	CodeInvalidAPIKey      = "INVALID_API_KEY"
	CodeForbidden          = "FORBIDDEN"
	CodeMethodNotAllowed   = "METHOD_NOT_ALLOWED"
	CodePayloadTooLarge    = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMedia   = "UNSUPPORTED_MEDIA_TYPE"
	CodeInsufficientScope  = "INSUFFICIENT_SCOPE"
	CodeForbiddenOrg       = "FORBIDDEN_ORGANISATION"
	CodeInvalidCredentials = "INVALID_CREDENTIALS"
	CodeInvalidRefresh     = "INVALID_REFRESH_TOKEN"
	CodeInvalidOTP         = "INVALID_OTP"
	CodeOTPExpired         = "OTP_EXPIRED"
	CodeOTPDelivery        = "OTP_DELIVERY_FAILED"
	CodeInvalidFacebook    = "INVALID_FACEBOOK_TOKEN"
	CodeFacebookDown       = "FACEBOOK_UNAVAILABLE"
	CodeContactNotFound    = "CONTACT_NOT_FOUND"
	// CodeIntegrationNotConfigured: the business has no integration of
	// its own in this mode (the service-wide one applies).
	CodeIntegrationNotConfigured = "INTEGRATION_NOT_CONFIGURED"
)

// Codes lists every problem code, for the spec's check.
func Codes() []string {
	return []string{CodeBadRequest, CodeValidation, CodeNotFound, CodeConflict, CodeUnavailable, CodeInternal,
		CodeRateLimited, CodeTokenExpired, CodeInvalidToken, CodeInvalidAPIKey, CodeForbidden, CodeMethodNotAllowed,
		CodePayloadTooLarge, CodeUnsupportedMedia, CodeInsufficientScope, CodeForbiddenOrg, CodeInvalidCredentials,
		CodeInvalidRefresh, CodeInvalidOTP, CodeOTPExpired, CodeOTPDelivery, CodeInvalidFacebook, CodeFacebookDown,
		CodeContactNotFound, CodeIntegrationNotConfigured}
}

// RFC 6749 §5.2 errors (and RFC 8693's invalid_target, authd's
// too_many_requests).
const (
	OAuthInvalidRequest      = "invalid_request"
	OAuthInvalidClient       = "invalid_client"
	OAuthInvalidGrant        = "invalid_grant"
	OAuthUnauthorizedClient  = "unauthorized_client"
	OAuthInvalidScope        = "invalid_scope"
	OAuthInvalidTarget       = "invalid_target"
	OAuthTemporarily         = "temporarily_unavailable"
	OAuthServerError         = "server_error"
	OAuthTooManyRequests     = "too_many_requests"
	OAuthUnsupportedGrant    = "unsupported_grant_type"
	OAuthUnsupportedTokenTyp = "unsupported_token_type"
)

// Error is a failure as clients see it. Cause is logged, never sent.
type Error struct {
	Status     int    // HTTP status of the problem+json answer
	Code       string // problem code
	OAuth      string // RFC 6749 error at /oauth2/*
	Detail     string // the hint: what happened, what to do
	Field      string // the offending input field, for validation failures
	RetryAfter time.Duration
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.Detail + ": " + e.Cause.Error()
	}
	return e.Code + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Cause }

// OAuthStatus is the HTTP status of the RFC 6749 answer.
func (e *Error) OAuthStatus() int {
	switch e.OAuth {
	case OAuthInvalidClient:
		return http.StatusUnauthorized
	case OAuthTemporarily:
		return http.StatusServiceUnavailable
	case OAuthServerError:
		return http.StatusInternalServerError
	case OAuthTooManyRequests:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// Internal reports whether the failure is the server's (it is logged at
// ERROR with its cause).
func (e *Error) Internal() bool { return e.Status >= 500 }

// New is an error a door or service returns as it is.
func New(status int, code, detail string) *Error {
	return &Error{Status: status, Code: code, Detail: detail, OAuth: oauthFor(status)}
}

// Invalid is a validation failure of one field (422).
func Invalid(field, msg string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: CodeValidation, Detail: msg, Field: field, OAuth: OAuthInvalidRequest}
}

func oauthFor(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return OAuthTooManyRequests
	case status == http.StatusServiceUnavailable:
		return OAuthTemporarily
	case status >= 500:
		return OAuthServerError
	}
	return OAuthInvalidRequest
}

// rule maps the errors match accepts.
type rule struct {
	match func(error) bool
	to    func(error) *Error
}

func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

func fixed(status int, code, oauth, detail string) func(error) *Error {
	return func(error) *Error { return &Error{Status: status, Code: code, OAuth: oauth, Detail: detail} }
}

// table is the one mapping, most specific first.
var table = []rule{
	{func(err error) bool { var v *identity.ValidationError; return errors.As(err, &v) }, func(err error) *Error {
		var v *identity.ValidationError
		errors.As(err, &v)
		return Invalid(v.Field, v.Message)
	}},
	{func(err error) bool { var v *apikey.ValidationError; return errors.As(err, &v) }, func(err error) *Error {
		var v *apikey.ValidationError
		errors.As(err, &v)
		return Invalid(v.Field, v.Message)
	}},
	{func(err error) bool { var v *clients.ValidationError; return errors.As(err, &v) }, func(err error) *Error {
		var v *clients.ValidationError
		errors.As(err, &v)
		return Invalid(v.Field, v.Message)
	}},
	{func(err error) bool { var v *integrations.ValidationError; return errors.As(err, &v) }, func(err error) *Error {
		var v *integrations.ValidationError
		errors.As(err, &v)
		return Invalid(v.Field, v.Message)
	}},
	{func(err error) bool { var r *integrations.RateLimitedError; return errors.As(err, &r) }, func(err error) *Error {
		var r *integrations.RateLimitedError
		errors.As(err, &r)
		return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited, OAuth: OAuthTooManyRequests,
			Detail: "Too many test messages; retry later.", RetryAfter: r.RetryAfter}
	}},
	{func(err error) bool { var d *integrations.DeliveryError; return errors.As(err, &d) }, func(err error) *Error {
		var d *integrations.DeliveryError
		errors.As(err, &d)
		return &Error{Status: http.StatusBadGateway, Code: CodeOTPDelivery, OAuth: OAuthTemporarily,
			Detail: "The test message was not delivered: " + d.Reason}
	}},
	{is(integrations.ErrNotConfigured), fixed(http.StatusNotFound, CodeIntegrationNotConfigured, OAuthInvalidRequest,
		"This business has no OTP integration of its own in this mode: the service-wide sender delivers its codes.")},
	{is(integrations.ErrForbidden), fixed(http.StatusForbidden, CodeForbidden, OAuthInvalidRequest,
		"Configuring integrations needs a user token with the admin or owner role, or the business's secret key.")},
	{is(integrations.ErrNoOrganisation), fixed(http.StatusForbidden, CodeForbiddenOrg, OAuthInvalidRequest, "The token acts for no organisation the user has rights on.")},
	{is(integrations.ErrNotBusiness), fixed(http.StatusForbidden, CodeForbiddenOrg, OAuthInvalidRequest, "Integrations belong to a business: act for the business itself.")},
	{func(err error) bool { var r *identity.RateLimitedError; return errors.As(err, &r) }, func(err error) *Error {
		var r *identity.RateLimitedError
		errors.As(err, &r)
		return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited, OAuth: OAuthTooManyRequests,
			Detail: "Too many attempts; retry later.", RetryAfter: r.RetryAfter}
	}},
	{func(err error) bool { var r *otp.RateLimitedError; return errors.As(err, &r) }, func(err error) *Error {
		var r *otp.RateLimitedError
		errors.As(err, &r)
		return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited, OAuth: OAuthTooManyRequests,
			Detail: "Too many codes requested; retry later.", RetryAfter: r.RetryAfter}
	}},
	{func(err error) bool { var r *apikey.RateLimitError; return errors.As(err, &r) }, func(err error) *Error {
		var r *apikey.RateLimitError
		errors.As(err, &r)
		return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited, OAuth: OAuthTooManyRequests,
			Detail: "Too many requests for this API key.", RetryAfter: r.RetryAfter}
	}},
	{is(signup.ErrPublicKeyOnly), fixed(http.StatusForbidden, CodeInsufficientScope, OAuthInvalidRequest, "This endpoint needs a public API key.")},
	{is(signup.ErrLiveOnly), fixed(http.StatusForbidden, CodeForbidden, OAuthInvalidRequest, "Organisations are signed up in live mode only: use a live key.")},
	{is(signup.ErrEmailTaken), fixed(http.StatusConflict, CodeConflict, OAuthInvalidRequest,
		"This email already has an account: sign in with it instead. Nothing was created.")},
	{is(selfservice.ErrInvalidOTP), fixed(http.StatusUnauthorized, CodeInvalidOTP, OAuthInvalidGrant, "The code is not valid.")},
	{is(selfservice.ErrOTPExpired), fixed(http.StatusUnauthorized, CodeOTPExpired, OAuthInvalidGrant, "The code expired or was used up; request a new one.")},
	{is(otp.ErrDeliveryFailed), func(err error) *Error {
		return &Error{Status: http.StatusBadGateway, Code: CodeOTPDelivery, OAuth: OAuthTemporarily,
			Detail: "The code could not be delivered; nothing was sent. Retry later.", Cause: err}
	}},
	{is(otp.ErrInvalidRequest), func(error) *Error { return Invalid("channel", "The channel does not match the destination.") }},
	{is(otp.ErrRegionNotAllowed), func(error) *Error { return Invalid("phone_number", "SMS cannot be sent to this country.") }},
	{is(selfservice.ErrInvalidFacebookToken), fixed(http.StatusUnauthorized, CodeInvalidFacebook, OAuthInvalidGrant, "Facebook does not vouch for this token.")},
	{is(selfservice.ErrFacebookUnavailable), func(err error) *Error {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeFacebookDown, OAuth: OAuthTemporarily,
			Detail: "Facebook cannot be reached; nothing was changed. Retry later.", RetryAfter: 5 * time.Second, Cause: err}
	}},
	{is(selfservice.ErrContactNotFound), fixed(http.StatusNotFound, CodeContactNotFound, OAuthInvalidGrant,
		"No contact has this Facebook account, and this business does not register contacts automatically.")},
	{is(selfservice.ErrFacebookNotConfigured), func(error) *Error { return Invalid("provider", "Facebook sign-in is not configured.") }},
	{is(identity.ErrInvalidCredentials), fixed(http.StatusUnauthorized, CodeInvalidCredentials, OAuthInvalidGrant, "The credentials are not valid.")},
	{is(signin.ErrKeyNotForToken), fixed(http.StatusUnauthorized, CodeInvalidAPIKey, OAuthInvalidGrant, "The api_key is not of the refresh token's business and mode.")},
	{is(signin.ErrInvalidGrant), fixed(http.StatusUnauthorized, CodeInvalidRefresh, OAuthInvalidGrant, "The refresh token is invalid, expired or revoked; sign in again.")},
	{is(signin.ErrForbiddenOrganisation), fixed(http.StatusForbidden, CodeForbiddenOrg, OAuthInvalidTarget, "You may not act for this organisation.")},
	{is(signin.ErrInvalidSubjectToken), fixed(http.StatusUnauthorized, CodeInvalidToken, OAuthInvalidGrant, "The access token is not valid.")},
	{is(signin.ErrNoSuchSession), fixed(http.StatusNotFound, CodeNotFound, OAuthInvalidRequest, "There is no such session.")},
	{is(signin.ErrNotYourToken), fixed(http.StatusForbidden, CodeForbidden, OAuthInvalidRequest, "The refresh token belongs to someone else.")},
	{is(signin.ErrOtherClient), fixed(http.StatusForbidden, CodeForbidden, OAuthInvalidGrant, "This token was issued to another client; sign in through it.")},
	{is(identity.ErrOutsideScope), fixed(http.StatusForbidden, CodeForbiddenOrg, OAuthInvalidTarget,
		"This token acts for another organisation: switch to this one (or one above it) first.")},
	{is(identity.ErrNoBusiness), fixed(http.StatusForbidden, CodeForbiddenOrg, OAuthInvalidTarget, "Contacts belong to a business: act for the business itself.")},
	{is(identity.ErrForbidden), fixed(http.StatusForbidden, CodeForbidden, OAuthInvalidGrant, "You do not have the right to do this.")},
	{is(identity.ErrConflict), fixed(http.StatusConflict, CodeConflict, OAuthInvalidRequest, "The resource already exists.")},
	{is(apikey.ErrConflict), fixed(http.StatusConflict, CodeConflict, OAuthInvalidRequest, "Only an active key can be rolled.")},
	{is(apikey.ErrForbidden), fixed(http.StatusForbidden, CodeForbidden, OAuthInvalidRequest, "Managing API keys needs a user token with the admin or owner role, or a secret key.")},
	{is(apikey.ErrNoOrganisation), fixed(http.StatusForbidden, CodeForbiddenOrg, OAuthInvalidRequest, "The token acts for no organisation the user has rights on.")},
	{is(clients.ErrForbidden), fixed(http.StatusForbidden, CodeForbidden, OAuthInvalidRequest,
		"Managing OAuth clients needs a user token of an admin or owner of the service owner, acting for the service owner itself.")},
	{is(clients.ErrUnknown), fixed(http.StatusNotFound, CodeNotFound, OAuthInvalidRequest, "No such client.")},
	{is(clients.ErrPublic), fixed(http.StatusConflict, CodeConflict, OAuthInvalidRequest, "A public client has no secret to rotate.")},
	{is(clients.ErrReserved), fixed(http.StatusConflict, CodeConflict, OAuthInvalidRequest,
		"The CRM-style endpoints issue their tokens for this client: it cannot be deleted.")},
	{is(apikey.ErrInvalid), fixed(http.StatusUnauthorized, CodeInvalidAPIKey, OAuthInvalidGrant, "The API key is not valid.")},
	{is(token.ErrExpired), fixed(http.StatusUnauthorized, CodeTokenExpired, OAuthInvalidGrant, "The access token expired; refresh it.")},
	{is(token.ErrRevoked), fixed(http.StatusUnauthorized, CodeInvalidToken, OAuthInvalidGrant, "The access token is not valid.")},
	{is(token.ErrInvalid), fixed(http.StatusUnauthorized, CodeInvalidToken, OAuthInvalidGrant, "The access token is not valid.")},
	{is(store.ErrNotFound), fixed(http.StatusNotFound, CodeNotFound, OAuthInvalidRequest, "The resource does not exist.")},
	{is(store.ErrAlreadyExists), fixed(http.StatusConflict, CodeConflict, OAuthInvalidRequest, "The resource already exists.")},
	{is(store.ErrInvalidValue), fixed(http.StatusBadRequest, CodeBadRequest, OAuthInvalidRequest,
		"The request holds a value that cannot be stored or looked up (e.g. a NUL character).")},
	{IsOutage, func(err error) *Error {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, OAuth: OAuthTemporarily,
			Detail: "A backend is unavailable; nothing was changed. Retry later.", RetryAfter: 5 * time.Second, Cause: err}
	}},
}

// IsOutage reports whether err is a dependency that could not answer (the
// database, Redis, a deadline), which clients should retry.
func IsOutage(err error) bool {
	return store.Unavailable(err) || errors.Is(err, cache.ErrUnavailable)
}

// Known reports whether err is (or wraps) an *Error or a domain error the
// table knows.
func Known(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return true
	}
	for _, r := range table {
		if r.match(err) {
			return true
		}
	}
	return false
}

// For describes err to a client: err itself when it is an *Error, the
// table's entry for the first domain error it wraps, or a 500 whose cause
// is err.
func For(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	for _, r := range table {
		if r.match(err) {
			return r.to(err)
		}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, OAuth: OAuthServerError,
		Detail: "An internal error occurred.", Cause: err}
}

// WithDetail returns a copy of e with another hint.
func (e *Error) WithDetail(detail string) *Error {
	c := *e
	c.Detail = detail
	return &c
}
