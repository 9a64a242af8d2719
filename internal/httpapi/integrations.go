package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/integrations"
	"github.com/authd/authd/internal/token"
)

// IntegrationService configures the businesses' own integrations
// (integrations.Service).
type IntegrationService interface {
	Get(ctx context.Context, c integrations.Caller) (integrations.View, error)
	Put(ctx context.Context, c integrations.Caller, in integrations.Input) (integrations.View, bool, error)
	Delete(ctx context.Context, c integrations.Caller) error
	SendTest(ctx context.Context, c integrations.Caller, m integrations.TestMessage) (integrations.TestResult, error)
}

// IntegrationDeps are the services of /backoffice/v1/integrations.
type IntegrationDeps struct {
	Service IntegrationService
}

// mountIntegrations serves /backoffice/v1/integrations/otp: a user token
// (the service decides the role) or a secret key holding
// integrations:manage; the mode is the token's or key's.
func (a *api) mountIntegrations(bo *gin.RouterGroup) {
	auth := requireBearerOrSecretKey(a.Tokens, a.APIKeys, apikey.ScopeIntegrationsManage, token.KindUser)
	bo.GET("/integrations/otp", auth, wrap(a.getOTPIntegration))
	bo.PUT("/integrations/otp", auth, wrap(a.putOTPIntegration))
	bo.DELETE("/integrations/otp", auth, wrap(a.deleteOTPIntegration))
	bo.POST("/integrations/otp/test", auth, wrap(a.testOTPIntegration))
}

func integrationCaller(c *gin.Context) integrations.Caller {
	if k, ok := keyOf(c); ok {
		return integrations.Caller{KeyID: k.ID, Org: k.OrganisationID, Mode: k.Mode}
	}
	claims, _ := claimsOf(c)
	return integrations.Caller{UserID: claims.Subject, Org: claims.Org, Mode: identity.Mode(claims.Mode)}
}

type otpIntegrationRequest struct {
	Sender        string                       `json:"sender"`
	WebhookURL    string                       `json:"webhook_url"`
	WebhookSecret *string                      `json:"webhook_secret"`
	SMTP          *smtpIntegrationRequest      `json:"smtp"`
	Twilio        *twilioIntegrationRequest    `json:"twilio"`
	Templates     map[string]map[string]string `json:"templates"`
}

type smtpIntegrationRequest struct {
	Host     string  `json:"host"`
	Port     int     `json:"port"`
	Username string  `json:"username"`
	Password *string `json:"password"`
	From     string  `json:"from"`
	TLS      string  `json:"tls"`
}

type twilioIntegrationRequest struct {
	AccountSID          string  `json:"account_sid"`
	AuthToken           *string `json:"auth_token"`
	From                string  `json:"from"`
	MessagingServiceSID string  `json:"messaging_service_sid"`
}

// secretJSON shows a secret: only whether it is set.
type secretJSON struct {
	Set bool `json:"set"`
}

type otpIntegrationJSON struct {
	OrganisationID string                       `json:"organisation_id"`
	Mode           string                       `json:"mode"`
	Sender         string                       `json:"sender"`
	WebhookURL     string                       `json:"webhook_url,omitempty"`
	WebhookSecret  *secretJSON                  `json:"webhook_secret,omitempty"`
	SMTP           *smtpIntegrationJSON         `json:"smtp,omitempty"`
	Twilio         *twilioIntegrationJSON       `json:"twilio,omitempty"`
	Templates      map[string]map[string]string `json:"templates"`
	Version        int64                        `json:"version"`
	CreatedAt      time.Time                    `json:"created_at"`
	UpdatedAt      time.Time                    `json:"updated_at"`
}

type smtpIntegrationJSON struct {
	Host     string     `json:"host"`
	Port     int        `json:"port"`
	Username string     `json:"username"`
	Password secretJSON `json:"password"`
	From     string     `json:"from"`
	TLS      string     `json:"tls"`
}

type twilioIntegrationJSON struct {
	AccountSID          string     `json:"account_sid"`
	AuthToken           secretJSON `json:"auth_token"`
	From                string     `json:"from"`
	MessagingServiceSID string     `json:"messaging_service_sid"`
}

func toOTPIntegrationJSON(v integrations.View) otpIntegrationJSON {
	out := otpIntegrationJSON{OrganisationID: v.OrganisationID, Mode: string(v.Mode), Sender: v.Sender,
		WebhookURL: v.WebhookURL, Templates: v.Templates, Version: v.Version, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
	if v.Sender == integrations.SenderWebhook {
		out.WebhookSecret = &secretJSON{Set: v.WebhookSecretSet}
	}
	if s := v.SMTP; s != nil {
		out.SMTP = &smtpIntegrationJSON{Host: s.Host, Port: s.Port, Username: s.Username, Password: secretJSON{Set: s.PasswordSet},
			From: s.From, TLS: s.TLS}
	}
	if t := v.Twilio; t != nil {
		out.Twilio = &twilioIntegrationJSON{AccountSID: t.AccountSID, AuthToken: secretJSON{Set: t.AuthTokenSet},
			From: t.From, MessagingServiceSID: t.MessagingServiceSID}
	}
	return out
}

func (a *api) getOTPIntegration(c *gin.Context) error {
	v, err := a.Integrations.Service.Get(c.Request.Context(), integrationCaller(c))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, toOTPIntegrationJSON(v))
	return nil
}

func (a *api) putOTPIntegration(c *gin.Context) error {
	var req otpIntegrationRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in := integrations.Input{Sender: req.Sender, WebhookURL: req.WebhookURL, WebhookSecret: req.WebhookSecret, Templates: req.Templates}
	if s := req.SMTP; s != nil {
		in.SMTP = &integrations.SMTPInput{Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password, From: s.From, TLS: s.TLS}
	}
	if t := req.Twilio; t != nil {
		in.Twilio = &integrations.TwilioInput{AccountSID: t.AccountSID, AuthToken: t.AuthToken, From: t.From, MessagingServiceSID: t.MessagingServiceSID}
	}
	v, created, err := a.Integrations.Service.Put(c.Request.Context(), integrationCaller(c), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, toOTPIntegrationJSON(v))
	return nil
}

func (a *api) deleteOTPIntegration(c *gin.Context) error {
	if err := a.Integrations.Service.Delete(c.Request.Context(), integrationCaller(c)); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type otpTestRequest struct {
	Channel string `json:"channel"`
	To      string `json:"to"`
}

func (a *api) testOTPIntegration(c *gin.Context) error {
	var req otpTestRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	res, err := a.Integrations.Service.SendTest(c.Request.Context(), integrationCaller(c), integrations.TestMessage{Channel: req.Channel, To: req.To})
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusAccepted, gin.H{"id": res.ID, "channel": res.Channel, "status": "accepted"})
	return nil
}
