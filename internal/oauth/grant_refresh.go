package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/signin"
)

// refreshGrant is the refresh_token grant (RFC 6749 §6) on authd's one
// refresh-token mechanism: rotation on every use, reuse detection, the
// immediate-parent grace interval (fosite's own refresh handler cannot
// answer a replayed parent with the same child).
func refreshGrant(s *signin.Service) *grant {
	return &grant{name: GrantRefreshToken, signIn: func(ctx context.Context, r fosite.AccessRequester, c *Client) (signin.Result, error) {
		rt := r.GetRequestForm().Get("refresh_token")
		if rt == "" {
			return signin.Result{}, fosite.ErrInvalidRequest.WithHint("The refresh_token parameter is missing.")
		}
		if len(r.GetRequestedAudience()) > 0 || len(r.GetRequestForm()["resource"]) > 0 {
			return signin.Result{}, errInvalidTarget.WithHint("A refresh keeps the audience of its sign-in: ask for another one by signing in.")
		}
		// RFC 6749 §6: the requested scope may not include a scope the
		// family was not granted (checked on the record, before anything
		// happens to the token). A narrower request is answered with the
		// family's scopes, which the response's scope then names (§3.3).
		requested := r.GetRequestedScopes()
		scopeRefused := false
		accept := func(rec signin.RefreshToken) bool {
			for _, sc := range requested {
				if !slices.Contains(rec.Scopes, sc) {
					scopeRefused = true
					return false
				}
			}
			return true
		}
		p, toks, err := s.Refresh(ctx, rt, c.ID, accept)
		if scopeRefused {
			return signin.Result{}, fosite.ErrInvalidScope.WithHint("The requested scope exceeds what the refresh token was granted.")
		}
		if err != nil {
			return signin.Result{}, grantError(err, "")
		}
		return signin.Result{Principal: p, Tokens: toks}, nil
	}}
}

// refreshIntrospector introspects refresh tokens (RFC 7662).
type refreshIntrospector struct {
	s *signin.Service
}

func (refreshIntrospector) Hint() string { return "refresh_token" }

func (i refreshIntrospector) Introspect(ctx context.Context, tok string) (Introspection, error) {
	if !signin.LooksLikeRefreshToken(tok) {
		return Introspection{}, ErrUnknownToken
	}
	info, err := i.s.InspectRefreshToken(ctx, tok)
	if errors.Is(err, signin.ErrUnknownToken) {
		return Introspection{Active: false}, nil
	}
	if err != nil {
		return Introspection{}, err
	}
	rec := info.Record
	return Introspection{
		Active:    true,
		ClientID:  rec.ClientID,
		TokenType: "refresh_token",
		TokenUse:  "refresh_token",
		Scope:     strings.Join(rec.Scopes, " "),
		Sub:       rec.SubjectID,
		Kind:      rec.SubjectKind,
		Org:       rec.OrganisationID,
		Mode:      string(rec.Mode),
		HomeOrg:   rec.HomeOrg,
		Iat:       rec.CreatedAt.Unix(),
		Exp:       info.ExpiresAt.Unix(),
	}, nil
}

// refreshRevoker ends a refresh token's family (RFC 7009 §2.1: revoking a
// refresh token may revoke the grant).
type refreshRevoker struct {
	s *signin.Service
}

func (refreshRevoker) Hint() string { return "refresh_token" }

func (r refreshRevoker) Revoke(ctx context.Context, tok, clientID string, anyClient bool) error {
	if !signin.LooksLikeRefreshToken(tok) {
		return ErrUnknownToken
	}
	err := r.s.RevokeRefreshToken(ctx, tok, func(owner string) bool { return anyClient || owner == clientID })
	switch {
	case errors.Is(err, signin.ErrOtherClient):
		return ErrNotYourToken
	case errors.Is(err, signin.ErrUnknownToken):
		return ErrUnknownToken
	}
	return err
}
