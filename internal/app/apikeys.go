package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/forwardauth"
	"github.com/authd/authd/internal/store"
)

// wireAPIKeys builds the API-key verifier (subscribed to invalidations when
// it returns), the key-management service and the forward-auth decider.
// It needs the store, cache, audit recorder and token service.
func (a *App) wireAPIKeys(ctx context.Context) error {
	cfg := a.Config
	v, err := apikey.NewVerifier(ctx, apikey.VerifierOptions{
		Store:         a.Store,
		Cache:         a.Cache,
		Changes:       a.Revocations,
		SharedCache:   cfg.Redis.URL != "", // another replica's miss is then answered by Redis
		Audit:         a.Audit,
		Logger:        a.Logger,
		CacheSize:     cfg.APIKeys.CacheSize,
		CacheTTL:      cfg.APIKeys.CacheTTL,
		SharedTTL:     apiKeySharedTTL,
		QueryTimeout:  cfg.Database.QueryTimeout,
		StaleIfError:  cfg.Database.StaleIfError,
		LastUsedFlush: cfg.APIKeys.LastUsedFlush,
		Now:           a.now,
	})
	if err != nil {
		return err
	}
	a.KeyVerifier = v
	// A revoked or rolled key leaves every replica's caches: by pub/sub at
	// once, or from the log within its poll interval.
	a.Revocations.OnApply(func(r store.Revocation) {
		if r.Kind == store.RevokeAPIKey {
			v.Forget(r.Key)
		}
	})
	scopes, err := APIKeyScopes(cfg)
	if err != nil {
		return err
	}
	a.KeyService = apikey.NewService(apikey.ServiceOptions{Scopes: scopes,
		Store: a.Store, Authorizer: a.Identity, Revocations: a.Revocations, Box: a.KeyBox, Audit: a.Audit, Logger: a.Logger,
		ChangeTTL: APIKeyChangeTTL(cfg), Now: a.now,
	})
	a.ForwardAuth = forwardauth.New(a.Tokens, v, ForwardAuthRules(cfg))
	return nil
}

// APIKeyScopes is the scope catalogue: the built-in scopes and the
// configured ones (api_keys.scopes).
func APIKeyScopes(cfg *config.Config) (*apikey.Catalogue, error) {
	extra := make([]apikey.ScopeInfo, len(cfg.APIKeys.Scopes))
	for i, sc := range cfg.APIKeys.Scopes {
		extra[i] = apikey.ScopeInfo{Name: sc.Name, Description: sc.Description, Public: slices.Contains(sc.KeyTypes, "public")}
	}
	c, err := apikey.NewCatalogue(extra...)
	if err != nil {
		return nil, fmt.Errorf("api_keys.scopes: %w", err)
	}
	return c, nil
}

// apiKeySharedTTL is how long a verified key's record lives in Redis for
// the other replicas.
const apiKeySharedTTL = 5 * time.Minute

// APIKeyChangeTTL is how long a key's change stays in the revocation log:
// longer than any copy of its old record can be cached (Redis, then a
// replica's memory, plus a slow fetch).
func APIKeyChangeTTL(cfg *config.Config) time.Duration {
	return apiKeySharedTTL + cfg.APIKeys.CacheTTL + time.Minute
}

// ForwardAuthRules maps the configured forward-auth rules.
func ForwardAuthRules(cfg *config.Config) []forwardauth.Rule {
	rules := make([]forwardauth.Rule, len(cfg.ForwardAuth.Rules))
	for i, r := range cfg.ForwardAuth.Rules {
		rules[i] = forwardauth.Rule{PathPrefix: r.PathPrefix, Kinds: r.Kinds, Scopes: r.Scopes, Modes: r.Modes, Audiences: r.Audiences}
	}
	return rules
}
