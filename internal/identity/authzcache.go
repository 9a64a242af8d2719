package identity

import (
	"context"
	"errors"
	"time"

	"github.com/authd/authd/internal/lastgood"
	"github.com/authd/authd/internal/store"
)

// InvalidationChannel carries the ids of users whose memberships changed,
// so every replica drops them from its authorization cache at once.
const InvalidationChannel = "identity:authz"

// authzCache keeps what RoleIn reads on every refresh, switch and
// verification of a user's token: memberships per user (short TTL,
// invalidated by pub/sub on every change and by the revocation log when a
// user's tokens are revoked) and organisations (their parent never
// changes; names may, so a TTL). With it, a refresh costs its own read,
// write and signature only. While the store fails, the last good answers
// are used for a bounded time, so verification outlives a database outage.
type authzCache struct {
	members *lastgood.Cache[string, userAuthz]
	orgs    *lastgood.Cache[string, store.Organisation]
}

func newAuthzCache(timeout, staleIfError time.Duration, now func() time.Time) *authzCache {
	id := func(k string) string { return k }
	return &authzCache{
		members: lastgood.New[string, userAuthz](lastgood.Config{Fresh: 30 * time.Second, StaleIfError: staleIfError,
			Timeout: timeout, Outage: store.Unavailable, Now: now}, id),
		orgs: lastgood.New[string, store.Organisation](lastgood.Config{Fresh: 5 * time.Minute, StaleIfError: staleIfError,
			Timeout: timeout, Outage: store.Unavailable, Now: now}, id),
	}
}

// userAuthz is what authorising a user needs.
type userAuthz struct {
	disabled    bool
	memberships []store.Membership
}

func (s *Service) userAuthz(ctx context.Context, userID string) (userAuthz, error) {
	return s.authz.members.Get(ctx, userID, func(ctx context.Context) (userAuthz, error) {
		u, err := s.st.GetUser(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			return userAuthz{disabled: true}, nil
		}
		if err != nil {
			return userAuthz{}, err
		}
		ms, err := s.st.ListMemberships(ctx, userID)
		if err != nil {
			return userAuthz{}, err
		}
		return userAuthz{disabled: u.Disabled, memberships: ms}, nil
	})
}

// ActiveRoleIn is RoleIn for a user who must also be enabled: the check a
// refresh or switch makes, answered from the cache.
func (s *Service) ActiveRoleIn(ctx context.Context, userID, orgID string) (Grant, error) {
	ua, err := s.userAuthz(ctx, userID)
	if err != nil {
		return Grant{}, err
	}
	if ua.disabled {
		return Grant{}, ErrInvalidCredentials
	}
	return roleIn(ctx, ua.memberships, orgID, s.organisation)
}

func (s *Service) organisation(ctx context.Context, id string) (store.Organisation, error) {
	return s.authz.orgs.Get(ctx, id, func(ctx context.Context) (store.Organisation, error) {
		return s.st.GetOrganisation(ctx, id)
	})
}

// invalidate drops a user's cached memberships here and, through the
// shared cache, on every replica.
func (s *Service) invalidate(ctx context.Context, userID string) {
	s.authz.members.Remove(userID)
	if err := s.cache.Publish(ctx, InvalidationChannel, []byte(userID)); err != nil {
		s.logger.WarnContext(ctx, "identity: cannot publish an authorization change; other replicas see it within 30s", "error", err)
	}
}

// Forget drops a user's cached rights in this process (the user's tokens
// were revoked: the next check reads the store).
func (s *Service) Forget(userID string) { s.authz.members.Remove(userID) }

// Start follows other replicas' invalidations until ctx ends.
func (s *Service) Start(ctx context.Context) error {
	ch, err := s.cache.Subscribe(ctx, InvalidationChannel)
	if err != nil {
		return err
	}
	go func() {
		for msg := range ch {
			s.authz.members.Remove(string(msg))
		}
	}()
	return nil
}
