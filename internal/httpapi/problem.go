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
	)
	switch {
	case errors.As(err, &apiErr):
	case errors.As(err, &valErr):
		apiErr = invalid(valErr.Field, valErr.Message)
	case errors.As(err, &rlErr):
		apiErr = &APIError{Status: http.StatusTooManyRequests, Code: CodeRateLimited, Detail: "Too many attempts; retry later.", RetryAfter: rlErr.RetryAfter}
	case errors.Is(err, identity.ErrInvalidCredentials):
		apiErr = NewError(http.StatusUnauthorized, CodeInvalidCredentials, "The credentials are not valid.")
	case errors.Is(err, signin.ErrInvalidGrant):
		apiErr = NewError(http.StatusUnauthorized, CodeInvalidRefresh, "The refresh token is invalid, expired or revoked; sign in again.")
	case errors.Is(err, signin.ErrForbiddenOrganisation):
		apiErr = NewError(http.StatusForbidden, CodeForbiddenOrg, "You may not act for this organisation.")
	case errors.Is(err, identity.ErrForbidden):
		apiErr = NewError(http.StatusForbidden, CodeForbidden, "You do not have the right to do this.")
	case errors.Is(err, identity.ErrConflict):
		apiErr = NewError(http.StatusConflict, CodeConflict, "The resource already exists.")
	case errors.Is(err, store.ErrNotFound):
		apiErr = NewError(http.StatusNotFound, CodeNotFound, "The resource does not exist.")
	case errors.Is(err, store.ErrAlreadyExists):
		apiErr = NewError(http.StatusConflict, CodeConflict, "The resource already exists.")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, cache.ErrUnavailable):
		apiErr = &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Detail: "A backend is unavailable; nothing was changed. Retry later.", RetryAfter: 5 * time.Second, Internal: err}
	default:
		apiErr = &APIError{Status: http.StatusInternalServerError, Code: CodeInternal,
			Detail: "An internal error occurred.", Internal: err}
	}
	if apiErr.Internal != nil || apiErr.Status >= 500 {
		slog.ErrorContext(c.Request.Context(), "request failed",
			"request_id", requestID(c), "route", c.FullPath(), "status", apiErr.Status, "code", apiErr.Code, "error", err)
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
