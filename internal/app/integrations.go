package app

import (
	"github.com/authd/authd/internal/integrations"
)

// wireIntegrations builds the businesses' own integrations and makes the
// OTP service send through a business's own delivery when it has one. It
// needs the store, cache, identity, audit recorder and OTP service.
func (a *App) wireIntegrations() error {
	cfg := a.Config
	svc, err := integrations.New(integrations.Options{
		Store:                a.Store,
		Cache:                a.Cache,
		Authorizer:           a.Identity,
		Audit:                a.Audit,
		SystemSecret:         cfg.Secrets.System,
		Logger:               a.Logger,
		Now:                  a.now,
		TwilioBaseURL:        cfg.OTP.Twilio.BaseURL,
		SendTimeout:          cfg.OTP.SendTimeout,
		AllowPrivateNetworks: cfg.OTP.Integrations.AllowPrivateNetworks,
		CacheTTL:             cfg.OTP.Integrations.CacheTTL,
		QueryTimeout:         cfg.Database.QueryTimeout,
		StaleIfError:         staleOrOff(cfg.Database.StaleIfError),
		TestsPerHour:         cfg.OTP.Integrations.TestsPerHour,
	})
	if err != nil {
		return err
	}
	if cfg.OTP.Integrations.AllowPrivateNetworks {
		a.Logger.Warn("otp.integrations.allow_private_networks is on: businesses' webhooks and SMTP relays may reach loopback and private addresses (tests and closed networks only)")
	}
	a.Integrations = svc
	a.OTP.UseDeliveries(svc)
	return nil
}
