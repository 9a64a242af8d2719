package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/token"
)

// TokenVerifier verifies bearer access tokens (token.Service).
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (token.Claims, error)
}

// KeyVerifier verifies API keys: the one verifier every entry point uses.
type KeyVerifier interface {
	Verify(ctx context.Context, raw string) (apikey.Key, error)
}

const (
	ctxClaims = "authd.claims"
	ctxAPIKey = "authd.apikey"
	// APIKeyHeader carries API keys.
	APIKeyHeader = "api_key"
)

// claimsOf returns the verified bearer claims of the request.
func claimsOf(c *gin.Context) (token.Claims, bool) {
	v, ok := c.Get(ctxClaims)
	if !ok {
		return token.Claims{}, false
	}
	return v.(token.Claims), true
}

// keyOf returns the verified API key of the request.
func keyOf(c *gin.Context) (apikey.Key, bool) {
	v, ok := c.Get(ctxAPIKey)
	if !ok {
		return apikey.Key{}, false
	}
	return v.(apikey.Key), true
}

func bearerToken(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// verifyBearer verifies the request's bearer token. Expired tokens answer
// TOKEN_EXPIRED so a UI can refresh silently; anything else INVALID_TOKEN.
func verifyBearer(c *gin.Context, v TokenVerifier) (token.Claims, error) {
	raw, ok := bearerToken(c)
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="authd"`)
		return token.Claims{}, &apierror.Error{Status: http.StatusUnauthorized, Code: apierror.CodeInvalidToken, Detail: "A bearer token is required."}
	}
	claims, err := v.Verify(c.Request.Context(), raw)
	switch {
	case err == nil:
		return claims, nil
	case errors.Is(err, token.ErrExpired):
		c.Header("WWW-Authenticate", `Bearer realm="authd", error="invalid_token", error_description="The access token expired"`)
		return token.Claims{}, &apierror.Error{Status: http.StatusUnauthorized, Code: apierror.CodeTokenExpired, Detail: "The access token expired; refresh it."}
	case errors.Is(err, token.ErrInvalid), errors.Is(err, token.ErrRevoked):
		c.Header("WWW-Authenticate", `Bearer realm="authd", error="invalid_token"`)
		return token.Claims{}, &apierror.Error{Status: http.StatusUnauthorized, Code: apierror.CodeInvalidToken, Detail: "The access token is not valid."}
	default:
		return token.Claims{}, err
	}
}

// requireBearer admits requests with a valid access token whose kind is
// one of kinds.
func requireBearer(v TokenVerifier, kinds ...string) gin.HandlerFunc {
	return wrap(func(c *gin.Context) error { return admitBearer(c, v, kinds) })
}

// admitBearer verifies the bearer token, checks its kind and runs the rest
// of the chain.
func admitBearer(c *gin.Context, v TokenVerifier, kinds []string) error {
	claims, err := verifyBearer(c, v)
	if err != nil {
		return err
	}
	if len(kinds) > 0 && !slices.Contains(kinds, claims.Kind) {
		return apierror.New(http.StatusForbidden, apierror.CodeForbidden, "This token may not call this endpoint.")
	}
	c.Set(ctxClaims, claims)
	c.Next()
	return nil
}

// verifyKey verifies the api_key header and checks scope.
func verifyKey(c *gin.Context, v KeyVerifier, keyType, scope string) (apikey.Key, error) {
	raw := c.GetHeader(APIKeyHeader)
	if raw == "" {
		return apikey.Key{}, apierror.New(http.StatusUnauthorized, apierror.CodeInvalidAPIKey, "An api_key header is required.")
	}
	k, err := v.Verify(c.Request.Context(), raw)
	if err != nil {
		return apikey.Key{}, err // invalid, rate limited or unavailable: the error table says how
	}
	if keyType != "" && k.Type != keyType {
		return apikey.Key{}, apierror.New(http.StatusForbidden, apierror.CodeInsufficientScope, "This endpoint needs a "+keyType+" API key.")
	}
	if scope != "" && !k.HasScope(scope) {
		return apikey.Key{}, apierror.New(http.StatusForbidden, apierror.CodeInsufficientScope, "The API key lacks the scope "+scope+".")
	}
	return k, nil
}

// requireKey admits requests with a valid API key of keyType ("" any)
// holding scope.
func requireKey(v KeyVerifier, keyType, scope string) gin.HandlerFunc {
	return wrap(func(c *gin.Context) error { return admitKey(c, v, keyType, scope) })
}

// admitKey verifies the API key and runs the rest of the chain.
func admitKey(c *gin.Context, v KeyVerifier, keyType, scope string) error {
	k, err := verifyKey(c, v, keyType, scope)
	if err != nil {
		return err
	}
	c.Set(ctxAPIKey, k)
	c.Next()
	return nil
}

// requireBearerOrSecretKey admits a user bearer token, or a secret API key
// holding scope.
func requireBearerOrSecretKey(tv TokenVerifier, kv KeyVerifier, scope string, kinds ...string) gin.HandlerFunc {
	return wrap(func(c *gin.Context) error {
		if _, ok := bearerToken(c); ok || c.GetHeader(APIKeyHeader) == "" {
			return admitBearer(c, tv, kinds)
		}
		k, err := verifyKey(c, kv, "secret", scope)
		if err != nil {
			return err
		}
		c.Set(ctxAPIKey, k)
		c.Next()
		return nil
	})
}

// optionalKey admits requests without an api_key header as they are, and
// verifies one that is sent (any type, holding scope).
func optionalKey(v KeyVerifier, scope string) gin.HandlerFunc {
	return wrap(func(c *gin.Context) error {
		if c.GetHeader(APIKeyHeader) == "" {
			c.Next()
			return nil
		}
		return admitKey(c, v, "", scope)
	})
}
