package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
)

const (
	requestIDHeader = "X-Request-Id"
	ctxLogger       = "authd.logger"
)

type ctxKey struct{}

// RequestIDFrom returns the request id stored in ctx, if any.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

func requestID(c *gin.Context) string { return RequestIDFrom(c.Request.Context()) }

// withRequestID accepts a well-formed incoming X-Request-Id (from a proxy)
// or makes one, echoes it and puts it in the request context.
func withRequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(requestIDHeader)
		if !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Header(requestIDHeader, id)
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), ctxKey{}, id))
		c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !idChar(r) {
			return false
		}
	}
	return true
}

// ctxErrorLogged marks a request whose failure was already logged at
// ERROR (with its cause) by the error renderer.
const ctxErrorLogged = "authd.error_logged"

// accessLog logs requests: never the query string, headers or body, which
// may carry tokens, codes and passwords. Successful requests (below 400)
// are logged as mode says: "all", "sampled" (one in every) or "off".
// Refusals (4xx) are always logged at INFO; a failure (5xx) gives one ERROR
// line: the renderer's, with the cause, or this one when nothing logged it.
func accessLog(logger *slog.Logger, mode string, every int) gin.HandlerFunc {
	var n atomic.Uint64
	if every < 1 {
		every = 1
	}
	return func(c *gin.Context) {
		c.Set(ctxLogger, logger)
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			if !c.GetBool(ctxErrorLogged) {
				level = slog.LevelError
			}
		case status >= 400:
		case mode == "off":
			return
		case mode == "sampled":
			if n.Add(1)%uint64(every) != 1%uint64(every) {
				return
			}
		}
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		logger.LogAttrs(c.Request.Context(), level, "http request",
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("client_ip", c.ClientIP()),
			slog.Int("bytes", c.Writer.Size()),
		)
	}
}

// refuse answers a request a middleware will not pass on: an RFC 6749
// error (invalid_request) on /oauth2/*, whose clients expect that format,
// problem+json with code everywhere else.
func refuse(c *gin.Context, status int, code, msg string) {
	if strings.HasPrefix(c.Request.URL.Path, "/oauth2/") {
		c.Header("Cache-Control", "no-store")
		c.AbortWithStatusJSON(status, gin.H{"error": "invalid_request", "error_description": msg})
		return
	}
	writeProblem(c, apierror.New(status, code, msg))
}

// saneText refuses a request whose path, query, Basic credentials or form
// values are not valid UTF-8 or hold a NUL: no identifier, name or
// credential contains one, and a database would refuse them anyway
// (PostgreSQL answers an error that must not look like an outage).
func saneText() gin.HandlerFunc {
	const bad = "The request holds text that is not valid UTF-8 or contains a NUL character."
	return func(c *gin.Context) {
		r := c.Request
		ok := cleanText(r.URL.Path) && cleanText(r.URL.RawQuery)
		if q, err := url.QueryUnescape(r.URL.RawQuery); err == nil {
			ok = ok && cleanText(q)
		}
		if user, pass, has := r.BasicAuth(); has {
			ok = ok && cleanText(user) && cleanText(pass)
		}
		if ok && strings.HasPrefix(c.ContentType(), "application/x-www-form-urlencoded") {
			// Parsed here once (later reads are cached), so a body that
			// cannot be read or parsed is answered here.
			if err := r.ParseForm(); err != nil {
				var maxErr *http.MaxBytesError
				if errors.As(err, &maxErr) {
					refuse(c, http.StatusRequestEntityTooLarge, apierror.CodePayloadTooLarge, "The request body is too large.")
				} else {
					refuse(c, http.StatusBadRequest, apierror.CodeBadRequest, "The request body is not a valid form.")
				}
				return
			}
			for _, vs := range r.PostForm {
				for _, v := range vs {
					ok = ok && cleanText(v)
				}
			}
		}
		if !ok {
			refuse(c, http.StatusBadRequest, apierror.CodeBadRequest, bad)
			return
		}
		c.Next()
	}
}

func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// limitBody caps request bodies; reading past the cap fails, and handlers
// answer 413 or invalid_request.
func limitBody(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			refuse(c, http.StatusRequestEntityTooLarge, apierror.CodePayloadTooLarge, "The request body is too large.")
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		}
		c.Next()
	}
}

// recoverPanics turns a panic into a logged 500 problem; the panic value
// never reaches the client.
func recoverPanics(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				logger.ErrorContext(c.Request.Context(), "panic serving request",
					"request_id", requestID(c), "route", c.FullPath(), "panic", v)
				c.Set(ctxErrorLogged, true)
				if !c.Writer.Written() {
					writeProblem(c, apierror.New(http.StatusInternalServerError, apierror.CodeInternal, "An internal error occurred."))
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// revocationFeedPath is the event stream of revocations: it lasts as
// long as its client stays, so no request deadline applies.
const revocationFeedPath = "/oauth2/revocations"

// withDeadline bounds the work of each request: every database and Redis
// call made for it inherits the deadline.
func withDeadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if d <= 0 || c.FullPath() == revocationFeedPath {
			c.Next()
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// securityHeaders are safe defaults for a JSON API.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		c.Next()
	}
}

// idChar: letters, digits, '-', '_' and '.'.
func idChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}
