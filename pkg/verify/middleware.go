package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*middleware)

// Realm sets the realm of the WWW-Authenticate challenges (default: the
// Verifier's audience).
func Realm(realm string) MiddlewareOption {
	return func(m *middleware) { m.realm = realm }
}

type middleware struct {
	v     *Verifier
	realm string
}

type ctxKey struct{}

// ctxValue is what Middleware puts in the request context.
type ctxValue struct {
	claims *Claims
	realm  string
}

// NewContext returns ctx carrying claims, as Middleware does; for tests
// of handlers that read FromContext.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, ctxValue{claims: c})
}

// FromContext returns the claims Middleware verified for the request, or
// nil.
func FromContext(ctx context.Context) *Claims {
	cv, _ := ctx.Value(ctxKey{}).(ctxValue)
	return cv.claims
}

// Middleware refuses requests without a valid access token in
// `Authorization: Bearer …` (RFC 6750 §2.1) and passes the others on
// with their *Claims in the request context (FromContext):
//
//   - no bearer token: 401 with `WWW-Authenticate: Bearer realm="…"`;
//   - a malformed Authorization header: 400, error="invalid_request";
//   - a token Verify refuses (invalid, expired, revoked, for another
//     audience): 401, error="invalid_token" and an error_description
//     saying which.
//
// Refusals carry a JSON body {"error", "error_description"} (without
// detail beyond the description) and Cache-Control: no-store.
func Middleware(v *Verifier, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	m := &middleware{v: v, realm: v.audience}
	for _, o := range opts {
		o(m)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, status := bearer(r)
			switch status {
			case http.StatusUnauthorized:
				challenge(w, m.realm, http.StatusUnauthorized, "", "", "")
				return
			case http.StatusBadRequest:
				challenge(w, m.realm, http.StatusBadRequest, "invalid_request", "The Authorization header is not a single Bearer token", "")
				return
			}
			c, err := m.v.Verify(r.Context(), raw)
			if err != nil {
				challenge(w, m.realm, http.StatusUnauthorized, "invalid_token", describe(err), "")
				return
			}
			ctx := context.WithValue(r.Context(), ctxKey{}, ctxValue{claims: c, realm: m.realm})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// bearer reads the token of `Authorization: Bearer <token>`: 0 with the
// token, 401 when there is no bearer credential, 400 when the header is
// malformed (repeated, or no token after Bearer).
func bearer(r *http.Request) (string, int) {
	hs := r.Header.Values("Authorization")
	if len(hs) == 0 {
		return "", http.StatusUnauthorized
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(hs[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		if len(hs) > 1 {
			return "", http.StatusBadRequest
		}
		return "", http.StatusUnauthorized // another scheme: no bearer credential
	}
	tok = strings.TrimSpace(tok)
	if len(hs) > 1 || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", http.StatusBadRequest
	}
	return tok, 0
}

// describe is the error_description of a refused token. It names the
// reason only, never the detail of err.
func describe(err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return "The access token expired"
	case errors.Is(err, ErrRevoked):
		return "The access token was revoked"
	case errors.Is(err, ErrAudience):
		return "The access token is not for this service"
	default:
		return "The access token is not valid"
	}
}

// RequireScopes returns a middleware, to put after Middleware, that
// answers 403 error="insufficient_scope" with the scopes needed unless
// the token holds every scope listed.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	need := strings.Join(scopes, " ")
	return require(func(c *Claims) bool {
		for _, s := range scopes {
			if !c.HasScope(s) {
				return false
			}
		}
		return true
	}, "The access token lacks a scope this request needs", need)
}

// RequireKind returns a middleware, to put after Middleware, that answers
// 403 unless the token's subject is of one of kinds (KindUser,
// KindContact, KindClient).
func RequireKind(kinds ...string) func(http.Handler) http.Handler {
	return require(func(c *Claims) bool { return slices.Contains(kinds, c.Kind) },
		"This request needs a token for a "+strings.Join(kinds, " or "), "")
}

// RequireMode returns a middleware, to put after Middleware, that answers
// 403 unless the token acts in one of modes (ModeLive, ModeTest).
func RequireMode(modes ...string) func(http.Handler) http.Handler {
	return require(func(c *Claims) bool { return slices.Contains(modes, c.Mode) },
		"This request needs a token in "+strings.Join(modes, " or ")+" mode", "")
}

// require builds a middleware that passes requests whose claims satisfy
// ok and answers others 403 insufficient_scope (RFC 6750 §3.1); a request
// that did not pass Middleware gets 401.
func require(ok func(*Claims) bool, desc, scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cv, _ := r.Context().Value(ctxKey{}).(ctxValue)
			switch {
			case cv.claims == nil:
				challenge(w, cv.realm, http.StatusUnauthorized, "", "", "")
			case !ok(cv.claims):
				challenge(w, cv.realm, http.StatusForbidden, "insufficient_scope", desc, scope)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// challenge writes a refusal: the RFC 6750 §3 WWW-Authenticate header
// and, when there is an error code, a JSON body.
func challenge(w http.ResponseWriter, realm string, status int, code, desc, scope string) {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	param := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(quote(value))
		b.WriteString(`"`)
		sep = ", "
	}
	if realm != "" {
		param("realm", realm)
	}
	if code != "" {
		param("error", code)
		param("error_description", desc)
	}
	if scope != "" {
		param("scope", scope)
	}
	h := w.Header()
	h.Set("WWW-Authenticate", b.String())
	h.Set("Cache-Control", "no-store")
	if code == "" {
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, desc})
}

// quote escapes a quoted-string's backslashes and quotes (RFC 9110
// §5.6.4) and drops control characters.
func quote(s string) string {
	if !strings.ContainsAny(s, "\\\"") && !strings.ContainsFunc(s, isCtl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case isCtl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isCtl(r rune) bool { return r < 0x20 || r == 0x7f }
