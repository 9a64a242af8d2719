package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/clients"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/token"
)

// ClientService manages OAuth clients (clients.Service); it decides who
// may.
type ClientService interface {
	Create(ctx context.Context, c clients.Caller, p clients.CreateParams) (clients.Issued, error)
	List(ctx context.Context, c clients.Caller) ([]clients.Info, error)
	Get(ctx context.Context, c clients.Caller, id string) (clients.Info, error)
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
	CreatedAt               time.Time  `json:"created_at"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
}

// clientCreatedJSON adds the secret just generated (confidential clients):
// its only appearance.
type clientCreatedJSON struct {
	clientJSON
	ClientSecret string `json:"client_secret,omitempty"`
}

func toClientJSON(in clients.Info) clientJSON {
	out := clientJSON{ClientID: in.ID, Name: in.Name, Type: in.Type, GrantTypes: in.GrantTypes, Scopes: in.Scopes,
		Audiences: in.Audiences, CreatedAt: in.CreatedAt, PreviousSecretExpiresAt: in.PreviousSecretExpiresAt}
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
}

func (a *api) createClient(c *gin.Context) error {
	var req createClientRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in, err := a.ClientAdmin.Service.Create(c.Request.Context(), clientCaller(c), clients.CreateParams{
		Name: req.Name, Type: req.Type, GrantTypes: req.GrantTypes, Scopes: req.Scopes, Audiences: req.Audiences,
		OrganisationID: req.OrganisationID, Mode: identity.Mode(req.Mode),
	})
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, clientCreatedJSON{clientJSON: toClientJSON(in.Info), ClientSecret: in.Secret})
	return nil
}

func (a *api) listClients(c *gin.Context) error {
	list, err := a.ClientAdmin.Service.List(c.Request.Context(), clientCaller(c))
	if err != nil {
		return err
	}
	out := make([]clientJSON, len(list))
	for i, in := range list {
		out[i] = toClientJSON(in)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"clients": out})
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
