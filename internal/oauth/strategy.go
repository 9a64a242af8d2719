package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/authd/authd/internal/token"
)

// accessTokens is fosite's access-token strategy and storage on
// token.Service: RFC 9068 JWTs signed by the current key, verified by kid.
// Access tokens are stateless; revocation is a jti list in the cache, so
// issuing one costs a signature and no database write.
type accessTokens struct {
	tokens          *token.Service
	defaultAudience []string
}

var (
	_ oauth2.AccessTokenStrategy = (*accessTokens)(nil)
	_ oauth2.AccessTokenStorage  = (*accessTokens)(nil)
)

// AccessTokenSignature implements oauth2.AccessTokenStrategy.
func (a *accessTokens) AccessTokenSignature(_ context.Context, tok string) string {
	if i := strings.LastIndexByte(tok, '.'); i >= 0 {
		return tok[i+1:]
	}
	return ""
}

// GenerateAccessToken implements oauth2.AccessTokenStrategy.
func (a *accessTokens) GenerateAccessToken(_ context.Context, r fosite.Requester) (string, string, error) {
	s, ok := r.GetSession().(*Session)
	if !ok {
		return "", "", errors.New("oauth: unexpected session type")
	}
	exp := s.GetExpiresAt(fosite.AccessToken)
	if exp.IsZero() {
		return "", "", errors.New("oauth: access token expiry not set")
	}
	aud := []string(r.GetGrantedAudience())
	if len(aud) == 0 {
		aud = a.defaultAudience
	}
	tok, _, err := a.tokens.IssueFor(token.Subject{ID: s.Subject, Kind: s.Kind, ClientID: r.GetClient().GetID(),
		Org: s.Org, Mode: s.Mode, HomeOrg: s.HomeOrg, Family: s.Family, Scopes: r.GetGrantedScopes(), Audience: aud}, exp)
	if err != nil {
		return "", "", err
	}
	return tok, a.AccessTokenSignature(context.Background(), tok), nil
}

// ValidateAccessToken implements oauth2.AccessTokenStrategy.
func (a *accessTokens) ValidateAccessToken(ctx context.Context, _ fosite.Requester, tok string) error {
	_, err := a.tokens.Verify(ctx, tok)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, token.ErrExpired):
		return fosite.ErrTokenExpired.WithWrap(err)
	case errors.Is(err, token.ErrInvalid), errors.Is(err, token.ErrRevoked):
		return fosite.ErrInvalidTokenFormat.WithWrap(err)
	default:
		return fosite.ErrTemporarilyUnavailable.WithWrap(err)
	}
}

// CreateAccessTokenSession implements oauth2.AccessTokenStorage: nothing
// is stored for a stateless access token.
func (a *accessTokens) CreateAccessTokenSession(context.Context, string, fosite.Requester) error {
	return nil
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage.
func (a *accessTokens) GetAccessTokenSession(context.Context, string, fosite.Session) (fosite.Requester, error) {
	return nil, fosite.ErrNotFound
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage.
func (a *accessTokens) DeleteAccessTokenSession(context.Context, string) error { return nil }
