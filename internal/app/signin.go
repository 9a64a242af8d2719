package app

import (
	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/signin"
)

// wireSignIn builds the identity rules, the refresh-token service and the
// sign-in core they share.
func (a *App) wireSignIn() error {
	cfg := a.Config
	a.Audit = audit.New(a.Store, a.Logger)
	a.Identity = identity.New(a.Store, a.Cache, a.Hasher, a.Audit, identity.Config{
		PasswordMinLength:      cfg.Passwords.MinLength,
		AccountAttemptsPerHour: cfg.RateLimits.PasswordPerAccountPerHour,
		IPAttemptsPerMinute:    cfg.RateLimits.PasswordPerIPPerMinute,
	}, a.Logger)
	key, err := secretbox.DeriveKey(cfg.Secrets.System, "refresh-tokens", 32)
	if err != nil {
		return err
	}
	a.Refresh = refresh.New(a.Store, key, refresh.Config{
		AbsoluteTTL: cfg.Tokens.RefreshTokenTTL,
		IdleTTL:     cfg.Tokens.RefreshIdleTTL,
		ReuseGrace:  cfg.Tokens.RefreshReuseGrace,
	}, a.Audit, nil)
	a.SignIn = signin.New(a.Tokens, a.Refresh, a.Identity, a.Store, a.Audit, signin.Config{
		AccessTokenTTL: cfg.Tokens.AccessTokenTTL,
	})
	return nil
}
