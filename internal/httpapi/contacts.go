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
	Type              string  `json:"type"`
	Locale            *string `json:"locale"`
	Mode              string  `json:"mode"`
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         string  `json:"updated_at"`
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
		Type: c.Type, Locale: optional(c.Locale), Mode: string(c.Mode),
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: c.UpdatedAt.UTC().Format(time.RFC3339)}
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
	Type              string   `json:"type"`
	Locale            string   `json:"locale"`
}

func (in contactInputJSON) input() identity.ContactInput {
	return identity.ContactInput{ID: in.ID, Code: in.Code, FirstName: in.FirstName, LastName: in.LastName, Title: in.Title,
		Email: in.Email, PhoneNumber: in.PhoneNumber, CountryCode: in.CountryCode, AvatarURL: in.AvatarURL,
		EmailOptOut: bool(in.EmailOptOut), SMSOptOut: bool(in.SMSOptOut), ServiceAcceptance: bool(in.ServiceAcceptance),
		Type: in.Type, Locale: in.Locale}
}

// contactPatchJSON is a change to a contact's profile: absent (or null)
// fields stay as they are. The id, the code and identities never change
// this way; the email and phone on record only from the back office.
type contactPatchJSON struct {
	Title       *string   `json:"title"`
	FirstName   *string   `json:"first_name"`
	LastName    *string   `json:"last_name"`
	AvatarURL   *string   `json:"avatar_url"`
	EmailOptOut *flexBool `json:"email_opt_out"`
	SMSOptOut   *flexBool `json:"sms_opt_out"`
	Locale      *string   `json:"locale"`
	Type        *string   `json:"type"`
	Email       *string   `json:"email"`
	PhoneNumber *string   `json:"phone_number"`
	CountryCode *string   `json:"country_code"`

	// Named so that sending them is a clear refusal, not an unknown field.
	ID         json.RawMessage `json:"id"`
	Code       json.RawMessage `json:"code"`
	Identity   json.RawMessage `json:"identity"`
	Identities json.RawMessage `json:"identities"`
	Password   json.RawMessage `json:"password"`
}

// patch checks what a caller may change (record: the email and phone on
// record too) and returns the change.
func (in contactPatchJSON) patch(record bool) (identity.ContactPatch, error) {
	for _, f := range []struct {
		name string
		v    json.RawMessage
		why  string
	}{
		{"id", in.ID, "The id of a contact never changes."},
		{"code", in.Code, "The cross-reference code cannot change here."},
		{"identity", in.Identity, "Identities do not change here."},
		{"identities", in.Identities, "Identities do not change here."},
		{"password", in.Password, "The password changes with PUT /self-service/v1/contacts/me/password."},
	} {
		if f.v != nil {
			return identity.ContactPatch{}, apierror.Invalid(f.name, f.why)
		}
	}
	if !record {
		for _, f := range []struct {
			name string
			v    *string
		}{{"email", in.Email}, {"phone_number", in.PhoneNumber}, {"country_code", in.CountryCode}} {
			if f.v != nil {
				return identity.ContactPatch{}, apierror.Invalid(f.name, "The "+f.name+" on record changes in the back office; sign-in identities do not change here.")
			}
		}
	}
	if in.CountryCode != nil && in.PhoneNumber == nil {
		return identity.ContactPatch{}, apierror.Invalid("country_code", "The country_code goes with a phone_number.")
	}
	p := identity.ContactPatch{Title: in.Title, FirstName: in.FirstName, LastName: in.LastName, AvatarURL: in.AvatarURL,
		Locale: in.Locale, Type: in.Type, Email: in.Email, PhoneNumber: in.PhoneNumber, CountryCode: in.CountryCode}
	if in.EmailOptOut != nil {
		v := bool(*in.EmailOptOut)
		p.EmailOptOut = &v
	}
	if in.SMSOptOut != nil {
		v := bool(*in.SMSOptOut)
		p.SMSOptOut = &v
	}
	return p, nil
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
	g.GET("/contacts", requireBearerOrSecretKey(a.Tokens, a.APIKeys, apikey.ScopeContactsRead, "user"), wrap(h.list))
	g.GET("/contacts/:id", requireBearerOrSecretKey(a.Tokens, a.APIKeys, apikey.ScopeContactsRead, "user"), wrap(h.get))
	g.PATCH("/contacts/:id", requireBearerOrSecretKey(a.Tokens, a.APIKeys, apikey.ScopeContactsWrite, "user"), wrap(h.update))
	g.DELETE("/contacts/:id", requireBearerOrSecretKey(a.Tokens, a.APIKeys, apikey.ScopeContactsWrite, "user"), wrap(h.erase))
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

// list answers an exact-match look-up (or the whole list) of the
// caller's business's contacts, a page at a time.
func (h *contacts) list(c *gin.Context) error {
	for _, k := range []string{"code", "email", "phone_number", "country_code"} {
		if len(c.QueryArray(k)) > 1 {
			return apierror.Invalid(k, k+" must be given once.")
		}
	}
	pg, n, size, err := page(c)
	if err != nil {
		return err
	}
	biz, mode, _, _, err := h.tenantOf(c)
	if err != nil {
		return err
	}
	q := identity.ContactQuery{Code: c.Query("code"), Email: c.Query("email"), PhoneNumber: c.Query("phone_number"), CountryCode: c.Query("country_code")}
	list, total, err := h.d.Identity.ListContacts(c.Request.Context(), biz, mode, q, pg)
	if err != nil {
		return err
	}
	out := make([]contactJSON, len(list))
	for i, ct := range list {
		out[i] = toContactJSON(ct)
	}
	c.JSON(http.StatusOK, gin.H{"contacts": out, "page": n, "size": size, "total": total})
	return nil
}

// update changes a contact's profile and its email and phone on record.
func (h *contacts) update(c *gin.Context) error {
	var req contactPatchJSON
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	p, err := req.patch(true)
	if err != nil {
		return err
	}
	biz, mode, actorKind, actorID, err := h.tenantOf(c)
	if err != nil {
		return err
	}
	ct, err := h.d.Identity.UpdateContact(c.Request.Context(), biz, mode, c.Param("id"), p, actorKind, actorID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toContactJSON(ct))
	return nil
}

// erase removes a contact for good (its tokens end first).
func (h *contacts) erase(c *gin.Context) error {
	biz, mode, actorKind, actorID, err := h.tenantOf(c)
	if err != nil {
		return err
	}
	if err := h.d.Identity.EraseContact(c.Request.Context(), biz, mode, c.Param("id"), actorKind, actorID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
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
