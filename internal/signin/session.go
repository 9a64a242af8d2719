package signin

import (
	"context"
	"errors"
	"time"

	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// Logout ends the session an access token belongs to: its refresh family
// (sid), the family of refreshToken when it is the same person's (a
// mistyped or another device's token still ends this session), and the
// access token itself. A refresh token of someone else is
// ErrNotYourToken and nothing changes.
func (s *Service) Logout(ctx context.Context, claims token.Claims, refreshToken string) error {
	mine := func(r store.RefreshToken) bool {
		return r.SubjectKind == claims.Kind && r.SubjectID == claims.Subject && r.OrganisationID == claims.Org && string(r.Mode) == claims.Mode
	}
	rec, err := s.refresh.RevokeFamily(ctx, refreshToken, mine)
	switch {
	case errors.Is(err, refresh.ErrOtherClient):
		return ErrNotYourToken
	case err != nil && !errors.Is(err, refresh.ErrInvalid): // unknown: nothing to end
		return err
	}
	// The access token's session, unless the refresh token just ended it.
	if claims.Family != "" && (err != nil || rec.FamilyID != claims.Family) {
		if err := s.refresh.EndFamily(ctx, claims.Family); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return s.tokens.Revoke(ctx, claims)
}

// RevokeRefreshToken ends the family of a refresh token (RFC 7009): for a
// client that may revoke only its own tokens, mayRevoke says whether the
// token's client is acceptable. Unknown tokens are refresh.ErrInvalid
// (ErrUnknownToken to the caller), another client's ErrOtherClient.
func (s *Service) RevokeRefreshToken(ctx context.Context, tok string, mayRevoke func(clientID string) bool) error {
	_, err := s.refresh.RevokeFamily(ctx, tok, func(rec store.RefreshToken) bool { return mayRevoke(rec.ClientID) })
	switch {
	case errors.Is(err, refresh.ErrOtherClient):
		return ErrOtherClient
	case errors.Is(err, refresh.ErrInvalid):
		return ErrUnknownToken
	}
	return err
}

// ErrKeyNotForToken: the API key sent with a refresh token is of another
// business or mode than the token.
var ErrKeyNotForToken = errors.New("signin: the api key is not of the refresh token's business and mode")

// CheckRefreshTenant refuses, with ErrKeyNotForToken, a refresh token that
// accept refuses; a token that is not authd's is left for Refresh to
// answer. Nothing happens to the token.
func (s *Service) CheckRefreshTenant(ctx context.Context, tok string, accept Accept) error {
	rec, err := s.refresh.Peek(ctx, tok)
	if errors.Is(err, refresh.ErrInvalid) {
		return nil
	}
	if err != nil {
		return err
	}
	if !accept(rec) {
		return ErrKeyNotForToken
	}
	return nil
}

// ErrUnknownToken: the token is not one of authd's live refresh tokens.
var ErrUnknownToken = errors.New("signin: unknown token")

// RefreshTokenInfo is a live refresh token as introspection shows it.
type RefreshTokenInfo struct {
	Record    store.RefreshToken
	ExpiresAt time.Time // when it stops being redeemable unless used first
}

// LooksLikeRefreshToken reports whether tok has the shape of a refresh token.
func LooksLikeRefreshToken(tok string) bool { return refresh.LooksLike(tok) }

// InspectRefreshToken returns a live refresh token's record, or
// ErrUnknownToken for one that is not live (used, revoked, expired,
// unknown).
func (s *Service) InspectRefreshToken(ctx context.Context, tok string) (RefreshTokenInfo, error) {
	rec, exp, err := s.refresh.Lookup(ctx, tok, s.lifetimesOf)
	if errors.Is(err, refresh.ErrInvalid) {
		return RefreshTokenInfo{}, ErrUnknownToken
	}
	if err != nil {
		return RefreshTokenInfo{}, err
	}
	return RefreshTokenInfo{Record: rec, ExpiresAt: exp}, nil
}

// RefreshToken is a refresh token's record, as Accept sees it.
type RefreshToken = store.RefreshToken

// Accept decides from a refresh token's record whether the caller may
// redeem it at all; a refused token is ErrInvalidGrant and nothing
// happens to it.
type Accept = refresh.Accept

// SubjectKind accepts the tokens of one kind of subject (user, contact).
func SubjectKind(kind string) Accept {
	return func(r store.RefreshToken) bool { return r.SubjectKind == kind }
}

// ContactOf accepts the contact tokens of one business and mode.
func ContactOf(businessID string, mode store.Mode) Accept {
	return func(r store.RefreshToken) bool {
		return r.SubjectKind == store.KindContact && r.OrganisationID == businessID && r.Mode == mode
	}
}
