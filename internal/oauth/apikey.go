package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/authd/authd/internal/apikey"
)

// HintAPIKey is the token_type_hint (and the token_type answered) for API
// keys.
const HintAPIKey = "api_key"

// APIKeyInspector verifies an API key without counting a use against its
// rate limit (apikey.Verifier.Inspect): the same code path as the api_key
// header and forward-auth.
type APIKeyInspector interface {
	Inspect(ctx context.Context, raw string) (apikey.Key, error)
}

// NewAPIKeyIntrospector returns the Introspector for API keys. An active
// key is answered with token_type "api_key", org, mode, scope, exp (when
// the key expires) and key_id; client_id is absent. A key that is
// malformed, unknown, revoked, expired or of the wrong mode is inactive,
// with nothing saying which.
func NewAPIKeyIntrospector(v APIKeyInspector) Introspector { return apiKeyIntrospector{v: v} }

type apiKeyIntrospector struct{ v APIKeyInspector }

func (apiKeyIntrospector) Hint() string { return HintAPIKey }

func (a apiKeyIntrospector) Introspect(ctx context.Context, tok string) (Introspection, error) {
	if !looksLikeAPIKey(tok) {
		return Introspection{}, ErrUnknownToken
	}
	k, err := a.v.Inspect(ctx, tok)
	switch {
	case err == nil:
	case errors.Is(err, apikey.ErrInvalid):
		return Introspection{Active: false}, nil
	default:
		return Introspection{}, err
	}
	in := Introspection{
		Active:    true,
		Scope:     k.Scope,
		TokenType: HintAPIKey,
		TokenUse:  HintAPIKey,
		Sub:       k.ID,
		Org:       k.OrganisationID,
		Mode:      string(k.Mode),
		Kind:      HintAPIKey,
		KeyID:     k.ID,
	}
	if k.ExpiresAt != nil {
		in.Exp = k.ExpiresAt.Unix()
	}
	return in, nil
}

// NewAPIKeyRevoker returns the Revoker for API keys: it answers
// ErrUnsupportedTokenType for anything shaped like one, so /oauth2/revoke
// says 400 unsupported_token_type rather than a 200 that revoked nothing.
func NewAPIKeyRevoker() Revoker { return apiKeyRevoker{} }

type apiKeyRevoker struct{}

func (apiKeyRevoker) Hint() string { return HintAPIKey }

func (apiKeyRevoker) Revoke(_ context.Context, tok, _ string, _ bool) error {
	if !looksLikeAPIKey(tok) {
		return ErrUnknownToken
	}
	return ErrUnsupportedTokenType
}

// looksLikeAPIKey tells API keys (even mistyped ones: those are inactive)
// from the other kinds of token by their prefix.
func looksLikeAPIKey(tok string) bool {
	return strings.HasPrefix(tok, "pk_") || strings.HasPrefix(tok, "sk_")
}
