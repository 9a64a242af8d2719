package grpcapi

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/authd/authd/internal/forwardauth"
	"github.com/authd/authd/internal/store"
)

// fakeDecider answers by the Authorization header and records requests.
type fakeDecider struct {
	last forwardauth.Request
}

func (f *fakeDecider) Decide(_ context.Context, r forwardauth.Request) (forwardauth.Decision, error) {
	f.last = r
	switch r.Authorization {
	case "Bearer user":
		return forwardauth.Decision{Status: 200, Subject: "u1", SubjectType: "user", Organisation: "o1", Mode: "live",
			Scopes: []string{"a", "b"}, ServiceOwner: true}, nil
	case "Bearer client":
		return forwardauth.Decision{Status: 200, Subject: "c1", SubjectType: "client", Scopes: []string{"x"}}, nil
	case "Bearer forbidden":
		return forwardauth.Decision{Status: 403, Reason: forwardauth.InsufficientScope}, nil
	case "Bearer limited":
		return forwardauth.Decision{Status: 429, Reason: forwardauth.RateLimited, RetryAfter: 1500 * time.Millisecond}, nil
	case "Bearer down":
		return forwardauth.Decision{}, store.ErrUnavailable
	case "Bearer panic":
		panic("boom")
	}
	if r.APIKey == "sk" {
		return forwardauth.Decision{Status: 200, Subject: "k1", SubjectType: "api_key", Organisation: "o1", Mode: "test", Scopes: []string{"*"}}, nil
	}
	return forwardauth.Decision{Status: 401, Reason: forwardauth.InvalidToken, Challenge: `Bearer realm="authd", error="invalid_token"`}, nil
}

func start(t *testing.T, d Decider, reg prometheus.Registerer) (authv3.AuthorizationClient, *grpc.ClientConn, *Server) {
	t.Helper()
	s := New(Deps{Decider: d, Registerer: reg, RequestTimeout: time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	conn, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return authv3.NewAuthorizationClient(conn), conn, s
}

// check sends what Envoy sends: the request's attributes with its
// lower-case headers (pseudo-headers included), path with query, method.
func check(t *testing.T, c authv3.AuthorizationClient, path string, headers map[string]string) *authv3.CheckResponse {
	t.Helper()
	h := map[string]string{":authority": "crm.example.com", ":method": "GET", ":path": path, ":scheme": "https",
		"x-request-id": "0b5e5a43-1f0c-4a2e-8f0e-8c4c1f6a3e21", "user-agent": "curl/8"}
	for k, v := range headers {
		h[k] = v
	}
	resp, err := c.Check(context.Background(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "123", Method: "GET", Headers: h, Path: path, Host: "crm.example.com", Scheme: "https", Protocol: "HTTP/1.1",
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func headerMap(opts []*corev3.HeaderValueOption) map[string]string {
	m := map[string]string{}
	for _, o := range opts {
		if o.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			m["!append "+o.GetHeader().GetKey()] = o.GetAppendAction().String()
		}
		m[o.GetHeader().GetKey()] = o.GetHeader().GetValue()
	}
	return m
}

func TestCheckAllowed(t *testing.T) {
	f := &fakeDecider{}
	c, _, _ := start(t, f, nil)
	resp := check(t, c, "/admin/users?x=1", map[string]string{"authorization": "Bearer user"})
	if resp.GetStatus().GetCode() != int32(codes.OK) {
		t.Fatalf("status %v", resp.GetStatus())
	}
	if f.last != (forwardauth.Request{Authorization: "Bearer user", URI: "/admin/users?x=1"}) {
		t.Fatalf("decided %+v", f.last)
	}
	ok := resp.GetOkResponse()
	got := headerMap(ok.GetHeaders())
	want := map[string]string{"x-authd-subject": "u1", "x-authd-subject-type": "user", "x-authd-organisation": "o1",
		"x-authd-mode": "live", "x-authd-scopes": "a b", "x-authd-service-owner": "true"}
	if len(got) != len(want) {
		t.Fatalf("headers %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("headers %v, want %v", got, want)
		}
	}
	if len(ok.GetHeadersToRemove()) != 0 {
		t.Fatalf("removes %v", ok.GetHeadersToRemove())
	}

	// Empty identity headers are removed (a client's own copies too).
	resp = check(t, c, "/x", map[string]string{"authorization": "Bearer client", "x-authd-organisation": "evil"})
	ok = resp.GetOkResponse()
	if got := headerMap(ok.GetHeaders()); got["x-authd-subject"] != "c1" || got["x-authd-organisation"] != "" {
		t.Fatalf("client headers %v", got)
	}
	rm := strings.Join(ok.GetHeadersToRemove(), ",")
	if rm != "x-authd-organisation,x-authd-mode,x-authd-service-owner" {
		t.Fatalf("removes %q", rm)
	}

	// The api_key header, and raw headers (encode_raw_headers).
	resp, err := c.Check(context.Background(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "POST", Path: "/contacts",
			HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: ":path", RawValue: []byte("/contacts")}, {Key: "api_key", RawValue: []byte("sk")}}},
		}},
	}})
	if err != nil || resp.GetStatus().GetCode() != 0 || headerMap(resp.GetOkResponse().GetHeaders())["x-authd-subject"] != "k1" {
		t.Fatalf("raw headers: %v %v", resp, err)
	}
	if f.last != (forwardauth.Request{APIKey: "sk", URI: "/contacts"}) {
		t.Fatalf("decided %+v", f.last)
	}
}

func TestCheckDenied(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, _, _ := start(t, &fakeDecider{}, reg)
	for _, tc := range []struct {
		name    string
		auth    string
		status  int32
		code    codes.Code
		problem string
		headers map[string]string
	}{
		{"invalid", "Bearer nope", 401, codes.Unauthenticated, "INVALID_TOKEN", map[string]string{"www-authenticate": `Bearer realm="authd", error="invalid_token"`}},
		{"scope", "Bearer forbidden", 403, codes.PermissionDenied, "INSUFFICIENT_SCOPE", nil},
		{"rate limited", "Bearer limited", 429, codes.ResourceExhausted, "RATE_LIMITED", map[string]string{"retry-after": "2"}},
		{"backend down", "Bearer down", 503, codes.Unavailable, "SERVICE_UNAVAILABLE", map[string]string{"retry-after": "5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := check(t, c, "/contacts/1?secret=x", map[string]string{"authorization": tc.auth})
			if resp.GetStatus().GetCode() != int32(tc.code) || resp.GetOkResponse() != nil {
				t.Fatalf("status %v", resp.GetStatus())
			}
			d := resp.GetDeniedResponse()
			if int32(d.GetStatus().GetCode()) != tc.status {
				t.Fatalf("HTTP status %v", d.GetStatus())
			}
			h := headerMap(d.GetHeaders())
			if h["content-type"] != "application/problem+json" || h["cache-control"] != "no-store" {
				t.Fatalf("headers %v", h)
			}
			for k, v := range tc.headers {
				if h[k] != v {
					t.Fatalf("%s: %q, want %q", k, h[k], v)
				}
			}
			if _, ok := tc.headers["www-authenticate"]; !ok && h["www-authenticate"] != "" {
				t.Fatalf("WWW-Authenticate on a %d", tc.status)
			}
			var p map[string]any
			if err := json.Unmarshal([]byte(d.GetBody()), &p); err != nil {
				t.Fatal(err)
			}
			if p["code"] != tc.problem || p["status"] != float64(tc.status) || p["instance"] != "/contacts/1" ||
				p["request_id"] != "0b5e5a43-1f0c-4a2e-8f0e-8c4c1f6a3e21" || strings.Contains(d.GetBody(), "unavailable:") {
				t.Fatalf("problem %s", d.GetBody())
			}
		})
	}
	if n := checksCounted(t, reg, "401"); n != 1 {
		t.Fatalf("401 counted %v times", n)
	}
}

// checksCounted reads authd_grpc_checks_total{status} from reg.
func checksCounted(t *testing.T, reg *prometheus.Registry, status string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "authd_grpc_checks_total" && m.GetLabel()[0].GetValue() == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestCheckPanicIsInternal(t *testing.T) {
	c, _, _ := start(t, &fakeDecider{}, nil)
	_, err := c.Check(context.Background(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Path: "/", Headers: map[string]string{"authorization": "Bearer panic"}}}}})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic: %v", err)
	}
	// The server still answers.
	if resp := check(t, c, "/", map[string]string{"authorization": "Bearer user"}); resp.GetStatus().GetCode() != 0 {
		t.Fatal("not serving after a panic")
	}
}

func TestHealthAndShutdown(t *testing.T) {
	c, conn, s := start(t, &fakeDecider{}, nil)
	hc := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", ServiceName} {
		r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q: %v %v", svc, r, err)
		}
	}
	s.Drain()
	r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: ServiceName})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health while draining: %v %v", r, err)
	}
	if resp := check(t, c, "/", map[string]string{"authorization": "Bearer user"}); resp.GetStatus().GetCode() != 0 {
		t.Fatal("checks refused while draining")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.Check(context.Background(), &authv3.CheckRequest{})
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after shutdown: %v", err)
	}
}
