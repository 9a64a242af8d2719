package ginverify

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/pkg/verify"
)

// Middleware is verify.Middleware for gin: it aborts requests without a
// valid bearer token and passes the others on with their claims
// (Claims).
func Middleware(v *verify.Verifier, opts ...verify.MiddlewareOption) gin.HandlerFunc {
	return Wrap(verify.Middleware(v, opts...))
}

// RequireScopes is verify.RequireScopes for gin (after Middleware).
func RequireScopes(scopes ...string) gin.HandlerFunc { return Wrap(verify.RequireScopes(scopes...)) }

// RequireKind is verify.RequireKind for gin (after Middleware).
func RequireKind(kinds ...string) gin.HandlerFunc { return Wrap(verify.RequireKind(kinds...)) }

// RequireMode is verify.RequireMode for gin (after Middleware).
func RequireMode(modes ...string) gin.HandlerFunc { return Wrap(verify.RequireMode(modes...)) }

// Claims returns the claims Middleware verified for the request, or nil.
func Claims(c *gin.Context) *verify.Claims { return verify.FromContext(c.Request.Context()) }

// Wrap runs a net/http middleware as a gin handler: when it calls its
// next handler, the gin chain continues with the request it passed on
// (its context included); when it answers itself, the chain is aborted.
func Wrap(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}
