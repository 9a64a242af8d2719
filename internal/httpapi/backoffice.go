package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/token"
)

// BackofficeDeps are the services of the back-office user endpoints.
type BackofficeDeps struct {
	Identity *identity.Service
	SignIn   *signin.Service
	// ClientID is the OAuth client the CRM-style endpoints issue for.
	ClientID string
}

// signinClient: the CRM-style endpoints answer with a refresh token
// (contract.md), so their client always refreshes.
func (d *BackofficeDeps) signinClient() signin.Client {
	return signin.Client{ID: d.ClientID, Refresh: true}
}

func (a *api) mountBackoffice(g *gin.RouterGroup) {
	b := &backoffice{api: a, d: a.Backoffice}
	bearer := requireBearer(a.Tokens, token.KindUser)
	g.POST("/users/authenticate", wrap(b.authenticate))
	g.POST("/users/refresh", wrap(b.refresh))
	g.GET("/users/me/organisations", bearer, wrap(b.myOrganisations))
	g.POST("/users", bearer, wrap(b.createUser))
	g.GET("/users", bearer, wrap(b.listUsers))
	g.POST("/users/:id/disable", bearer, wrap(b.disableUser))
	g.POST("/users/:id/memberships", bearer, wrap(b.addMembership))
	g.DELETE("/users/:id/memberships/:organisation_id", bearer, wrap(b.removeMembership))
	g.POST("/organisations", bearer, wrap(b.createOrganisation))
	g.GET("/organisations", bearer, wrap(b.listOrganisations))
	g.GET("/organisations/:id", bearer, wrap(b.getOrganisation))
	g.POST("/organisations/:id/switch", bearer, wrap(b.switchOrganisation))
	g.GET("/audit-events", bearer, wrap(b.auditEvents))
	b.mountUserAccount(g)
}

type backoffice struct {
	*api
	d *BackofficeDeps
}

type authenticateRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (b *backoffice) authenticate(c *gin.Context) error {
	var req authenticateRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Username == "" {
		return apierror.Invalid("username", "The username (email) is required.")
	}
	if req.Password == "" {
		return apierror.Invalid("password", "The password is required.")
	}
	res, err := b.d.SignIn.UserPassword(c.Request.Context(), b.d.signinClient(), nil, req.Username, req.Password)
	if err != nil {
		return err
	}
	return b.respondAuth(c, http.StatusOK, res.Principal, res.Tokens)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (b *backoffice) refresh(c *gin.Context) error {
	var req refreshRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return apierror.Invalid("refresh_token", "The refresh_token is required.")
	}
	p, toks, err := b.d.SignIn.Refresh(c.Request.Context(), req.RefreshToken, b.d.ClientID, signin.SubjectKind(identity.KindUser))
	if err != nil {
		return err
	}
	return b.respondAuth(c, http.StatusOK, p, toks)
}

type switchRequest struct {
	Mode string `json:"mode"`
}

func (b *backoffice) switchOrganisation(c *gin.Context) error {
	var req switchRequest
	if err := bindOptionalJSON(c, &req); err != nil {
		return err
	}
	if req.Mode != "" && !identity.Mode(req.Mode).Valid() {
		return apierror.Invalid("mode", "The mode must be live or test.")
	}
	claims, _ := claimsOf(c)
	p, toks, err := b.d.SignIn.Switch(c.Request.Context(), claims, c.Param("id"), identity.Mode(req.Mode), b.d.signinClient())
	if err != nil {
		return err
	}
	return b.respondAuth(c, http.StatusOK, p, toks)
}

// userJSON is a back-office user as the CRM sees it.
type userJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Disabled  bool   `json:"disabled"`
	CreatedAt string `json:"created_at"`
}

func toUserJSON(u identity.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339)}
}

// orgJSON is an organisation in answers.
type orgJSON struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Type         string  `json:"type"`
	ParentID     *string `json:"parent_id"`
	Relationship *string `json:"relationship,omitempty"`
	Role         *string `json:"role"`
}

func toOrgJSON(o identity.Organisation, role string) orgJSON {
	j := orgJSON{ID: o.ID, Name: o.Name, Type: o.Type}
	if o.ParentID != "" {
		j.ParentID = &o.ParentID
	}
	if role != "" {
		j.Role = &role
	}
	return j
}

// authResponse is contract.md's auth response.
type authResponse struct {
	AccessToken         string    `json:"access_token"`
	RefreshToken        string    `json:"refresh_token"`
	TokenType           string    `json:"token_type"`
	ExpiresIn           int64     `json:"expires_in"`
	Mode                string    `json:"mode"`
	User                *userJSON `json:"user,omitempty"`
	CurrentOrganisation *orgJSON  `json:"current_organisation"`
	HomeOrganisation    *orgJSON  `json:"home_organisation,omitempty"`
	ServiceOwner        *bool     `json:"service_owner,omitempty"`
	Organisations       []orgJSON `json:"organisations,omitempty"`
}

func (b *backoffice) respondAuth(c *gin.Context, status int, p signin.Principal, toks signin.Tokens) error {
	prof, err := b.d.Identity.Profile(c.Request.Context(), p.ID, p.Org, p.HomeOrg)
	if err != nil {
		return err
	}
	uj := toUserJSON(prof.User)
	cj := toOrgJSON(prof.Current, prof.Role)
	resp := authResponse{AccessToken: toks.AccessToken, RefreshToken: toks.RefreshToken, TokenType: "Bearer",
		ExpiresIn: toks.ExpiresIn, Mode: string(p.Mode), User: &uj, CurrentOrganisation: &cj, ServiceOwner: &prof.ServiceOwner}
	if prof.Home != nil {
		hj := toOrgJSON(*prof.Home, prof.Role)
		resp.HomeOrganisation = &hj
	}
	if !prof.ServiceOwner {
		resp.Organisations = make([]orgJSON, 0, len(prof.Acting))
		for _, o := range prof.Acting {
			resp.Organisations = append(resp.Organisations, toOrgJSON(o.Organisation, o.Role))
		}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, resp)
	return nil
}

func (b *backoffice) myOrganisations(c *gin.Context) error {
	p, pg, size, err := page(c)
	if err != nil {
		return err
	}
	claims, _ := claimsOf(c)
	acting, total, err := b.d.Identity.ActingOrganisations(c.Request.Context(), claims.Subject, p)
	if err != nil {
		return err
	}
	out := make([]orgJSON, 0, len(acting))
	for _, a := range acting {
		out = append(out, toOrgJSON(a.Organisation, a.Role))
	}
	c.JSON(http.StatusOK, gin.H{"organisations": out, "page": pg, "size": size, "total": total})
	return nil
}

type createOrgRequest struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	ParentID string `json:"parent_id"`
}

// actorOf is the user a back-office bearer token acts as, and the
// organisation it acts for: identity confines every read and write to
// that organisation and what lies below it.
func actorOf(claims token.Claims) identity.Actor {
	return identity.Actor{UserID: claims.Subject, Org: claims.Org}
}

func (b *backoffice) createOrganisation(c *gin.Context) error {
	var req createOrgRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	claims, _ := claimsOf(c)
	if req.ParentID == "" {
		req.ParentID = claims.Org
	}
	o, err := b.d.Identity.CreateOrganisation(c.Request.Context(), actorOf(claims),
		identity.NewOrganisation{Name: req.Name, Type: req.Type, ParentID: req.ParentID})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, toOrgJSON(o, ""))
	return nil
}

func (b *backoffice) listOrganisations(c *gin.Context) error {
	p, pg, size, err := page(c)
	if err != nil {
		return err
	}
	claims, _ := claimsOf(c)
	parent := c.DefaultQuery("parent_id", claims.Org)
	kids, err := b.d.Identity.Children(c.Request.Context(), actorOf(claims), parent, p)
	if err != nil {
		return err
	}
	out := make([]orgJSON, 0, len(kids))
	for _, o := range kids {
		out = append(out, toOrgJSON(o, ""))
	}
	c.JSON(http.StatusOK, gin.H{"organisations": out, "page": pg, "size": size})
	return nil
}

func (b *backoffice) getOrganisation(c *gin.Context) error {
	claims, _ := claimsOf(c)
	o, g, err := b.d.Identity.Organisation(c.Request.Context(), actorOf(claims), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toOrgJSON(o, g.Role))
	return nil
}

type membershipJSON struct {
	OrganisationID string `json:"organisation_id"`
	Role           string `json:"role"`
}

type createUserRequest struct {
	Email       string           `json:"email"`
	Password    string           `json:"password"`
	FirstName   string           `json:"first_name"`
	LastName    string           `json:"last_name"`
	Memberships []membershipJSON `json:"memberships"`
}

func (b *backoffice) createUser(c *gin.Context) error {
	var req createUserRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	claims, _ := claimsOf(c)
	in := identity.NewUser{Email: req.Email, Password: req.Password, FirstName: req.FirstName, LastName: req.LastName}
	for _, m := range req.Memberships {
		in.Memberships = append(in.Memberships, identity.Membership{OrganisationID: m.OrganisationID, Role: strings.ToLower(m.Role)})
	}
	u, err := b.d.Identity.CreateUser(c.Request.Context(), actorOf(claims), in)
	if err != nil {
		return err
	}
	resp := struct {
		userJSON
		Memberships []membershipJSON `json:"memberships"`
	}{userJSON: toUserJSON(u), Memberships: []membershipJSON{}}
	for _, m := range in.Memberships {
		resp.Memberships = append(resp.Memberships, membershipJSON{OrganisationID: m.OrganisationID, Role: m.Role})
	}
	c.JSON(http.StatusCreated, resp)
	return nil
}

func (b *backoffice) listUsers(c *gin.Context) error {
	p, pg, size, err := page(c)
	if err != nil {
		return err
	}
	claims, _ := claimsOf(c)
	ctx := c.Request.Context()
	org := c.DefaultQuery("organisation_id", claims.Org)
	members, err := b.d.Identity.MemberUsers(ctx, actorOf(claims), org, p)
	if err != nil {
		return err
	}
	type memberJSON struct {
		userJSON
		Role string `json:"role"`
	}
	out := make([]memberJSON, 0, len(members))
	for _, m := range members {
		out = append(out, memberJSON{userJSON: toUserJSON(m.User), Role: m.Role})
	}
	c.JSON(http.StatusOK, gin.H{"users": out, "organisation_id": org, "page": pg, "size": size})
	return nil
}

func (b *backoffice) disableUser(c *gin.Context) error {
	claims, _ := claimsOf(c)
	ctx := c.Request.Context()
	// A user with a membership outside the token's organisation answers
	// as any user outside the caller's reach (403 FORBIDDEN).
	err := b.d.Identity.DisableUser(ctx, actorOf(claims), c.Param("id"))
	if err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type auditJSON struct {
	ID             string            `json:"id"`
	At             string            `json:"at"`
	Action         string            `json:"action"`
	Success        bool              `json:"success"`
	ActorKind      string            `json:"actor_kind,omitempty"`
	ActorID        string            `json:"actor_id,omitempty"`
	OrganisationID string            `json:"organisation_id,omitempty"`
	TargetKind     string            `json:"target_kind,omitempty"`
	TargetID       string            `json:"target_id,omitempty"`
	IP             string            `json:"ip,omitempty"`
	UserAgent      string            `json:"user_agent,omitempty"`
	RequestID      string            `json:"request_id,omitempty"`
	Details        map[string]string `json:"details,omitempty"`
}

func (b *backoffice) auditEvents(c *gin.Context) error {
	p, pg, size, err := page(c)
	if err != nil {
		return err
	}
	claims, _ := claimsOf(c)
	ctx := c.Request.Context()
	evs, err := b.d.Identity.AuditEvents(ctx, actorOf(claims), c.Query("action"), p)
	if err != nil {
		return err
	}
	out := make([]auditJSON, 0, len(evs))
	for _, e := range evs {
		out = append(out, auditJSON{ID: e.ID, At: e.At.UTC().Format(time.RFC3339), Action: e.Action, Success: e.Success,
			ActorKind: e.ActorKind, ActorID: e.ActorID, OrganisationID: e.OrganisationID, TargetKind: e.TargetKind,
			TargetID: e.TargetID, IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID, Details: e.Details})
	}
	c.JSON(http.StatusOK, gin.H{"events": out, "page": pg, "size": size})
	return nil
}

func (b *backoffice) addMembership(c *gin.Context) error {
	var req membershipJSON
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.OrganisationID == "" {
		return apierror.Invalid("organisation_id", "The organisation_id is required.")
	}
	claims, _ := claimsOf(c)
	m := identity.Membership{UserID: c.Param("id"), OrganisationID: req.OrganisationID, Role: strings.ToLower(req.Role)}
	if err := b.d.Identity.AddMembership(c.Request.Context(), actorOf(claims), m); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, membershipJSON{OrganisationID: m.OrganisationID, Role: m.Role})
	return nil
}

func (b *backoffice) removeMembership(c *gin.Context) error {
	claims, _ := claimsOf(c)
	if err := b.d.Identity.RemoveMembership(c.Request.Context(), actorOf(claims), c.Param("id"), c.Param("organisation_id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
