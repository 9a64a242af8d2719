package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/signin"
)

// flexBool accepts JSON booleans and the strings "true"/"false" (the CRM's
// guide sends both).
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return &json.UnmarshalTypeError{Value: string(data), Type: boolType}
	}
	return nil
}

// contactJSON is a contact in answers.
type contactJSON struct {
	ID                string  `json:"id"`
	Code              *string `json:"code"`
	FirstName         string  `json:"first_name"`
	LastName          string  `json:"last_name"`
	Title             *string `json:"title"`
	Email             *string `json:"email"`
	PhoneNumber       *string `json:"phone_number"`
	AvatarURL         *string `json:"avatar_url"`
	EmailOptOut       bool    `json:"email_opt_out"`
	SMSOptOut         bool    `json:"sms_opt_out"`
	ServiceAcceptance bool    `json:"service_acceptance"`
	Mode              string  `json:"mode"`
	CreatedAt         string  `json:"created_at"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toContactJSON(c identity.Contact) contactJSON {
	return contactJSON{ID: c.ID, Code: optional(c.Code), FirstName: c.FirstName, LastName: c.LastName, Title: optional(c.Title),
		Email: optional(c.Email), PhoneNumber: optional(c.PhoneNumber), AvatarURL: optional(c.AvatarURL),
		EmailOptOut: c.EmailOptOut, SMSOptOut: c.SMSOptOut, ServiceAcceptance: c.ServiceAcceptance,
		Mode: string(c.Mode), CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339)}
}

// contactInputJSON is a contact as callers send it.
type contactInputJSON struct {
	ID                string   `json:"id"`
	Code              string   `json:"code"`
	FirstName         string   `json:"first_name"`
	LastName          string   `json:"last_name"`
	Title             string   `json:"title"`
	Email             string   `json:"email"`
	PhoneNumber       string   `json:"phone_number"`
	CountryCode       string   `json:"country_code"`
	AvatarURL         string   `json:"avatar_url"`
	EmailOptOut       flexBool `json:"email_opt_out"`
	SMSOptOut         flexBool `json:"sms_opt_out"`
	ServiceAcceptance flexBool `json:"service_acceptance"`
}

func (in contactInputJSON) input() identity.ContactInput {
	return identity.ContactInput{ID: in.ID, Code: in.Code, FirstName: in.FirstName, LastName: in.LastName, Title: in.Title,
		Email: in.Email, PhoneNumber: in.PhoneNumber, CountryCode: in.CountryCode, AvatarURL: in.AvatarURL,
		EmailOptOut: bool(in.EmailOptOut), SMSOptOut: bool(in.SMSOptOut), ServiceAcceptance: bool(in.ServiceAcceptance)}
}

// ContactDeps are the services of the contact endpoints.
type ContactDeps struct {
	Identity *identity.Service
	SignIn   *signin.Service
	// SelfService runs the self-service flows (nil: only back-office
	// contact endpoints).
	SelfService *selfservice.Service
	// ClientID is the OAuth client contact tokens are issued for.
	ClientID string
}

// signinClient: the self-service endpoints answer with a refresh token
// (contract.md), so their client always refreshes.
func (d *ContactDeps) signinClient() signin.Client {
	return signin.Client{ID: d.ClientID, Refresh: true}
}

var boolType = reflect.TypeOf(true)

type contacts struct {
	*api
	d *ContactDeps
}

func (a *api) mountBackofficeContacts(g *gin.RouterGroup) {
	h := &contacts{api: a, d: a.Contacts}
	g.POST("/contacts", requireBearerOrSecretKey(a.Tokens, a.APIKeys, apikey.ScopeContactsWrite, "user"), wrap(h.create))
	g.GET("/contacts/:id", requireBearerOrSecretKey(a.Tokens, a.APIKeys, apikey.ScopeContactsRead, "user"), wrap(h.get))
	g.POST("/contacts/:id/organisations", requireBearerOrSecretKey(a.Tokens, a.APIKeys, apikey.ScopeContactsWrite, "user"), wrap(h.link))
}

// tenantOf is the business and mode a back-office caller manages
// contacts of (identity decides), and the actor for the audit trail.
func (h *contacts) tenantOf(c *gin.Context) (string, identity.Mode, string, string, error) {
	var caller identity.ContactCaller
	if k, ok := keyOf(c); ok {
		caller = identity.ContactCaller{KeyID: k.ID, Org: k.OrganisationID, Mode: k.Mode}
	} else {
		claims, _ := claimsOf(c)
		caller = identity.ContactCaller{UserID: claims.Subject, Org: claims.Org, Mode: identity.Mode(claims.Mode)}
	}
	return h.d.Identity.ContactTenant(c.Request.Context(), caller)
}

func (h *contacts) create(c *gin.Context) error {
	var req contactInputJSON
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	biz, mode, actorKind, actorID, err := h.tenantOf(c)
	if err != nil {
		return err
	}
	ct, err := h.d.Identity.BuildContact(biz, mode, req.input())
	if err != nil {
		return err
	}
	if err := h.d.Identity.CreateContact(c.Request.Context(), ct, actorKind, actorID); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, toContactJSON(ct))
	return nil
}

func (h *contacts) get(c *gin.Context) error {
	biz, mode, _, _, err := h.tenantOf(c)
	if err != nil {
		return err
	}
	ct, err := h.d.Identity.Contact(c.Request.Context(), biz, mode, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toContactJSON(ct))
	return nil
}

// contactAuthResponse is contract.md's auth response for a contact.
type contactAuthResponse struct {
	AccessToken         string      `json:"access_token"`
	RefreshToken        string      `json:"refresh_token"`
	TokenType           string      `json:"token_type"`
	ExpiresIn           int64       `json:"expires_in"`
	Mode                string      `json:"mode"`
	Contact             contactJSON `json:"contact"`
	CurrentOrganisation orgJSON     `json:"current_organisation"`
	Organisations       []orgJSON   `json:"organisations"`
}

// respondAuth writes the auth response for a contact.
func (h *contacts) respondAuth(c *gin.Context, status int, ct identity.Contact, toks signin.Tokens) error {
	ctx := c.Request.Context()
	biz, err := h.d.Identity.ContactBusiness(ctx, ct)
	if err != nil {
		return err
	}
	orgs, err := h.contactOrganisations(c, ct)
	if err != nil {
		return err
	}
	cj := toContactJSON(ct)
	bj := toOrgJSON(biz, "")
	bj.Role = nil
	c.Header("Cache-Control", "no-store")
	c.JSON(status, contactAuthResponse{AccessToken: toks.AccessToken, RefreshToken: toks.RefreshToken, TokenType: "Bearer",
		ExpiresIn: toks.ExpiresIn, Mode: string(ct.Mode), Contact: cj, CurrentOrganisation: bj, Organisations: orgs})
	return nil
}

func (h *contacts) contactOrganisations(c *gin.Context, ct identity.Contact) ([]orgJSON, error) {
	links, orgs, err := h.d.Identity.ContactOrganisations(c.Request.Context(), ct.BusinessID, ct.Mode, ct.ID)
	if err != nil {
		return nil, err
	}
	out := make([]orgJSON, 0, len(orgs))
	for i, o := range orgs {
		j := toOrgJSON(o, "")
		rel := links[i].Relationship
		j.Relationship = &rel
		out = append(out, j)
	}
	return out, nil
}

type linkOrgRequest struct {
	OrganisationID string `json:"organisation_id"`
	Relationship   string `json:"relationship"`
}

// link joins the contact to, or shares it with, another organisation of
// the network; the auth response lists it with its relationship.
func (h *contacts) link(c *gin.Context) error {
	var req linkOrgRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.OrganisationID == "" {
		return apierror.Invalid("organisation_id", "The organisation_id is required.")
	}
	biz, mode, actorKind, actorID, err := h.tenantOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	if err := h.d.Identity.LinkContactOrganisation(ctx, biz, mode, c.Param("id"), req.OrganisationID, req.Relationship, actorKind, actorID); err != nil {
		return err
	}
	ct, err := h.d.Identity.Contact(ctx, biz, mode, c.Param("id"))
	if err != nil {
		return err
	}
	orgs, err := h.contactOrganisations(c, ct)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"contact": toContactJSON(ct), "organisations": orgs})
	return nil
}
