package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/token"
)

// ErrUnknownToken tells the introspection and revocation endpoints that a
// token is not of the kind an Introspector or Revoker handles.
var ErrUnknownToken = errors.New("oauth: token not recognised")

// Introspection is an RFC 7662 §2.2 response plus authd's claims.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	TokenUse  string   `json:"token_use,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	Org       string   `json:"org,omitempty"`
	Mode      string   `json:"mode,omitempty"`
	Kind      string   `json:"kind,omitempty"`
	HomeOrg   string   `json:"home_org,omitempty"`
	// ServiceOwner: a token of a user who is a member of the service owner.
	ServiceOwner bool   `json:"service_owner,omitempty"`
	KeyID        string `json:"key_id,omitempty"`
}

// Introspector recognises one kind of token. It returns ErrUnknownToken for
// tokens not of its kind, an inactive Introspection for its own tokens that
// are expired, revoked or otherwise dead, and any other error only when it
// cannot tell (a backend is down).
type Introspector interface {
	// Hint is the token_type_hint value naming this kind.
	Hint() string
	Introspect(ctx context.Context, tok string) (Introspection, error)
}

// AddIntrospector registers another token kind for /oauth2/introspect.
func (p *Provider) AddIntrospector(i Introspector) { p.introspectors = append(p.introspectors, i) }

// Introspect answers for tok, trying the hinted kind first (RFC 7662 §2.1:
// the hint may be ignored; a wrong hint must not make a token inactive).
func (p *Provider) Introspect(ctx context.Context, tok, hint string) (Introspection, error) {
	for _, i := range hintFirst(p.introspectors, hint) {
		res, err := i.Introspect(ctx, tok)
		if errors.Is(err, ErrUnknownToken) {
			continue
		}
		return res, err
	}
	return Introspection{}, nil
}

// IntrospectionHandler serves POST /oauth2/introspect (RFC 7662). Only an
// authenticated confidential client holding the tokens:introspect scope may
// call it.
func (p *Provider) IntrospectionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		client, ok := p.clientRequest(w, r)
		if !ok {
			return
		}
		if client.IsPublic() || !client.GetScopes().Has(ScopeIntrospect) {
			p.writeTokenError(ctx, w, nil, fosite.ErrUnauthorizedClient.WithHint("This client may not introspect tokens."))
			return
		}
		tok := r.PostForm.Get("token")
		if tok == "" {
			p.writeTokenError(ctx, w, nil, fosite.ErrInvalidRequest.WithHint("The token parameter is missing."))
			return
		}
		res, err := p.Introspect(ctx, tok, r.PostForm.Get("token_type_hint"))
		if err != nil {
			p.writeTokenError(ctx, w, nil, err)
			return
		}
		if !res.Active {
			res = Introspection{}
		}
		writeIntrospection(w, res)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(v)
}

// accessTokenIntrospector introspects authd's JWT access tokens.
type accessTokenIntrospector struct {
	tokens *token.Service
}

func (accessTokenIntrospector) Hint() string { return "access_token" }

func (a accessTokenIntrospector) Introspect(ctx context.Context, tok string) (Introspection, error) {
	if strings.Count(tok, ".") != 2 {
		return Introspection{}, ErrUnknownToken
	}
	c, err := a.tokens.Verify(ctx, tok)
	switch {
	case err == nil:
	case errors.Is(err, token.ErrInvalid):
		return Introspection{}, ErrUnknownToken
	case errors.Is(err, token.ErrExpired), errors.Is(err, token.ErrRevoked):
		return Introspection{Active: false}, nil
	default:
		return Introspection{}, err
	}
	return Introspection{
		Active:       true,
		Scope:        c.Scope,
		ClientID:     c.ClientID,
		TokenType:    "Bearer",
		TokenUse:     "access_token",
		Exp:          c.ExpiresAt,
		Iat:          c.IssuedAt,
		Nbf:          c.NotBefore,
		Sub:          c.Subject,
		Aud:          c.Audience,
		Iss:          c.Issuer,
		Jti:          c.ID,
		Org:          c.Org,
		Mode:         c.Mode,
		Kind:         c.Kind,
		HomeOrg:      c.HomeOrg,
		ServiceOwner: c.ServiceOwner && c.Kind == token.KindUser,
	}, nil
}

// hinted is a token kind named by a token_type_hint.
type hinted interface{ Hint() string }

// hintFirst orders handlers with the hinted kind first (a hint may be
// wrong: the others are still tried).
func hintFirst[T hinted](all []T, hint string) []T {
	out := make([]T, 0, len(all))
	for _, h := range all {
		if h.Hint() == hint {
			out = append(out, h)
		}
	}
	for _, h := range all {
		if h.Hint() != hint {
			out = append(out, h)
		}
	}
	return out
}

// clientRequest checks the method and form of an introspection or
// revocation request and authenticates its client; on failure it has
// written the RFC 6749 error.
func (p *Provider) clientRequest(w http.ResponseWriter, r *http.Request) (fosite.Client, bool) {
	ctx := r.Context()
	if err := readForm(w, r); err != nil {
		p.writeTokenError(ctx, w, nil, err)
		return nil, false
	}
	client, err := p.authenticateClient(ctx, r)
	if err != nil {
		p.writeTokenError(ctx, w, nil, err)
		return nil, false
	}
	return client, true
}
