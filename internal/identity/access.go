package identity

import (
	"context"
	"errors"

	"github.com/authd/authd/internal/store"
)

// Roles, strongest first.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// ErrForbidden is returned when a user has no right in an organisation.
var ErrForbidden = errors.New("identity: no right in this organisation")

// ErrNoBusiness: the caller does not act for a business, which contacts
// belong to (the network's root, the service owner, has none).
var ErrNoBusiness = errors.New("identity: not within a business")

// BusinessOf returns the business an organisation belongs to: the
// organisation itself when it is a business (a child of the network's
// root), else its ancestor that is. The tree's shape decides, not the
// organisation types, which are data.
func (s *Service) BusinessOf(ctx context.Context, orgID string) (string, error) {
	chain, err := ancestors(ctx, orgID, s.organisation)
	if err != nil {
		return "", err
	}
	if len(chain) < 2 || chain[len(chain)-1].ParentID != "" {
		return "", ErrNoBusiness
	}
	return chain[len(chain)-2].ID, nil
}

// Within reports whether orgID is rootID or below it. An unknown
// organisation is within nothing.
func (s *Service) Within(ctx context.Context, orgID, rootID string) (bool, error) {
	chain, err := ancestors(ctx, orgID, s.organisation)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, o := range chain {
		if o.ID == rootID {
			return true, nil
		}
	}
	return false, nil
}

// maxDepth bounds walks up the tree (a cycle would otherwise loop).
const maxDepth = 32

func roleRank(r string) int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return roleRank(r) > 0 }

// AtLeast reports whether role r is at least min.
func AtLeast(r, min string) bool { return roleRank(r) >= roleRank(min) && roleRank(r) > 0 }

// Grant is what a user may do in one organisation, and through which
// membership.
type Grant struct {
	Role    string
	HomeOrg string // the membership's organisation (orgID itself or an ancestor)
}

func ancestors(ctx context.Context, orgID string, get func(context.Context, string) (store.Organisation, error)) ([]store.Organisation, error) {
	var chain []store.Organisation
	id := orgID
	for i := 0; id != "" && i < maxDepth; i++ {
		o, err := get(ctx, id)
		if err != nil {
			return nil, err
		}
		chain = append(chain, o)
		id = o.ParentID
	}
	return chain, nil
}

func roleIn(ctx context.Context, ms []store.Membership, orgID string, get func(context.Context, string) (store.Organisation, error)) (Grant, error) {
	if len(ms) == 0 {
		return Grant{}, ErrForbidden
	}
	chain, err := ancestors(ctx, orgID, get)
	if errors.Is(err, store.ErrNotFound) {
		return Grant{}, ErrForbidden
	}
	if err != nil {
		return Grant{}, err
	}
	byOrg := make(map[string]string, len(ms))
	for _, m := range ms {
		byOrg[m.OrganisationID] = m.Role
	}
	var best Grant
	for _, o := range chain {
		if r, ok := byOrg[o.ID]; ok && roleRank(r) > roleRank(best.Role) {
			best = Grant{Role: r, HomeOrg: o.ID}
		}
	}
	if best.Role == "" {
		return Grant{}, ErrForbidden
	}
	return best, nil
}
