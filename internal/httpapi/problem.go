package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
)

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

// renderError answers err as problem+json, as the error table describes
// it (apierror.For). A server-side failure is logged once, at ERROR, with
// its cause and the request id; its text never reaches the client.
func renderError(c *gin.Context, err error) {
	e := apierror.For(err)
	if e.Internal() {
		logger := slog.Default()
		if l, ok := c.Get(ctxLogger); ok {
			logger = l.(*slog.Logger)
		}
		logger.ErrorContext(c.Request.Context(), "request failed",
			"request_id", requestID(c), "route", c.FullPath(), "status", e.Status, "code", e.Code, "error", err)
		c.Set(ctxErrorLogged, true)
	}
	writeProblem(c, e)
}

func writeProblem(c *gin.Context, e *apierror.Error) {
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(e.Status, Problem{
		Type:      "urn:authd:problem:" + e.Code,
		Title:     http.StatusText(e.Status),
		Status:    e.Status,
		Detail:    e.Detail,
		Instance:  c.Request.URL.Path,
		Code:      e.Code,
		Field:     e.Field,
		RequestID: requestID(c),
	})
}
