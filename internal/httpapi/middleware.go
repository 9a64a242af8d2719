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
	"github.com/authd/authd/internal/audit"
)

const (
	requestIDHeader = "X-Request-Id" // canonical: set directly in the header map
	ctxLogger       = "authd.logger"
)

// RequestIDFrom returns the request id stored in ctx, if any.
func RequestIDFrom(ctx context.Context) string { return audit.MetaFrom(ctx).RequestID }

func requestID(c *gin.Context) string { return RequestIDFrom(c.Request.Context()) }

// requestIDs makes request ids without a system call: a random prefix
// drawn once per engine and a counter. Ids are unique, not secret: they
// are echoed to the client and name log lines.
type requestIDs struct {
	prefix [12]byte // hex of 6 random bytes
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	_, _ = rand.Read(b[:])
	ids := &requestIDs{}
	hex.Encode(ids.prefix[:], b[:])
	return ids
}

// next returns 24 hex digits: the prefix, then the counter's 48 low bits.
func (r *requestIDs) next() string {
	const digits = "0123456789abcdef"
	n := r.n.Add(1)
	var b [24]byte
	copy(b[:12], r.prefix[:])
	for i := len(b) - 1; i >= 12; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// withRequest sets up each request's context, with one derived context
// and one request copy for all of it: its id (a well-formed incoming
// X-Request-Id from a proxy, or a new one), echoed in the response; where
// it came from, for the audit trail (client IP, user agent, id); and its
// deadline (http.request_timeout; 0: none), which every database and
// Redis call made for it inherits.
func withRequest(ids *requestIDs, timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(requestIDHeader)
		if !validRequestID(id) {
			id = ids.next()
		}
		c.Writer.Header()[requestIDHeader] = []string{id}
		ctx := audit.WithMeta(c.Request.Context(), audit.Meta{IP: c.ClientIP(), UserAgent: c.Request.UserAgent(), RequestID: id})
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		c.Request = c.Request.WithContext(ctx)
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
		e := apierror.New(status, code, msg)
		c.Header("Cache-Control", "no-store")
		c.Header("Pragma", "no-cache")
		c.Header("Content-Type", "application/json;charset=UTF-8")
		c.AbortWithStatusJSON(status, gin.H{"error": e.OAuth, "error_description": msg})
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
					refuse(c, http.StatusInternalServerError, apierror.CodeInternal, "An internal error occurred.")
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

// Values of the constant response headers, shared by every response:
// setting them allocates nothing. Nothing modifies a header value in
// place (Set replaces the slice; Add on a full slice copies it).
var (
	valueNoSniff    = []string{"nosniff"}
	valueNoReferrer = []string{"no-referrer"}
	valueDeny       = []string{"DENY"}
	valueNoStore    = []string{"no-store"}
)

// securityHeaders are safe defaults for a JSON API.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h["X-Content-Type-Options"] = valueNoSniff
		h["Referrer-Policy"] = valueNoReferrer
		h["X-Frame-Options"] = valueDeny
		c.Next()
	}
}

// idChar: letters, digits, '-', '_' and '.'.
func idChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}
