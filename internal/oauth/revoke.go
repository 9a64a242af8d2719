package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/token"
)

// ErrNotYourToken is returned by a Revoker when the token was issued to
// another client and the caller may not revoke other clients' tokens.
var ErrNotYourToken = errors.New("oauth: token issued to another client")

// ErrUnsupportedTokenType is returned by a Revoker for a token of its kind
// that RFC 7009 revocation does not handle (API keys: they are revoked in
// the back office). The answer is 400 unsupported_token_type (§2.2.1), so
// a caller never believes such a token was revoked.
var ErrUnsupportedTokenType = errors.New("oauth: this token type cannot be revoked here")

// Revoker revokes one kind of token (RFC 7009). It returns ErrUnknownToken
// for tokens not of its kind (including invalid ones), ErrNotYourToken when
// the token belongs to another client and anyClient is false.
type Revoker interface {
	Hint() string
	Revoke(ctx context.Context, tok, clientID string, anyClient bool) error
}

// AddRevoker registers another token kind for /oauth2/revoke.
func (p *Provider) AddRevoker(r Revoker) { p.revokers = append(p.revokers, r) }

// RevocationHandler serves POST /oauth2/revoke (RFC 7009). Public clients
// identify themselves with client_id; confidential ones authenticate. A
// client revokes its own tokens, or any token with tokens:revoke. Invalid
// or unknown tokens answer 200, as §2.2 requires.
func (p *Provider) RevocationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		client, ok := p.clientRequest(w, r)
		if !ok {
			return
		}
		tok := r.PostForm.Get("token")
		if tok == "" {
			p.writeTokenError(ctx, w, nil, fosite.ErrInvalidRequest.WithHint("The token parameter is missing."))
			return
		}
		anyClient := !client.IsPublic() && client.GetScopes().Has(ScopeRevokeAny)
		for _, rv := range hintFirst(p.revokers, r.PostForm.Get("token_type_hint")) {
			err := rv.Revoke(ctx, tok, client.GetID(), anyClient)
			if errors.Is(err, ErrUnknownToken) {
				continue
			}
			if errors.Is(err, ErrUnsupportedTokenType) {
				p.writeTokenError(ctx, w, nil, &fosite.RFC6749Error{ErrorField: "unsupported_token_type", CodeField: http.StatusBadRequest,
					DescriptionField: "API keys are not revoked here: revoke them in the back office (DELETE /backoffice/v1/api-keys/{id}) or with `authd apikeys revoke`."})
				return
			}
			if errors.Is(err, ErrNotYourToken) {
				p.writeTokenError(ctx, w, nil, fosite.ErrUnauthorizedClient.WithHint("The token was not issued to this client."))
				return
			}
			if err != nil {
				p.writeTokenError(ctx, w, nil, err)
				return
			}
			break
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	})
}

type accessTokenRevoker struct {
	tokens *token.Service
}

func (accessTokenRevoker) Hint() string { return "access_token" }

func (a accessTokenRevoker) Revoke(ctx context.Context, tok, clientID string, anyClient bool) error {
	if strings.Count(tok, ".") != 2 {
		return ErrUnknownToken
	}
	c, err := a.tokens.Parse(tok)
	if err != nil {
		return ErrUnknownToken
	}
	if c.ClientID != clientID && !anyClient {
		return ErrNotYourToken
	}
	return a.tokens.Revoke(ctx, c)
}
