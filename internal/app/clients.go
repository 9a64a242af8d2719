package app

import (
	"context"
	"errors"
	"slices"

	"github.com/authd/authd/internal/bootstrap"
	"github.com/authd/authd/internal/clients"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/store"
)

// wireClients builds the OAuth clients' service: the cache client
// authentication reads, and management. It needs the identity rules, the
// token and refresh services and the revocation log, and must run before
// the log is loaded: every replica drops a cached client when it applies
// the client's revocation (deleted) or change (secret rotated).
func (a *App) wireClients() {
	cfg := a.Config
	a.Clients = clients.New(a.Store, clients.Config{
		Timeout: cfg.Database.QueryTimeout, StaleIfError: staleOrOff(cfg.Database.StaleIfError), Now: a.now,
		Identity: a.Identity, Tokens: a.Tokens, Refresh: a.Refresh, Revocations: a.Revocations, Audit: a.Audit, Logger: a.Logger,
		MaxAccessTokenTTL: cfg.Tokens.MaxAccessTokenTTL, MaxRefreshTokenTTL: cfg.Tokens.RefreshTokenTTL, Reserved: ReservedClients,
	})
	a.policies.c = a.Clients
	a.Revocations.OnApply(func(r store.Revocation) {
		if clients.Forgets(r) {
			a.Clients.Forget(r.Key)
		}
	})
}

// ReservedClients are the clients the CRM-style endpoints issue their
// tokens for, whatever the store holds: they cannot be deleted (their
// tokens would not stop).
var ReservedClients = map[string]string{
	bootstrap.ClientBackoffice:  "the back-office endpoints (/backoffice/v1/users/…) issue their tokens for it",
	bootstrap.ClientSelfService: "the self-service endpoints (/self-service/v1/…) issue their tokens for it",
}

// clientPolicies tells signin each client's own lifetimes and what it
// holds, from the clients service's cache (which every replica empties of
// a client when it changes). Sign-in is wired before the clients service,
// which needs the refresh service: c is set once both exist, before
// anything is served.
type clientPolicies struct {
	c *clients.Service
}

func (p *clientPolicies) Policy(ctx context.Context, clientID string) (signin.ClientPolicy, error) {
	if p.c == nil {
		return signin.ClientPolicy{}, nil
	}
	c, err := p.c.Lookup(ctx, clientID)
	if errors.Is(err, clients.ErrUnknown) {
		return signin.ClientPolicy{}, nil
	}
	if err != nil {
		return signin.ClientPolicy{}, err
	}
	return signin.ClientPolicy{
		Known: true, AccessTokenTTL: c.AccessTokenTTL, RefreshTokenTTL: c.RefreshTokenTTL, RefreshIdleTTL: c.RefreshIdleTTL,
		MayRefresh: slices.Contains(c.GrantTypes, clients.GrantRefreshToken), Scopes: c.Scopes, Audiences: c.Audience,
	}, nil
}
