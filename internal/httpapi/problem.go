package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/otp"
	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/store"
)

// Stable machine-readable error codes (listed in openapi.yaml).
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
)

// APIError is an error with an HTTP status and a stable code. Internal is
// logged, never sent.
type APIError struct {
	Status     int
	Code       string
	Title      string
	Detail     string
	Field      string
	RetryAfter time.Duration
	Internal   error
}

func (e *APIError) Error() string {
	if e.Internal != nil {
		return e.Code + ": " + e.Detail + ": " + e.Internal.Error()
	}
	return e.Code + ": " + e.Detail
}

func (e *APIError) Unwrap() error { return e.Internal }

// NewError builds an APIError.
func NewError(status int, code, detail string) *APIError {
	return &APIError{Status: status, Code: code, Detail: detail}
}

// Problem is the RFC 9457 body.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// handler is a gin handler that returns its error for renderError.
type handler func(*gin.Context) error

// wrap adapts a handler: one place renders every error.
func wrap(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			renderError(c, err)
		}
	}
}

// renderError maps err to a problem+json answer. Unknown errors are
// logged with the request id and answered 500 without their text.
func renderError(c *gin.Context, err error) {
	var (
		apiErr *APIError
		valErr *identity.ValidationError
		rlErr  *identity.RateLimitedError
		otpRL  *otp.RateLimitedError
	)
	switch {
	case errors.As(err, &apiErr):
	case errors.As(err, &valErr):
		apiErr = invalid(valErr.Field, valErr.Message)
	case errors.As(err, &rlErr):
		apiErr = &APIError{Status: http.StatusTooManyRequests, Code: CodeRateLimited, Detail: "Too many attempts; retry later.", RetryAfter: rlErr.RetryAfter}
	case errors.As(err, &otpRL):
		apiErr = &APIError{Status: http.StatusTooManyRequests, Code: CodeRateLimited, Detail: "Too many codes requested; retry later.", RetryAfter: otpRL.RetryAfter}
	case errors.Is(err, selfservice.ErrInvalidOTP):
		apiErr = NewError(http.StatusUnauthorized, CodeInvalidOTP, "The code is not valid.")
	case errors.Is(err, selfservice.ErrOTPExpired):
		apiErr = NewError(http.StatusUnauthorized, CodeOTPExpired, "The code expired or was used up; request a new one.")
	case errors.Is(err, otp.ErrDeliveryFailed):
		apiErr = &APIError{Status: http.StatusBadGateway, Code: CodeOTPDelivery, Detail: "The code could not be delivered; nothing was sent. Retry later.", Internal: err}
	case errors.Is(err, otp.ErrInvalidRequest):
		apiErr = invalid("channel", "The channel does not match the destination.")
	case errors.Is(err, selfservice.ErrInvalidFacebookToken):
		apiErr = NewError(http.StatusUnauthorized, CodeInvalidFacebook, "Facebook does not vouch for this token.")
	case errors.Is(err, selfservice.ErrFacebookUnavailable):
		apiErr = &APIError{Status: http.StatusServiceUnavailable, Code: CodeFacebookDown, Detail: "Facebook cannot be reached; nothing was changed. Retry later.",
			RetryAfter: 5 * time.Second, Internal: err}
	case errors.Is(err, selfservice.ErrContactNotFound):
		apiErr = NewError(http.StatusNotFound, CodeContactNotFound, "No contact has this Facebook account, and this business does not register contacts automatically.")
	case errors.Is(err, selfservice.ErrFacebookNotConfigured):
		apiErr = invalid("provider", "Facebook sign-in is not configured.")
	case errors.Is(err, otp.ErrRegionNotAllowed):
		apiErr = invalid("phone_number", "SMS cannot be sent to this country.")
	case errors.Is(err, identity.ErrInvalidCredentials):
		apiErr = NewError(http.StatusUnauthorized, CodeInvalidCredentials, "The credentials are not valid.")
	case errors.Is(err, signin.ErrInvalidGrant):
		apiErr = NewError(http.StatusUnauthorized, CodeInvalidRefresh, "The refresh token is invalid, expired or revoked; sign in again.")
	case errors.Is(err, signin.ErrForbiddenOrganisation):
		apiErr = NewError(http.StatusForbidden, CodeForbiddenOrg, "You may not act for this organisation.")
	case errors.Is(err, signin.ErrOtherClient):
		apiErr = NewError(http.StatusForbidden, CodeForbidden, "This token was issued to another client; sign in through the back office.")
	case errors.Is(err, identity.ErrOutsideScope):
		apiErr = NewError(http.StatusForbidden, CodeForbiddenOrg,
			"This token acts for another organisation: switch to this one (or one above it) first.")
	case errors.Is(err, identity.ErrNoBusiness):
		apiErr = NewError(http.StatusForbidden, CodeForbiddenOrg, "Contacts belong to a business: act for the business itself.")
	case errors.Is(err, identity.ErrForbidden):
		apiErr = NewError(http.StatusForbidden, CodeForbidden, "You do not have the right to do this.")
	case errors.Is(err, identity.ErrConflict):
		apiErr = NewError(http.StatusConflict, CodeConflict, "The resource already exists.")
	case errors.Is(err, store.ErrNotFound):
		apiErr = NewError(http.StatusNotFound, CodeNotFound, "The resource does not exist.")
	case errors.Is(err, store.ErrAlreadyExists):
		apiErr = NewError(http.StatusConflict, CodeConflict, "The resource already exists.")
	case errors.Is(err, store.ErrInvalidValue):
		apiErr = NewError(http.StatusBadRequest, CodeBadRequest, "The request holds a value that cannot be stored (e.g. a NUL character).")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, cache.ErrUnavailable):
		apiErr = &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Detail: "A backend is unavailable; nothing was changed. Retry later.", RetryAfter: 5 * time.Second, Internal: err}
	default:
		apiErr = &APIError{Status: http.StatusInternalServerError, Code: CodeInternal,
			Detail: "An internal error occurred.", Internal: err}
	}
	if apiErr.Internal != nil || apiErr.Status >= 500 {
		logger := slog.Default()
		if l, ok := c.Get(ctxLogger); ok {
			logger = l.(*slog.Logger)
		}
		logger.ErrorContext(c.Request.Context(), "request failed",
			"request_id", requestID(c), "route", c.FullPath(), "status", apiErr.Status, "code", apiErr.Code, "error", err)
		c.Set(ctxErrorLogged, true)
	}
	writeProblem(c, apiErr)
}

func writeProblem(c *gin.Context, e *APIError) {
	title := e.Title
	if title == "" {
		title = http.StatusText(e.Status)
	}
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(e.Status, Problem{
		Type:      "urn:authd:problem:" + e.Code,
		Title:     title,
		Status:    e.Status,
		Detail:    e.Detail,
		Instance:  c.Request.URL.Path,
		Code:      e.Code,
		Field:     e.Field,
		RequestID: requestID(c),
	})
}
