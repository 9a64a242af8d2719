package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/signup"
)

// SignUpDeps are the services of the organisation sign-up endpoints (the
// back-office ones sign the new owner in).
type SignUpDeps struct {
	Service *signup.Service
}

// mountSignUp serves organisation sign-up: a back-office public key
// holding organisations:register, never a bearer token.
func (a *api) mountSignUp(g *gin.RouterGroup) {
	h := &signUp{backoffice: &backoffice{api: a, d: a.Backoffice}, svc: a.SignUp.Service}
	key := requireKey(a.APIKeys, "public", apikey.ScopeOrganisationsRegister)
	g.POST("/organisations/register", key, wrap(h.register))
	g.POST("/organisations/register/:otp_id", key, wrap(h.complete))
}

type signUp struct {
	*backoffice
	svc *signup.Service
}

type signUpOrganisationJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type signUpOwnerJSON struct {
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Password  string `json:"password"`
}

type signUpRequest struct {
	Organisation *signUpOrganisationJSON `json:"organisation"`
	Owner        *signUpOwnerJSON        `json:"owner"`
}

// signUpKey is the verified API key of the request, as signup sees it.
func signUpKey(c *gin.Context) signup.Key {
	k, _ := keyOf(c)
	return signup.Key{ID: k.ID, OrganisationID: k.OrganisationID, Type: k.Type, Mode: k.Mode, IP: c.ClientIP()}
}

func (h *signUp) register(c *gin.Context) error {
	var req signUpRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Organisation == nil {
		return apierror.Invalid("organisation", "The organisation is required.")
	}
	if req.Owner == nil {
		return apierror.Invalid("owner", "The owner is required.")
	}
	issued, err := h.svc.Register(c.Request.Context(), signUpKey(c), signup.Request{
		Organisation: identity.NewOrganisation{Name: req.Organisation.Name, Type: req.Organisation.Type},
		Owner: identity.NewUser{Email: req.Owner.Email, Password: req.Owner.Password,
			FirstName: req.Owner.FirstName, LastName: req.Owner.LastName},
	})
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusAccepted, gin.H{"otp_id": issued.ID})
	return nil
}

func (h *signUp) complete(c *gin.Context) error {
	var req validateRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Code == "" {
		return apierror.Invalid("code", "The code is required.")
	}
	res, err := h.d.SignIn.OrganisationSignUp(c.Request.Context(), h.d.signinClient(), signUpKey(c), c.Param("otp_id"), req.Code)
	if err != nil {
		return err
	}
	return h.respondAuth(c, http.StatusOK, res.Principal, res.Tokens)
}
