package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/token"
)

// APIKeyService manages API keys (apikey.Service).
type APIKeyService interface {
	Scopes() []apikey.ScopeInfo
	Authorize(ctx context.Context, c apikey.Caller) (apikey.Scope, apikey.Actor, error)
	Create(ctx context.Context, actor apikey.Actor, p apikey.CreateParams) (apikey.Info, error)
	List(ctx context.Context, scope apikey.Scope, page identity.Page) ([]apikey.Info, error)
	Get(ctx context.Context, scope apikey.Scope, id string) (apikey.Info, error)
	Roll(ctx context.Context, actor apikey.Actor, scope apikey.Scope, id string, oldExpiresAt *time.Time) (apikey.Info, apikey.Info, error)
	Revoke(ctx context.Context, actor apikey.Actor, scope apikey.Scope, id string) (apikey.Info, error)
}

// APIKeyDeps are the services of the back-office API-key endpoints.
type APIKeyDeps struct {
	Service APIKeyService
}

// mountAPIKeys serves /backoffice/v1/api-keys. Managing keys takes a user
// token whose role in the token's organisation is admin or owner; the mode
// is the token's. Reading them also admits a secret key holding
// api_keys:read (of its own organisation and mode).
func (a *api) mountAPIKeys(bo *gin.RouterGroup) {
	manage := requireBearer(a.Tokens, token.KindUser)
	read := requireBearerOrSecretKey(a.Tokens, a.APIKeys, apikey.ScopeAPIKeysRead, token.KindUser)
	bo.POST("/api-keys", manage, wrap(a.createAPIKey))
	bo.GET("/api-keys", read, wrap(a.listAPIKeys))
	bo.GET("/api-keys/scopes", read, wrap(a.apiKeyScopes))
	bo.GET("/api-keys/:id", read, wrap(a.getAPIKey))
	bo.POST("/api-keys/:id/roll", manage, wrap(a.rollAPIKey))
	bo.DELETE("/api-keys/:id", manage, wrap(a.revokeAPIKey))
}

// apiKeyScope is the caller's view of keys, as apikey decides it.
func (a *api) apiKeyScope(c *gin.Context) (apikey.Scope, apikey.Actor, error) {
	var caller apikey.Caller
	if k, ok := keyOf(c); ok {
		caller.Key = &k
	} else if claims, ok := claimsOf(c); ok && claims.Kind == token.KindUser {
		caller = apikey.Caller{UserID: claims.Subject, Org: claims.Org, Mode: identity.Mode(claims.Mode)}
	}
	return a.APIKeyAdmin.Service.Authorize(c.Request.Context(), caller)
}

type scopeJSON struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	KeyTypes    []string `json:"key_types"`
}

// apiKeyScopes lists the scope catalogue: the built-in scopes, then the
// deployment's own.
func (a *api) apiKeyScopes(c *gin.Context) error {
	if _, _, err := a.apiKeyScope(c); err != nil {
		return err
	}
	list := a.APIKeyAdmin.Service.Scopes()
	out := make([]scopeJSON, len(list))
	for i, s := range list {
		out[i] = scopeJSON{Name: s.Name, Description: s.Description, KeyTypes: []string{"secret"}}
		if s.Public {
			out[i].KeyTypes = []string{"public", "secret"}
		}
	}
	c.JSON(http.StatusOK, gin.H{"scopes": out})
	return nil
}

// apiKeyJSON is an API key as the API shows it. Key is present on create
// and roll, and for public keys; a secret key otherwise shows only its
// prefix and last four characters.
type apiKeyJSON struct {
	ID                 string     `json:"id"`
	OrganisationID     string     `json:"organisation_id"`
	Type               string     `json:"type"`
	Mode               string     `json:"mode"`
	Name               string     `json:"name"`
	Scopes             []string   `json:"scopes"`
	Key                string     `json:"key,omitempty"`
	Prefix             string     `json:"prefix"`
	Last4              string     `json:"last4"`
	Masked             string     `json:"masked"`
	Status             string     `json:"status"`
	RateLimit          int        `json:"rate_limit"`
	RateLimitPerMinute int        `json:"rate_limit_per_minute"`
	RolledFrom         *string    `json:"rolled_from"`
	CreatedBy          string     `json:"created_by"`
	CreatedAt          time.Time  `json:"created_at"`
	ExpiresAt          *time.Time `json:"expires_at"`
	RevokedAt          *time.Time `json:"revoked_at"`
	LastUsedAt         *time.Time `json:"last_used_at"`
}

func toAPIKeyJSON(in apikey.Info) apiKeyJSON {
	out := apiKeyJSON{
		ID: in.ID, OrganisationID: in.OrganisationID, Type: in.Type, Mode: string(in.Mode), Name: in.Name,
		Scopes: in.Scopes, Key: in.Key, Prefix: in.Prefix, Last4: in.Last4, Masked: in.Masked, Status: in.Status,
		RateLimit: in.RateLimit, RateLimitPerMinute: in.RateLimitPerMinute, CreatedBy: in.CreatedBy, CreatedAt: in.CreatedAt,
		ExpiresAt: in.ExpiresAt, RevokedAt: in.RevokedAt, LastUsedAt: in.LastUsedAt,
	}
	if in.RolledFrom != "" {
		out.RolledFrom = &in.RolledFrom
	}
	return out
}

type createAPIKeyRequest struct {
	Type               string   `json:"type"`
	Name               string   `json:"name"`
	Scopes             []string `json:"scopes"`
	RateLimit          int      `json:"rate_limit"`
	RateLimitPerMinute int      `json:"rate_limit_per_minute"`
}

func (a *api) createAPIKey(c *gin.Context) error {
	scope, actor, err := a.apiKeyScope(c)
	if err != nil {
		return err
	}
	var req createAPIKeyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in, err := a.APIKeyAdmin.Service.Create(c.Request.Context(), actor, apikey.CreateParams{
		OrganisationID: scope.OrganisationID, Mode: scope.Mode, Type: req.Type, Name: req.Name,
		Scopes: req.Scopes, RateLimit: req.RateLimit, RateLimitPerMinute: req.RateLimitPerMinute,
	})
	if err != nil {
		return apiKeyError(err)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, toAPIKeyJSON(in))
	return nil
}

type apiKeyListJSON struct {
	APIKeys []apiKeyJSON `json:"api_keys"`
	Page    int          `json:"page"`
	Size    int          `json:"size"`
}

func (a *api) listAPIKeys(c *gin.Context) error {
	scope, _, err := a.apiKeyScope(c)
	if err != nil {
		return err
	}
	p, pg, size, err := page(c)
	if err != nil {
		return err
	}
	list, err := a.APIKeyAdmin.Service.List(c.Request.Context(), scope, p)
	if err != nil {
		return apiKeyError(err)
	}
	out := apiKeyListJSON{APIKeys: make([]apiKeyJSON, len(list)), Page: pg, Size: size}
	for i, in := range list {
		out.APIKeys[i] = toAPIKeyJSON(in)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
	return nil
}

func (a *api) getAPIKey(c *gin.Context) error {
	scope, _, err := a.apiKeyScope(c)
	if err != nil {
		return err
	}
	in, err := a.APIKeyAdmin.Service.Get(c.Request.Context(), scope, c.Param("id"))
	if err != nil {
		return apiKeyError(err)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, toAPIKeyJSON(in))
	return nil
}

type rollAPIKeyRequest struct {
	// ExpiresAt is "now" or an RFC 3339 time; absent means now.
	ExpiresAt string `json:"expires_at"`
}

type rolledAPIKeyJSON struct {
	apiKeyJSON
	OldKey apiKeyJSON `json:"old_key"`
}

func (a *api) rollAPIKey(c *gin.Context) error {
	scope, actor, err := a.apiKeyScope(c)
	if err != nil {
		return err
	}
	var req rollAPIKeyRequest
	if err := bindOptionalJSON(c, &req); err != nil {
		return err
	}
	expiry, err := parseExpiresAt(req.ExpiresAt)
	if err != nil {
		return err
	}
	nk, old, err := a.APIKeyAdmin.Service.Roll(c.Request.Context(), actor, scope, c.Param("id"), expiry)
	if err != nil {
		return apiKeyError(err)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, rolledAPIKeyJSON{apiKeyJSON: toAPIKeyJSON(nk), OldKey: toAPIKeyJSON(old)})
	return nil
}

func (a *api) revokeAPIKey(c *gin.Context) error {
	scope, actor, err := a.apiKeyScope(c)
	if err != nil {
		return err
	}
	if _, err := a.APIKeyAdmin.Service.Revoke(c.Request.Context(), actor, scope, c.Param("id")); err != nil {
		return apiKeyError(err)
	}
	c.Status(http.StatusNoContent)
	return nil
}

// apiKeyError names the missing resource; everything else reads as the
// error table says.
func apiKeyError(err error) error {
	if e := apierror.For(err); e.Code == apierror.CodeNotFound {
		return e.WithDetail("No such API key.")
	}
	return err
}
