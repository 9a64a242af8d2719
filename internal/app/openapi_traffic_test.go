package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// oasCheck wraps a test server's handler so that every exchange is checked
// against openapi.yaml: the response must be one the operation documents
// (status, headers, body, and no body member the schema does not
// describe). Requests may break the spec, since many tests send bad input
// on purpose, but one the spec calls invalid must not succeed. On the
// public listener, paths and methods the document lacks must answer its
// NotFound or MethodNotAllowed (or BadRequest); the admin listener's are
// not checked. Failures are reported on t when the test ends. Benchmarks
// are left unwrapped: they measure the server.
func oasCheck(t testing.TB, h http.Handler, admin bool) http.Handler {
	t.Helper()
	if _, ok := t.(*testing.B); ok {
		return h
	}
	s := loadOAS(t)
	c := &oasTraffic{next: h, router: s.public, unknown: s.unknown}
	if admin {
		c.router, c.unknown = s.admin, nil
	}
	// Registered before the servers' Close, so it runs after it: every
	// exchange has been checked by then.
	t.Cleanup(func() { c.report(t) })
	return c
}

// oasCatchAll are the documented paths whose last parameter is a gin
// catch-all (*path) and so spans segments, which an OpenAPI path template
// cannot say: the router is asked with the rest as one segment.
var oasCatchAll = []string{"/forward-auth/{path}"}

var oasOptions = &openapi3filter.Options{
	AuthenticationFunc:    func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
	IncludeResponseStatus: true,
	SkipSettingDefaults:   true,
	MultiError:            true,
}

type oasTraffic struct {
	next    http.Handler
	router  routers.Router
	unknown *routers.Route // nil: exchanges on undocumented paths are not checked

	mu       sync.Mutex
	failures map[string]*oasFailure // by message
}

type oasFailure struct {
	n      int
	sample string // the first exchange's body
}

func (c *oasTraffic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(body))
	rec := &oasRecorder{ResponseWriter: w}
	c.next.ServeHTTP(rec, r)
	rec.finish()
	// In line, not in the background: a check costs about as much as
	// serving a request, and background checks would compete with the
	// requests of tests that compare timings.
	c.check(req, body, rec)
}

func (c *oasTraffic) check(req *http.Request, reqBody []byte, rec *oasRecorder) {
	ctx := context.Background()
	route, params, err := c.router.FindRoute(req)
	for _, tpl := range oasCatchAll {
		prefix := tpl[:strings.LastIndex(tpl, "{")]
		if rest, ok := strings.CutPrefix(req.URL.Path, prefix); ok && err != nil && rest != "" {
			one := *req
			one.URL = &url.URL{Path: prefix + strings.ReplaceAll(rest, "/", "%2F"), RawQuery: req.URL.RawQuery}
			route, params, err = c.router.FindRoute(&one)
		}
	}
	if err != nil {
		if c.unknown == nil {
			return
		}
		route, params = c.unknown, nil
	}
	name := fmt.Sprintf("%s %s → %d", req.Method, route.Path, rec.status)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: oasOptions}
	var reqErr error
	if route != c.unknown {
		reqErr = openapi3filter.ValidateRequest(ctx, in)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.status, Header: rec.header, Options: oasOptions}
	out.SetBodyBytes(rec.body.Bytes())
	if reqErr != nil && rec.status < 300 {
		c.fail(name+": succeeded although the spec calls the request invalid: "+oasBrief(reqErr), "request body: "+string(reqBody))
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		c.fail(name+": "+oasBrief(err), "response body: "+rec.body.String())
	} else if u := c.undocumented(route, rec); len(u) > 0 {
		c.fail(name+": not in the spec: "+strings.Join(u, ", "), "response body: "+rec.body.String())
	}
}

// documented returns the response the operation documents for status.
func documented(route *routers.Route, status int) *openapi3.Response {
	resp := route.Operation.Responses.Status(status)
	if resp == nil {
		resp = route.Operation.Responses.Default()
	}
	if resp == nil {
		return nil
	}
	return resp.Value
}

func (c *oasTraffic) fail(msg, sample string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failures == nil {
		c.failures = map[string]*oasFailure{}
	}
	if f := c.failures[msg]; f != nil {
		f.n++
		return
	}
	if len(sample) > 400 {
		sample = sample[:400] + "…"
	}
	c.failures[msg] = &oasFailure{n: 1, sample: sample}
}

// undocumented lists what the response carries that the spec does not
// describe: X-Authd-* headers and members of a JSON body.
func (c *oasTraffic) undocumented(route *routers.Route, rec *oasRecorder) []string {
	resp := documented(route, rec.status)
	if resp == nil {
		return nil
	}
	// authd's own headers are part of the contract: each must be listed.
	var out []string
	for h := range rec.header {
		if _, ok := resp.Headers[h]; !ok && strings.HasPrefix(h, "X-Authd-") {
			out = append(out, "header "+h)
		}
	}
	mt, _, _ := mime.ParseMediaType(rec.header.Get("Content-Type"))
	if !strings.HasSuffix(mt, "json") {
		return out
	}
	media := resp.Content.Get(mt)
	var v any
	if media == nil || media.Schema == nil || json.Unmarshal(rec.body.Bytes(), &v) != nil {
		return out
	}
	return append(out, oasUndocumented(v, media.Schema)...)
}

func (c *oasTraffic) report(t testing.TB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msgs := make([]string, 0, len(c.failures))
	for m := range c.failures {
		msgs = append(msgs, m)
	}
	sort.Strings(msgs)
	for i, m := range msgs {
		if i == 20 {
			t.Errorf("openapi.yaml: %d more disagreements", len(msgs)-i)
			break
		}
		t.Errorf("openapi.yaml disagrees (%d×): %s\n\t%s", c.failures[m].n, m, c.failures[m].sample)
	}
}

// oasBrief shortens kin-openapi's errors, which repeat the whole schema
// and value.
func oasBrief(err error) string {
	var b strings.Builder
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(line, "Schema:") || strings.HasPrefix(line, "Value:") {
			break
		}
		b.WriteString(line)
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

// oasRecorder passes a response through and keeps a copy: the status, the
// headers as sent and the body.
type oasRecorder struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
}

func (r *oasRecorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status, r.header = code, r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *oasRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *oasRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *oasRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// finish completes the copy as net/http completes the response: a handler
// that wrote nothing answered 200, and a body without a Content-Type gets
// a sniffed one.
func (r *oasRecorder) finish() {
	if r.status == 0 {
		r.status, r.header = http.StatusOK, r.ResponseWriter.Header().Clone()
	}
	if r.body.Len() > 0 && r.header.Get("Content-Type") == "" {
		if _, set := r.header["Content-Type"]; !set {
			r.header.Set("Content-Type", http.DetectContentType(r.body.Bytes()))
		}
	}
}
