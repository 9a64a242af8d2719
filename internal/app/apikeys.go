package app

import (
	"context"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/forwardauth"
)

// wireAPIKeys builds the API-key verifier (subscribed to invalidations when
// it returns), the key-management service and the forward-auth decider.
// It needs the store, cache, audit recorder and token service.
func (a *App) wireAPIKeys(ctx context.Context) error {
	cfg := a.Config
	v, err := apikey.NewVerifier(ctx, apikey.VerifierOptions{
		Store:         a.Store,
		Cache:         a.Cache,
		SharedCache:   cfg.Redis.URL != "", // another replica's miss is then answered by Redis
		Audit:         a.Audit,
		Logger:        a.Logger,
		CacheSize:     cfg.APIKeys.CacheSize,
		CacheTTL:      cfg.APIKeys.CacheTTL,
		LastUsedFlush: cfg.APIKeys.LastUsedFlush,
	})
	if err != nil {
		return err
	}
	a.KeyVerifier = v
	a.KeyService = apikey.NewService(apikey.ServiceOptions{
		Store: a.Store, Cache: a.Cache, Box: a.APIKeys, Audit: a.Audit, Local: v, Logger: a.Logger,
	})
	a.ForwardAuth = forwardauth.New(a.Tokens, v, ForwardAuthRules(cfg))
	return nil
}

// ForwardAuthRules maps the configured forward-auth rules.
func ForwardAuthRules(cfg *config.Config) []forwardauth.Rule {
	rules := make([]forwardauth.Rule, len(cfg.ForwardAuth.Rules))
	for i, r := range cfg.ForwardAuth.Rules {
		rules[i] = forwardauth.Rule{PathPrefix: r.PathPrefix, Kinds: r.Kinds, Scopes: r.Scopes, Modes: r.Modes}
	}
	return rules
}
