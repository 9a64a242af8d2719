package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/clients"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/token"
)

// ClientService manages OAuth clients (clients.Service); it decides who
// may.
type ClientService interface {
	Create(ctx context.Context, c clients.Caller, p clients.CreateParams) (clients.Issued, error)
	List(ctx context.Context, c clients.Caller, p identity.Page) ([]clients.Info, int, error)
	Get(ctx context.Context, c clients.Caller, id string) (clients.Info, error)
	Update(ctx context.Context, c clients.Caller, id string, u clients.UpdateParams) (clients.Info, error)
	RotateSecret(ctx context.Context, c clients.Caller, id string, previousExpiresAt *time.Time) (clients.Issued, error)
	Delete(ctx context.Context, c clients.Caller, id string) error
}

// ClientDeps are the services of the back-office client endpoints.
type ClientDeps struct {
	Service ClientService
}

// mountClients serves /backoffice/v1/clients: a user token whichever the
// call; the clients service decides whether its user may (an admin or
// owner of the service owner, acting for it).
func (a *api) mountClients(bo *gin.RouterGroup) {
	user := requireBearer(a.Tokens, token.KindUser)
	bo.POST("/clients", user, wrap(a.createClient))
	bo.GET("/clients", user, wrap(a.listClients))
	bo.GET("/clients/:client_id", user, wrap(a.getClient))
	bo.PATCH("/clients/:client_id", user, wrap(a.updateClient))
	bo.DELETE("/clients/:client_id", user, wrap(a.deleteClient))
	bo.POST("/clients/:client_id/rotate-secret", user, wrap(a.rotateClientSecret))
}

// clientCaller is the token's user and the organisation it acts for.
func clientCaller(c *gin.Context) clients.Caller {
	claims, _ := claimsOf(c)
	return clients.Caller{UserID: claims.Subject, Org: claims.Org}
}

// clientJSON is a client as the API shows it: never its secret.
type clientJSON struct {
	ClientID                string     `json:"client_id"`
	Name                    string     `json:"name"`
	Type                    string     `json:"type"`
	GrantTypes              []string   `json:"grant_types"`
	Scopes                  []string   `json:"scopes"`
	Audiences               []string   `json:"audiences"`
	OrganisationID          *string    `json:"organisation_id"`
	Mode                    *string    `json:"mode"`
	AccessTokenTTL          *int64     `json:"access_token_ttl"`
	RefreshTokenTTL         *int64     `json:"refresh_token_ttl"`
	RefreshTokenIdleTTL     *int64     `json:"refresh_token_idle_ttl"`
	CreatedAt               time.Time  `json:"created_at"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
}

// ttlJSON is a client's lifetime in seconds; null: the service's default.
func ttlJSON(d time.Duration) *int64 {
	if d == 0 {
		return nil
	}
	n := int64(d / time.Second)
	return &n
}

// maxTTLSeconds bounds the seconds read from a request before they become
// a time.Duration (which would overflow); the service refuses anything
// above its maxima, naming the field.
const maxTTLSeconds = 1 << 31

// ttlOf is a lifetime from the request: seconds (null or 0: the default).
func ttlOf(n *int64) time.Duration {
	if n == nil {
		return 0
	}
	return time.Duration(min(max(*n, -1), maxTTLSeconds)) * time.Second
}

// clientCreatedJSON adds the secret just generated (confidential clients):
// its only appearance.
type clientCreatedJSON struct {
	clientJSON
	ClientSecret string `json:"client_secret,omitempty"`
}

func toClientJSON(in clients.Info) clientJSON {
	out := clientJSON{ClientID: in.ID, Name: in.Name, Type: in.Type, GrantTypes: in.GrantTypes, Scopes: in.Scopes,
		Audiences: in.Audiences, CreatedAt: in.CreatedAt, PreviousSecretExpiresAt: in.PreviousSecretExpiresAt,
		AccessTokenTTL: ttlJSON(in.AccessTokenTTL), RefreshTokenTTL: ttlJSON(in.RefreshTokenTTL), RefreshTokenIdleTTL: ttlJSON(in.RefreshIdleTTL)}
	if in.OrganisationID != "" {
		org, mode := in.OrganisationID, string(in.Mode)
		out.OrganisationID, out.Mode = &org, &mode
	}
	return out
}

type createClientRequest struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	GrantTypes     []string `json:"grant_types"`
	Scopes         []string `json:"scopes"`
	Audiences      []string `json:"audiences"`
	OrganisationID string   `json:"organisation_id"`
	Mode           string   `json:"mode"`
	// Lifetimes in seconds; absent, null or 0: the service's defaults.
	AccessTokenTTL      *int64 `json:"access_token_ttl"`
	RefreshTokenTTL     *int64 `json:"refresh_token_ttl"`
	RefreshTokenIdleTTL *int64 `json:"refresh_token_idle_ttl"`
}

func (a *api) createClient(c *gin.Context) error {
	var req createClientRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in, err := a.ClientAdmin.Service.Create(c.Request.Context(), clientCaller(c), clients.CreateParams{
		Name: req.Name, Type: req.Type, GrantTypes: req.GrantTypes, Scopes: req.Scopes, Audiences: req.Audiences,
		OrganisationID: req.OrganisationID, Mode: identity.Mode(req.Mode),
		Lifetimes: clients.Lifetimes{AccessTokenTTL: ttlOf(req.AccessTokenTTL), RefreshTokenTTL: ttlOf(req.RefreshTokenTTL),
			RefreshIdleTTL: ttlOf(req.RefreshTokenIdleTTL)},
	})
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, clientCreatedJSON{clientJSON: toClientJSON(in.Info), ClientSecret: in.Secret})
	return nil
}

func (a *api) listClients(c *gin.Context) error {
	p, pg, size, err := page(c)
	if err != nil {
		return err
	}
	list, total, err := a.ClientAdmin.Service.List(c.Request.Context(), clientCaller(c), p)
	if err != nil {
		return err
	}
	out := make([]clientJSON, len(list))
	for i, in := range list {
		out[i] = toClientJSON(in)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"clients": out, "page": pg, "size": size, "total": total})
	return nil
}

func (a *api) getClient(c *gin.Context) error {
	in, err := a.ClientAdmin.Service.Get(c.Request.Context(), clientCaller(c), c.Param("client_id"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, toClientJSON(in))
	return nil
}

func (a *api) deleteClient(c *gin.Context) error {
	if err := a.ClientAdmin.Service.Delete(c.Request.Context(), clientCaller(c), c.Param("client_id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type rotateClientSecretRequest struct {
	// ExpiresAt is when the current secret stops working: "now" or an
	// RFC 3339 time; absent means now.
	ExpiresAt string `json:"expires_at"`
}

func (a *api) rotateClientSecret(c *gin.Context) error {
	var req rotateClientSecretRequest
	if err := bindOptionalJSON(c, &req); err != nil {
		return err
	}
	expiry, err := parseExpiresAt(req.ExpiresAt)
	if err != nil {
		return err
	}
	in, err := a.ClientAdmin.Service.RotateSecret(c.Request.Context(), clientCaller(c), c.Param("client_id"), expiry)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, clientCreatedJSON{clientJSON: toClientJSON(in.Info), ClientSecret: in.Secret})
	return nil
}

// fixedClientFields are a client's members that an update cannot change.
var fixedClientFields = map[string]string{
	"client_id":                  "The client id cannot be changed.",
	"type":                       "A client's type cannot be changed: register another client.",
	"client_secret":              "The secret cannot be set: rotate it (POST …/rotate-secret).",
	"organisation_id":            "A client's binding cannot be changed: register another client.",
	"mode":                       "A client's binding cannot be changed: register another client.",
	"created_at":                 "created_at cannot be changed.",
	"previous_secret_expires_at": "The previous secret's expiry is set by a rotation.",
}

// updateClient is PATCH (JSON merge patch, RFC 7396): the members present
// change, the others stay; a lifetime of null or 0 goes back to the
// service's default. Members that cannot change and unknown members are
// 422 naming the field, and nothing changes.
func (a *api) updateClient(c *gin.Context) error {
	var raw map[string]json.RawMessage
	if err := bindJSON(c, &raw); err != nil {
		return err
	}
	var u clients.UpdateParams
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same field is named whatever the order
	for _, k := range keys {
		v := raw[k]
		if msg, ok := fixedClientFields[k]; ok {
			return apierror.Invalid(k, msg)
		}
		var err error
		switch k {
		case "name":
			u.Name = new(string)
			err = decodeMember(v, u.Name, "a string")
		case "grant_types":
			u.GrantTypes = new([]string)
			err = decodeMember(v, u.GrantTypes, "an array of strings")
		case "scopes":
			u.Scopes = new([]string)
			err = decodeMember(v, u.Scopes, "an array of strings")
		case "audiences":
			u.Audiences = new([]string)
			err = decodeMember(v, u.Audiences, "an array of strings")
		case "access_token_ttl":
			u.AccessTokenTTL, err = decodeTTL(v)
		case "refresh_token_ttl":
			u.RefreshTokenTTL, err = decodeTTL(v)
		case "refresh_token_idle_ttl":
			u.RefreshIdleTTL, err = decodeTTL(v)
		default:
			return apierror.Invalid(k, "Unknown field "+k+"; a client's name, grant_types, scopes, audiences, access_token_ttl, refresh_token_ttl and refresh_token_idle_ttl can be changed.")
		}
		if err != nil {
			return apierror.Invalid(k, "The field "+k+" must be "+err.Error()+".")
		}
	}
	in, err := a.ClientAdmin.Service.Update(c.Request.Context(), clientCaller(c), c.Param("client_id"), u)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, toClientJSON(in))
	return nil
}

// decodeMember decodes one member into dst; null and other types are
// refused (what names the type wanted).
func decodeMember(v json.RawMessage, dst any, what string) error {
	if string(v) == "null" || json.Unmarshal(v, dst) != nil {
		return errors.New(what)
	}
	return nil
}

// decodeTTL reads a lifetime: whole seconds, or null (the default).
func decodeTTL(v json.RawMessage) (*time.Duration, error) {
	var n *int64
	if err := json.Unmarshal(v, &n); err != nil {
		return nil, errors.New("a whole number of seconds or null")
	}
	d := ttlOf(n)
	return &d, nil
}
