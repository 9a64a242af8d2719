package identity

import (
	"context"
	"errors"
)

// Actor is a back-office user acting through an access token: the user,
// and the organisation the token acts for (its org claim: the default
// membership's organisation after sign-in, or the one switched into).
type Actor struct {
	UserID string
	Org    string
}

// ErrOutsideScope: the organisation lies outside the one the caller's
// token acts for (above it, or in another branch of the network).
var ErrOutsideScope = errors.New("identity: outside the organisation the token acts for")

// inScope is the one check of a token's reach, made by every back-office
// read and write that names an organisation: each of orgIDs must be
// a.Org or below it. A token switched into a merchant reads and writes
// that merchant and what lies below it, whatever its user may do
// elsewhere; to act above it, the user switches there (which their own
// memberships allow). An unknown organisation is outside every scope, so
// the answer tells nothing about ids beyond the token's reach.
func (s *Service) inScope(ctx context.Context, a Actor, orgIDs ...string) error {
	if a.Org == "" {
		return ErrOutsideScope
	}
	for _, id := range orgIDs {
		ok, err := s.Within(ctx, id, a.Org)
		if err != nil {
			return err
		}
		if !ok {
			return ErrOutsideScope
		}
	}
	return nil
}
