package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/token"
)

// Self-service API-key scopes (apikey's catalogue).
const (
	ScopeRegister     = apikey.ScopeContactsRegister
	ScopeOTP          = apikey.ScopeOTPSend
	ScopeAuthenticate = apikey.ScopeContactsAuthenticate
)

func (a *api) mountSelfService(g *gin.RouterGroup) {
	h := &contacts{api: a, d: a.Contacts}
	g.POST("/contacts/register", requireKey(a.APIKeys, "", ScopeRegister), wrap(h.register))
	g.POST("/otps", requireKey(a.APIKeys, "", ScopeOTP), wrap(h.requestOTP))
	g.POST("/otps/:otp_id/validate", requireKey(a.APIKeys, "", ScopeOTP), wrap(h.validateOTP))
	g.POST("/contacts/authenticate", requireKey(a.APIKeys, "", ScopeAuthenticate), wrap(h.authenticate))
	g.POST("/contacts/refresh", optionalKey(a.APIKeys, ScopeAuthenticate), wrap(h.refresh))
	g.POST("/contacts/credentials", requireKey(a.APIKeys, "", ScopeRegister), wrap(h.addCredentials))
	g.POST("/contacts/password/reset", requireKey(a.APIKeys, "", ScopeAuthenticate), wrap(h.requestReset))
	g.POST("/contacts/password/reset/:otp_id", requireKey(a.APIKeys, "", ScopeAuthenticate), wrap(h.reset))
	contact := requireBearer(a.Tokens, token.KindContact)
	g.GET("/contacts/me", contact, wrap(h.me))
	g.PATCH("/contacts/me", contact, wrap(h.updateMe))
	g.DELETE("/contacts/me", contact, wrap(h.eraseMe))
	g.PUT("/contacts/me/password", contact, wrap(h.changePassword))
	g.POST("/contacts/logout", contact, wrap(h.logout))
	g.POST("/contacts/me/identities", contact, wrap(h.linkIdentity))
}

// tenant is the business and mode a self-service call acts for: the API
// key's, where a key of an organisation below a business (a merchant)
// acts for that business, which owns the contacts.
func (h *contacts) tenant(c *gin.Context) (selfservice.Tenant, error) {
	k, _ := keyOf(c)
	biz, err := h.d.Identity.BusinessOf(c.Request.Context(), k.OrganisationID)
	if err != nil {
		return selfservice.Tenant{}, err
	}
	return selfservice.Tenant{BusinessID: biz, Mode: k.Mode, APIKeyID: k.ID, IP: c.ClientIP()}, nil
}

type identityJSON struct {
	Provider    string `json:"provider"`
	Email       string `json:"email"`
	PhoneNumber string `json:"phone_number"`
	CountryCode string `json:"country_code"`
	Password    string `json:"password"`
}

func (i identityJSON) input() selfservice.IdentityInput {
	return selfservice.IdentityInput{Provider: strings.ToUpper(strings.TrimSpace(i.Provider)), Email: i.Email,
		PhoneNumber: i.PhoneNumber, CountryCode: i.CountryCode, Password: i.Password}
}

type registerRequest struct {
	contactInputJSON
	Identity *identityJSON `json:"identity"`
}

type otpJSON struct {
	OTPID     string `json:"otp_id"`
	ExpiresAt string `json:"expires_at"`
}

func (h *contacts) register(c *gin.Context) error {
	var req registerRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Identity == nil {
		return apierror.Invalid("identity", "The identity is required.")
	}
	// The id and the cross-reference code belong to the CRM's systems
	// (POST /backoffice/v1/contacts): a self-registration choosing them
	// could probe which are taken, and a clash would surface only after
	// the one-time code was spent.
	if req.ID != "" {
		return apierror.Invalid("id", "Self-registration cannot choose the contact id.")
	}
	if req.Code != "" {
		return apierror.Invalid("code", "Self-registration cannot choose the cross-reference code.")
	}
	ctx := c.Request.Context()
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	res, err := h.d.SelfService.Register(ctx, t, req.input(), req.Identity.input())
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"contact": toContactJSON(res.Contact),
		"otp": otpJSON{OTPID: res.OTP.ID, ExpiresAt: res.OTP.ExpiresAt.UTC().Format(time.RFC3339)}})
	return nil
}

type otpRequest struct {
	Channel     string `json:"channel"`
	Email       string `json:"email"`
	PhoneNumber string `json:"phone_number"`
	CountryCode string `json:"country_code"`
}

func (h *contacts) requestOTP(c *gin.Context) error {
	var req otpRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in := selfservice.IdentityInput{Email: req.Email, PhoneNumber: req.PhoneNumber, CountryCode: req.CountryCode}
	switch strings.ToUpper(req.Channel) {
	case "SMS":
		in.Provider = identity.ProviderPhone
	case "EMAIL":
		in.Provider = identity.ProviderEmail
	default:
		return apierror.Invalid("channel", "The channel must be SMS or EMAIL.")
	}
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	issued, err := h.d.SelfService.RequestOTP(c.Request.Context(), t, in)
	if err != nil {
		var ve *identity.ValidationError
		if errors.As(err, &ve) {
			ve.Field = strings.TrimPrefix(ve.Field, "identity.")
		}
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, otpJSON{OTPID: issued.ID, ExpiresAt: issued.ExpiresAt.UTC().Format(time.RFC3339)})
	return nil
}

type validateRequest struct {
	Code string `json:"code"`
}

func (h *contacts) validateOTP(c *gin.Context) error {
	var req validateRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Code == "" {
		return apierror.Invalid("code", "The code is required.")
	}
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	res, err := h.d.SignIn.OTP(ctx, h.d.signinClient(), &t, c.Param("otp_id"), req.Code)
	if err != nil {
		return err
	}
	return h.respondAuth(c, http.StatusOK, *res.Contact, res.Tokens)
}

type contactAuthenticateRequest struct {
	Provider string `json:"provider"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Token    string `json:"token"`
	// TokenType is access_token (Graph) or id_token (Limited Login);
	// guessed from the token when absent.
	TokenType string `json:"token_type"`
	Nonce     string `json:"nonce"`
}

func (h *contacts) authenticate(c *gin.Context) error {
	var req contactAuthenticateRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	var res signin.Result
	switch strings.ToUpper(req.Provider) {
	case identity.ProviderEmail:
		if req.Email == "" {
			return apierror.Invalid("email", "The email is required.")
		}
		if req.Password == "" {
			return apierror.Invalid("password", "The password is required.")
		}
		res, err = h.d.SignIn.ContactPassword(ctx, h.d.signinClient(), nil, t, req.Email, req.Password)
	case identity.ProviderFacebook:
		if req.Token == "" {
			return apierror.Invalid("token", "The Facebook token is required.")
		}
		kind := req.TokenType
		if kind == "" {
			kind = selfservice.FacebookTokenType(req.Token)
		}
		res, err = h.d.SignIn.Facebook(ctx, h.d.signinClient(), t, req.Token, kind, req.Nonce)
	default:
		return apierror.Invalid("provider", "The provider must be EMAIL or FACEBOOK.")
	}
	if err != nil {
		return err
	}
	return h.respondAuth(c, http.StatusOK, *res.Contact, res.Tokens)
}

// refresh needs only the refresh token, which names its business and
// mode; an api_key, when sent, must be of that business and mode.
func (h *contacts) refresh(c *gin.Context) error {
	var req refreshRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return apierror.Invalid("refresh_token", "The refresh_token is required.")
	}
	ctx := c.Request.Context()
	accept := signin.SubjectKind(identity.KindContact)
	if _, ok := keyOf(c); ok {
		t, err := h.tenant(c)
		if err != nil {
			return err
		}
		// The key's tenant must be the token's, checked on the record
		// before anything happens to it, so a foreign key cannot rotate or
		// burn it.
		accept = signin.ContactOf(t.BusinessID, t.Mode)
		if err := h.d.SignIn.CheckRefreshTenant(ctx, req.RefreshToken, accept); err != nil {
			return err
		}
	}
	p, toks, err := h.d.SignIn.Refresh(ctx, req.RefreshToken, h.d.ClientID, accept)
	if err != nil {
		return err
	}
	ct, err := h.d.Identity.Contact(ctx, p.Org, p.Mode, p.ID)
	if err != nil {
		return err
	}
	return h.respondAuth(c, http.StatusOK, ct, toks)
}

// updateMe changes the signed-in contact's profile.
func (h *contacts) updateMe(c *gin.Context) error {
	var req contactPatchJSON
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	p, err := req.patch(false)
	if err != nil {
		return err
	}
	claims, _ := claimsOf(c)
	ct, err := h.d.Identity.UpdateContact(c.Request.Context(), claims.Org, identity.Mode(claims.Mode), claims.Subject, p, identity.KindContact, claims.Subject)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toContactJSON(ct))
	return nil
}

type eraseRequest struct {
	Password string `json:"password"`
	OTPID    string `json:"otp_id"`
	Code     string `json:"code"`
}

// eraseMe erases the signed-in contact, confirmed by its password or a
// fresh one-time code.
func (h *contacts) eraseMe(c *gin.Context) error {
	var req eraseRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	claims, _ := claimsOf(c)
	ctx := c.Request.Context()
	ct, err := h.d.Identity.Contact(ctx, claims.Org, identity.Mode(claims.Mode), claims.Subject)
	if err != nil {
		return err
	}
	if err := h.d.SelfService.Prove(ctx, ct, selfservice.Proof{Password: req.Password, OTPID: req.OTPID, Code: req.Code}); err != nil {
		return err
	}
	if err := h.d.Identity.EraseContact(ctx, ct.BusinessID, ct.Mode, ct.ID, identity.KindContact, ct.ID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	Password        string `json:"password"`
}

// bindChangePassword reads a password change (contacts' and users').
func bindChangePassword(c *gin.Context) (changePasswordRequest, error) {
	var req changePasswordRequest
	if err := bindJSON(c, &req); err != nil {
		return req, err
	}
	if req.CurrentPassword == "" {
		return req, apierror.Invalid("current_password", "The current_password is required.")
	}
	if req.Password == "" {
		return req, apierror.Invalid("password", "The password is required.")
	}
	return req, nil
}

// changePassword replaces the signed-in contact's password; its other
// sessions end.
func (h *contacts) changePassword(c *gin.Context) error {
	req, err := bindChangePassword(c)
	if err != nil {
		return err
	}
	claims, _ := claimsOf(c)
	if err := h.d.SignIn.ChangeContactPassword(c.Request.Context(), claims, req.CurrentPassword, req.Password); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type resetRequest struct {
	Email string `json:"email"`
}

// bindResetRequest reads the email of a password reset request.
func bindResetRequest(c *gin.Context) (string, error) {
	var req resetRequest
	if err := bindJSON(c, &req); err != nil {
		return "", err
	}
	if req.Email == "" {
		return "", apierror.Invalid("email", "The email is required.")
	}
	return req.Email, nil
}

// answerResetRequest answers a password reset request: 202 with the id
// of the code (sent, or pretended to be).
func answerResetRequest(c *gin.Context, otpID string, expires time.Time) error {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusAccepted, otpJSON{OTPID: otpID, ExpiresAt: expires.UTC().Format(time.RFC3339)})
	return nil
}

// requestReset sends a password reset code; the answer is the same for
// unknown emails.
func (h *contacts) requestReset(c *gin.Context) error {
	email, err := bindResetRequest(c)
	if err != nil {
		return err
	}
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	issued, err := h.d.SelfService.RequestPasswordReset(c.Request.Context(), t, email)
	if err != nil {
		return err
	}
	return answerResetRequest(c, issued.ID, issued.ExpiresAt)
}

type resetCompleteRequest struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

// bindResetComplete reads the code and new password of a reset.
func bindResetComplete(c *gin.Context) (resetCompleteRequest, error) {
	var req resetCompleteRequest
	if err := bindJSON(c, &req); err != nil {
		return req, err
	}
	if req.Code == "" {
		return req, apierror.Invalid("code", "The code is required.")
	}
	if req.Password == "" {
		return req, apierror.Invalid("password", "The password is required.")
	}
	return req, nil
}

// reset sets a new password with the code sent to the email and signs the
// contact in; every other session ends.
func (h *contacts) reset(c *gin.Context) error {
	req, err := bindResetComplete(c)
	if err != nil {
		return err
	}
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	res, err := h.d.SignIn.ContactPasswordReset(c.Request.Context(), h.d.signinClient(), &t, c.Param("otp_id"), req.Code, req.Password)
	if err != nil {
		return err
	}
	return h.respondAuth(c, http.StatusOK, *res.Contact, res.Tokens)
}

func (h *contacts) me(c *gin.Context) error {
	claims, _ := claimsOf(c)
	ct, err := h.d.Identity.Contact(c.Request.Context(), claims.Org, identity.Mode(claims.Mode), claims.Subject)
	if err != nil {
		return err
	}
	orgs, err := h.contactOrganisations(c, ct)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"contact": toContactJSON(ct), "organisations": orgs})
	return nil
}

func (h *contacts) logout(c *gin.Context) error {
	var req refreshRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return apierror.Invalid("refresh_token", "The refresh_token is required.")
	}
	claims, _ := claimsOf(c)
	if err := h.d.SignIn.Logout(c.Request.Context(), claims, req.RefreshToken); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type credentialsRequest struct {
	Match struct {
		Email       string `json:"email"`
		PhoneNumber string `json:"phone_number"`
		CountryCode string `json:"country_code"`
	} `json:"match"`
	Identity *identityJSON `json:"identity"`
}

func (h *contacts) addCredentials(c *gin.Context) error {
	var req credentialsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Identity == nil {
		return apierror.Invalid("identity", "The identity is required.")
	}
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	issued, err := h.d.SelfService.AddCredentials(c.Request.Context(), t,
		selfservice.Match{Email: req.Match.Email, PhoneNumber: req.Match.PhoneNumber, CountryCode: req.Match.CountryCode}, req.Identity.input())
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusAccepted, otpJSON{OTPID: issued.ID, ExpiresAt: issued.ExpiresAt.UTC().Format(time.RFC3339)})
	return nil
}

type linkRequest struct {
	Provider  string `json:"provider"`
	Token     string `json:"token"`
	TokenType string `json:"token_type"`
	Nonce     string `json:"nonce"`
}

// linkIdentity attaches a Facebook account to the signed-in contact: the
// only way an existing contact gains Facebook sign-in (a Facebook email
// never merges into a contact by itself).
func (h *contacts) linkIdentity(c *gin.Context) error {
	var req linkRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if strings.ToUpper(req.Provider) != identity.ProviderFacebook {
		return apierror.Invalid("provider", "Only FACEBOOK identities can be linked here.")
	}
	if req.Token == "" {
		return apierror.Invalid("token", "The Facebook token is required.")
	}
	claims, _ := claimsOf(c)
	ctx := c.Request.Context()
	ct, err := h.d.Identity.Contact(ctx, claims.Org, identity.Mode(claims.Mode), claims.Subject)
	if err != nil {
		return err
	}
	kind := req.TokenType
	if kind == "" {
		kind = selfservice.FacebookTokenType(req.Token)
	}
	subject, err := h.d.SelfService.LinkFacebook(ctx, ct, req.Token, kind, req.Nonce)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"provider": identity.ProviderFacebook, "subject": subject})
	return nil
}
