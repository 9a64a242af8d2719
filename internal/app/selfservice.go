package app

import (
	"net/http"
	"time"

	"github.com/authd/authd/internal/otp"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/upstream/facebook"
)

// wireSelfService builds the OTP service with its configured sender, the
// self-service flows and, when a Facebook app is configured, Facebook
// sign-in.
func (a *App) wireSelfService() error {
	cfg := a.Config
	secret, err := sender.WebhookSecret(cfg.OTP.WebhookSecret, cfg.Secrets.System)
	if err != nil {
		return err
	}
	httpClient := &http.Client{Timeout: cfg.OTP.SendTimeout + time.Second}
	snd, err := sender.New(cfg.OTP, secret, a.Logger, httpClient)
	if err != nil {
		return err
	}
	if cfg.OTP.Sender == "log" && !cfg.Dev {
		// The log sender writes codes to the log: development only.
		a.Logger.Warn("otp.sender is log, which is for serve --dev only: one-time codes are not sent and every OTP request answers 502 OTP_DELIVERY_FAILED; set AUTHD_OTP_SENDER (webhook, smtp or twilio)")
		snd = sender.Unconfigured{}
	}
	if a.OTPSender != nil {
		snd = a.OTPSender // tests plug in a fake
	}
	a.OTP, err = otp.New(a.Cache, snd, cfg.Secrets.System, otp.ConfigFrom(cfg.OTP), a.Logger, a.now)
	if err != nil {
		return err
	}
	a.SelfService = selfservice.New(a.Identity, a.OTP, a.Logger)
	a.SignIn.UseContacts(a.SelfService)
	a.SignIn.UseCodes(a.OTP)
	if cfg.Facebook.AppID != "" {
		fb, err := facebook.New(facebook.Config{
			AppID: cfg.Facebook.AppID, AppSecret: cfg.Facebook.AppSecret,
			GraphURL: cfg.Facebook.GraphURL, GraphVersion: cfg.Facebook.GraphVersion,
			LimitedLoginJWKSURL: cfg.Facebook.LimitedLoginJWKSURL, LimitedLoginIssuer: cfg.Facebook.LimitedLoginIssuer,
			Timeout: cfg.Facebook.Timeout, CacheTTL: cfg.Facebook.CacheTTL,
		}, a.Cache, &http.Client{Timeout: cfg.Facebook.Timeout + time.Second}, a.now, a.Logger)
		if err != nil {
			return err
		}
		a.SelfService.EnableFacebook(fb, cfg.Facebook.AutoRegister)
	}
	return nil
}
