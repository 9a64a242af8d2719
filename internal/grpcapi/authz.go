package grpcapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/forwardauth"
)

// Decider decides forward-auth requests (forwardauth.Decider).
type Decider interface {
	Decide(ctx context.Context, r forwardauth.Request) (forwardauth.Decision, error)
}

// authorization implements Envoy's Authorization service.
type authorization struct {
	authv3.UnimplementedAuthorizationServer
	s *Server
}

// Check answers Envoy's ext_authz: OK with the identity headers to set on
// the request it forwards upstream (and those to remove, so a client's own
// copies never pass), or a denial with the HTTP status, headers and
// problem+json body Envoy answers the client with. The credential is the
// request's Authorization (Bearer) or api_key header; the rules match its
// path (with query) as Envoy saw it.
func (a *authorization) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	start := time.Now()
	h := req.GetAttributes().GetRequest().GetHttp()
	d, err := a.s.decider.Decide(ctx, forwardauth.Request{
		Authorization: header(h, "authorization"),
		APIKey:        header(h, "api_key"),
		URI:           h.GetPath(),
	})
	var resp *authv3.CheckResponse
	var e *apierror.Error
	switch {
	case err != nil:
		e = apierror.For(err)
		resp = denied(h, e, "")
	case d.Status == http.StatusOK:
		resp = allowed(d)
	default:
		e = apierror.ForwardAuth(d)
		resp = denied(h, e, d.Challenge)
	}
	a.s.observe(ctx, d.Status, e, err, time.Since(start))
	return resp, nil
}

// header returns the value of the lower-case header name: from the headers
// map Envoy fills (keys lower case, repeated headers joined with ","), or
// from header_map when Envoy sends raw headers (encode_raw_headers).
func header(h *authv3.AttributeContext_HttpRequest, name string) string {
	if v, ok := h.GetHeaders()[name]; ok {
		return v
	}
	for _, kv := range h.GetHeaderMap().GetHeaders() {
		if strings.EqualFold(kv.GetKey(), name) {
			if v := kv.GetValue(); v != "" {
				return v
			}
			return string(kv.GetRawValue())
		}
	}
	return ""
}

// allowed sets every identity header that has a value, overwriting any copy
// the client sent, and removes those without one.
func allowed(d forwardauth.Decision) *authv3.CheckResponse {
	ok := &authv3.OkHttpResponse{}
	for _, kv := range d.Headers() {
		name := strings.ToLower(kv[0])
		if kv[1] == "" {
			ok.HeadersToRemove = append(ok.HeadersToRemove, name)
			continue
		}
		ok.Headers = append(ok.Headers, &corev3.HeaderValueOption{
			Header:       &corev3.HeaderValue{Key: name, Value: kv[1]},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		})
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok},
	}
}

// problem is the RFC 9457 body /forward-auth answers with.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// denied is the answer Envoy gives the client: e's status and problem
// body, WWW-Authenticate on a 401, Retry-After when e has one.
func denied(h *authv3.AttributeContext_HttpRequest, e *apierror.Error, challenge string) *authv3.CheckResponse {
	path, _, _ := strings.Cut(h.GetPath(), "?")
	body, _ := json.Marshal(problem{
		Type: "urn:authd:problem:" + e.Code, Title: http.StatusText(e.Status), Status: e.Status,
		Detail: e.Detail, Instance: path, Code: e.Code, RequestID: requestID(h),
	})
	hdrs := []*corev3.HeaderValueOption{
		setHeader("content-type", "application/problem+json"),
		setHeader("cache-control", "no-store"),
	}
	if challenge != "" {
		hdrs = append(hdrs, setHeader("www-authenticate", challenge))
	}
	if e.RetryAfter > 0 {
		hdrs = append(hdrs, setHeader("retry-after", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second))))
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(grpcCode(e.Status)), Message: e.Code},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(e.Status)},
			Headers: hdrs,
			Body:    string(body),
		}},
	}
}

func setHeader(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD}
}

// grpcCode is the CheckResponse status of a denial (any code but OK
// denies; Envoy answers the client with the HTTP status of the denial).
func grpcCode(status int) codes.Code {
	switch status {
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	}
	return codes.Internal
}

// requestID is the request's id as Envoy knows it (x-request-id), when it
// is a plain token.
func requestID(h *authv3.AttributeContext_HttpRequest) string {
	id := header(h, "x-request-id")
	if id == "" {
		id = h.GetId()
	}
	if id == "" || len(id) > 64 {
		return ""
	}
	for _, r := range id {
		if !idChar(r) {
			return ""
		}
	}
	return id
}

// idChar: letters, digits, '-', '_' and '.'.
func idChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}
