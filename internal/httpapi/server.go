package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/oauth"
)

// KeySet is what the JWKS and discovery documents need from the keys
// manager.
type KeySet interface {
	JWKS() (body []byte, etag string)
	Algorithm() string
}

// Deps are the services the public API serves. The CRM-style groups are
// optional: their routes are mounted only when their services are set.
type Deps struct {
	Logger         *slog.Logger
	OAuth          *oauth.Provider
	Keys           KeySet
	Metrics        *Metrics
	JWKSMaxAge     time.Duration
	MaxBodyBytes   int64
	TrustedProxies []string
	// RequestLog chooses which successful requests are logged: "all",
	// "sampled" (one in SampleEvery) or "off"; refusals and errors always
	// are.
	RequestLog  string
	SampleEvery int
	// RequestTimeout is the deadline of each request's work (0: none).
	RequestTimeout time.Duration
	// RevocationFeed serves GET /oauth2/revocations (nil: not served).
	RevocationFeed http.Handler

	// Tokens verifies bearer access tokens.
	Tokens TokenVerifier
	// APIKeys verifies API keys (one verifier for every entry point).
	APIKeys KeyVerifier

	Backoffice  *BackofficeDeps
	Contacts    *ContactDeps
	APIKeyAdmin *APIKeyDeps
	ClientAdmin *ClientDeps
	// Integrations serves /backoffice/v1/integrations (nil: not served).
	Integrations *IntegrationDeps
	// SignUp serves /backoffice/v1/organisations/register (nil, or no
	// Backoffice: not served).
	SignUp      *SignUpDeps
	ForwardAuth ForwardAuthDecider
	// ForwardAuthURIHeader is the one header carrying the original URI
	// (forward_auth.uri_header).
	ForwardAuthURIHeader string
}

// api holds the dependencies of the CRM-style handlers.
type api struct {
	Deps
}

// publicStack is the middleware every public request passes, in order.
// recoverPanics runs inside metrics and the access log, so a panic is
// counted and logged as the 500 it becomes.
func publicStack(d Deps) []gin.HandlerFunc {
	return []gin.HandlerFunc{withRequest(newRequestIDs(), d.RequestTimeout), d.Metrics.middleware(),
		accessLog(d.Logger, d.RequestLog, d.SampleEvery), recoverPanics(d.Logger), securityHeaders(),
		limitBody(d.MaxBodyBytes), saneText()}
}

// NewPublic builds the public engine.
func NewPublic(d Deps) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode) // debug mode prints every route to stdout
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	if err := e.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, fmt.Errorf("http.trusted_proxies: %w", err)
	}
	if len(d.TrustedProxies) == 0 {
		_ = e.SetTrustedProxies(nil)
	}
	e.Use(publicStack(d)...)
	e.NoRoute(func(c *gin.Context) {
		writeProblem(c, apierror.New(http.StatusNotFound, apierror.CodeNotFound, "No such endpoint."))
	})
	oauthEndpoints := map[string]http.Handler{
		"/oauth2/token":      d.OAuth.TokenHandler(),
		"/oauth2/introspect": d.OAuth.IntrospectionHandler(),
		"/oauth2/revoke":     d.OAuth.RevocationHandler(),
	}
	e.NoMethod(func(c *gin.Context) {
		// /oauth2/* answers in RFC 6749's format even to a wrong method
		// (its handler says 405, Allow: POST, invalid_request).
		if h, ok := oauthEndpoints[c.Request.URL.Path]; ok {
			h.ServeHTTP(c.Writer, c.Request)
			return
		}
		writeProblem(c, apierror.New(http.StatusMethodNotAllowed, apierror.CodeMethodNotAllowed, "Method not allowed on this endpoint."))
	})

	wk := &wellKnown{oauth: d.OAuth, keys: d.Keys, maxAge: d.JWKSMaxAge}
	e.GET("/.well-known/openid-configuration", wk.discovery)
	e.GET("/.well-known/oauth-authorization-server", wk.discovery)
	e.GET("/.well-known/jwks.json", wk.jwks)

	if d.RevocationFeed != nil {
		e.GET(revocationFeedPath, gin.WrapH(d.RevocationFeed))
	}
	for path, h := range oauthEndpoints {
		e.POST(path, func(c *gin.Context) {
			// The provider logs a failure's cause at ERROR itself: the
			// access log then does not repeat it.
			ctx := oauth.WithFailureLogged(c.Request.Context(), func() { c.Set(ctxErrorLogged, true) })
			h.ServeHTTP(c.Writer, c.Request.WithContext(ctx))
		})
	}

	a := &api{Deps: d}
	bo := e.Group("/backoffice/v1")
	if d.Backoffice != nil {
		a.mountBackoffice(bo)
		if d.SignUp != nil {
			a.mountSignUp(bo)
		}
	}
	if d.Contacts != nil {
		a.mountBackofficeContacts(bo)
		if d.Contacts.SelfService != nil {
			a.mountSelfService(e.Group("/self-service/v1"))
		}
	}
	if d.APIKeyAdmin != nil {
		a.mountAPIKeys(bo)
	}
	if d.ClientAdmin != nil {
		a.mountClients(bo)
	}
	if d.Integrations != nil {
		a.mountIntegrations(bo)
	}
	if d.ForwardAuth != nil {
		a.mountForwardAuth(e)
	}
	return e, nil
}
