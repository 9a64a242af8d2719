package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/forwardauth"
)

// ForwardAuthDecider decides forward-auth requests (forwardauth.Decider).
type ForwardAuthDecider interface {
	Decide(ctx context.Context, r forwardauth.Request) (forwardauth.Decision, error)
}

// forwardAuthMethods are the methods /forward-auth answers: every method
// the proxied request may have (auth_request subrequests keep it).
var forwardAuthMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodTrace,
}

// forwardAuthPath is the endpoint; Envoy's HTTP ext_authz calls it with
// the original request's path appended (path_prefix).
const forwardAuthPath = "/forward-auth"

func (a *api) mountForwardAuth(e *gin.Engine) {
	h := wrap(a.forwardAuth)
	for _, m := range forwardAuthMethods {
		e.Handle(m, forwardAuthPath, h)
		e.Handle(m, forwardAuthPath+"/*path", h)
	}
}

// originalURI is the URI the rules are checked against. At
// /forward-auth/{original path} (Envoy) it is the rest of this request's
// own path, as sent (still percent-encoded), with its query; the URI
// header is not read there, since a client's copy of it could pass
// through a proxy that does not set it. At /forward-auth it is the one
// header the proxy sets (forward_auth.uri_header).
func (a *api) originalURI(c *gin.Context) string {
	u := c.Request.URL
	rest, ok := strings.CutPrefix(u.EscapedPath(), forwardAuthPath)
	if !ok || rest == "" {
		return c.GetHeader(a.ForwardAuthURIHeader)
	}
	if u.RawQuery != "" {
		return rest + "?" + u.RawQuery
	}
	return rest
}

// forwardAuth answers 200 with the identity headers, 401 with
// WWW-Authenticate, 403 when a rule denies, 429 when an API key's own rate
// limit is spent; refusals carry a problem body (Traefik shows it to the
// client; nginx discards it).
func (a *api) forwardAuth(c *gin.Context) error {
	d, err := a.ForwardAuth.Decide(c.Request.Context(), forwardauth.Request{
		Authorization: c.GetHeader("Authorization"),
		APIKey:        c.GetHeader(APIKeyHeader),
		URI:           a.originalURI(c),
	})
	if err != nil {
		return err
	}
	h := c.Writer.Header()
	h["Cache-Control"] = valueNoStore
	if d.Status == http.StatusOK {
		// The names are canonical (forwardauth's constants): set in the
		// map directly, the values sharing one array. An empty value is
		// an absent header.
		hdrs := d.Headers()
		vals := make([]string, len(hdrs))
		for i, kv := range hdrs {
			if kv[1] == "" {
				delete(h, kv[0])
				continue
			}
			vals[i] = kv[1]
			h[kv[0]] = vals[i : i+1 : i+1]
		}
		c.Status(http.StatusOK)
		return nil
	}
	if d.Challenge != "" {
		c.Header("WWW-Authenticate", d.Challenge)
	}
	return apierror.ForwardAuth(d)
}
