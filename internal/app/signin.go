package app

import (
	"context"
	"errors"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
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
		QueryTimeout:           cfg.Database.QueryTimeout,
		StaleIfError:           staleOrOff(cfg.Database.StaleIfError),
		Now:                    a.now,
	}, a.Logger)
	key, err := secretbox.DeriveKey(cfg.Secrets.System, "refresh-tokens", 32)
	if err != nil {
		return err
	}
	a.Refresh = refresh.New(a.Store, key, refresh.Config{
		AbsoluteTTL: cfg.Tokens.RefreshTokenTTL,
		IdleTTL:     cfg.Tokens.RefreshIdleTTL,
		ReuseGrace:  cfg.Tokens.RefreshReuseGrace,
	}, a.Audit, a.now)
	a.Refresh.OnFamilyRevoked(func(ctx context.Context, familyID string) error {
		// As long as the longest-lived access token of any client.
		return a.Tokens.RevokeFamily(ctx, familyID, cfg.Tokens.MaxAccessTokenTTL)
	})
	// Disabling a user ends its refresh families and, through the
	// revocation log, its access tokens on every replica and verifier.
	a.Identity.OnUserDisabled(a.Refresh.RevokeSubjectFunc(store.KindUser))
	a.Refresh.OnSubjectRevoked(func(ctx context.Context, kind, id string) error {
		if kind != store.KindUser {
			return nil // contacts are revoked with their business and mode (store.ContactKey)
		}
		return a.Tokens.RevokeSubject(ctx, store.RevokeUser, id, cfg.Tokens.MaxAccessTokenTTL)
	})
	// A user's tokens revoked on any replica: drop the cached rights here.
	a.Revocations.OnApply(func(r store.Revocation) {
		if r.Kind == store.RevokeUser {
			a.Identity.Forget(r.Key)
		}
	})
	a.SignIn = signin.New(a.Tokens, a.Refresh, a.Identity, a.Audit, signin.Config{
		AccessTokenTTL:    cfg.Tokens.AccessTokenTTL,
		MaxAccessTokenTTL: cfg.Tokens.MaxAccessTokenTTL,
		Audience:          cfg.Tokens.DefaultAudience,
		Clients:           &a.policies,
	})
	// Erasing a contact first ends its sessions and, through the
	// revocation log, every access token it holds, on every replica.
	a.Identity.OnContactErased(func(ctx context.Context, businessID string, mode store.Mode, id string) error {
		if err := a.SignIn.EndContactSessions(ctx, businessID, mode, id); err != nil {
			return err
		}
		return a.Tokens.RevokeSubject(ctx, store.RevokeContact, store.ContactKey(businessID, mode, id), cfg.Tokens.MaxAccessTokenTTL)
	})
	// Every verification of a user's access token (bearer endpoints,
	// introspection, forward-auth, token exchange) re-checks the user from
	// the authorization cache: disabling a user or removing a membership
	// stops their access tokens at once, not at exp.
	a.Tokens.SetSubjectCheck(func(ctx context.Context, c token.Claims) error {
		if c.Kind != token.KindUser {
			return nil
		}
		_, err := a.Identity.ActiveRoleIn(ctx, c.Subject, c.Org)
		if errors.Is(err, identity.ErrForbidden) || errors.Is(err, identity.ErrInvalidCredentials) {
			return token.ErrSubjectGone
		}
		return err
	})
	return nil
}
