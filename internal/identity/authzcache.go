package identity

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/authd/authd/internal/store"
)

// InvalidationChannel carries the ids of users whose memberships changed,
// so every replica drops them from its authorization cache at once.
const InvalidationChannel = "identity:authz"

// authzCache keeps what RoleIn reads on every refresh and switch:
// memberships per user (short TTL, invalidated by pub/sub on every change)
// and organisations (their parent never changes; names may, so a TTL).
// With it, a refresh costs its own read, write and signature only.
type authzCache struct {
	members *expirable.LRU[string, userAuthz]
	orgs    *expirable.LRU[string, store.Organisation]
}

func newAuthzCache() *authzCache {
	return &authzCache{
		members: expirable.NewLRU[string, userAuthz](10000, nil, 30*time.Second),
		orgs:    expirable.NewLRU[string, store.Organisation](10000, nil, 5*time.Minute),
	}
}

// userAuthz is what authorising a user needs.
type userAuthz struct {
	disabled    bool
	memberships []store.Membership
}

func (s *Service) userAuthz(ctx context.Context, userID string) (userAuthz, error) {
	if ua, ok := s.authz.members.Get(userID); ok {
		return ua, nil
	}
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
	ua := userAuthz{disabled: u.Disabled, memberships: ms}
	s.authz.members.Add(userID, ua)
	return ua, nil
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
	if o, ok := s.authz.orgs.Get(id); ok {
		return o, nil
	}
	o, err := s.st.GetOrganisation(ctx, id)
	if err != nil {
		return store.Organisation{}, err
	}
	s.authz.orgs.Add(id, o)
	return o, nil
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
