package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/authd/authd/internal/forwardauth"
)

// nopWriter is a ResponseWriter that keeps nothing but the headers, so a
// benchmark measures the middleware, not the recorder.
type nopWriter struct {
	h    http.Header
	code int
}

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(code int)        { w.code = code }

// benchEngine serves GET and POST /x with 200 behind mw.
func benchEngine(mw ...gin.HandlerFunc) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.ContextWithFallback = true
	_ = e.SetTrustedProxies(nil)
	e.Use(mw...)
	ok := func(c *gin.Context) { c.Status(http.StatusOK) }
	e.GET("/x", ok)
	e.POST("/x", ok)
	return e
}

// runEngine serves a shallow copy of tmpl per iteration (a request is
// served once: middleware wraps its body and context); body, when set,
// is its fresh body.
func runEngine(b *testing.B, e *gin.Engine, tmpl *http.Request, body string) {
	b.Helper()
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		r := *tmpl
		r.Body = http.NoBody
		if body != "" {
			r.Body = io.NopCloser(strings.NewReader(body))
		}
		e.ServeHTTP(w, &r)
		if w.code != http.StatusOK && w.code != 0 {
			b.Fatal(w.code)
		}
	}
}

// BenchmarkMiddleware: each public middleware alone in front of a handler
// answering 200, then the whole public stack: subtract "none" (or
// "none/form").
func BenchmarkMiddleware(b *testing.B) {
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	get := httptest.NewRequest(http.MethodGet, "/x", nil)
	get.Header.Set("Authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig")
	withID := get.Clone(get.Context())
	withID.Header.Set(requestIDHeader, "0b5e5a43-1f0c-4a2e-8f0e-8c4c1f6a3e21")
	form := httptest.NewRequest(http.MethodPost, "/x", nil)
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	const formBody = "grant_type=client_credentials&scope=a+b"
	for _, bc := range []struct {
		name string
		mw   []gin.HandlerFunc
		req  *http.Request
	}{
		{"none", nil, get},
		{"request", []gin.HandlerFunc{withRequest(newRequestIDs(), 0)}, get},
		{"request/incoming-id", []gin.HandlerFunc{withRequest(newRequestIDs(), 0)}, withID},
		{"request/deadline", []gin.HandlerFunc{withRequest(newRequestIDs(), 10*time.Second)}, get},
		{"metrics", []gin.HandlerFunc{NewMetrics(prometheus.NewRegistry()).middleware()}, get},
		{"accessLog/sampled", []gin.HandlerFunc{accessLog(logger, "sampled", 100)}, get},
		{"accessLog/all", []gin.HandlerFunc{accessLog(logger, "all", 1)}, get},
		{"accessLog/off", []gin.HandlerFunc{accessLog(logger, "off", 1)}, get},
		{"recoverPanics", []gin.HandlerFunc{recoverPanics(logger)}, get},
		{"securityHeaders", []gin.HandlerFunc{securityHeaders()}, get},
		{"limitBody", []gin.HandlerFunc{limitBody(1 << 20)}, get},
		{"saneText/GET", []gin.HandlerFunc{saneText()}, get},
		{"saneText/form", []gin.HandlerFunc{saneText()}, form},
		{"none/form", nil, form},
		{"stack", publicStack(Deps{Logger: logger, Metrics: NewMetrics(prometheus.NewRegistry()), RequestLog: "sampled",
			SampleEvery: 100, RequestTimeout: 10 * time.Second, MaxBodyBytes: 1 << 20}), get},
	} {
		body := ""
		if bc.req == form {
			body = formBody
		}
		b.Run(bc.name, func(b *testing.B) { runEngine(b, benchEngine(bc.mw...), bc.req, body) })
	}
}

// TestCanonicalHeaderNames: names set directly in a header map must be in
// canonical form, or net/http would never find them.
func TestCanonicalHeaderNames(t *testing.T) {
	for _, name := range []string{requestIDHeader, "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Cache-Control",
		forwardauth.HeaderSubject, forwardauth.HeaderSubjectType, forwardauth.HeaderOrganisation, forwardauth.HeaderMode,
		forwardauth.HeaderScopes, forwardauth.HeaderServiceOwner} {
		if http.CanonicalHeaderKey(name) != name {
			t.Errorf("%q is not canonical (%q)", name, http.CanonicalHeaderKey(name))
		}
	}
}
