package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/clients"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/token"
)

// Grant types authd knows by name (the clients package holds the list a
// client may be given).
const (
	GrantClientCredentials = clients.GrantClientCredentials
	GrantPassword          = clients.GrantPassword
	GrantRefreshToken      = clients.GrantRefreshToken
	GrantTokenExchange     = clients.GrantTokenExchange
	GrantOTP               = clients.GrantOTP
)

// Client permissions, held as client scopes (clients.Permissions).
const (
	// ScopeIntrospect lets a confidential client call /oauth2/introspect.
	ScopeIntrospect = clients.ScopeIntrospect
	// ScopeRevokeAny lets a confidential client revoke tokens issued to
	// other clients (RFC 7009 otherwise limits a client to its own).
	ScopeRevokeAny = clients.ScopeRevokeAny
)

// Config is what the OAuth core needs from authd's configuration.
type Config struct {
	Issuer          string
	AccessTokenTTL  time.Duration
	DefaultAudience []string // aud when a request names none; default: the issuer
}

// Observer is told of every token issued, by grant type (metrics).
type Observer func(grantType string)

// Provider is the configured OAuth 2.0 authorization server.
type Provider struct {
	cfg           Config
	f             *fosite.Fosite
	fc            *fosite.Config
	tokens        *token.Service
	grants        []string
	introspectors []Introspector
	revokers      []Revoker
	logger        *slog.Logger
	observe       Observer
	streams       streams
}

// New wires fosite with authd's clients and registers every grant (each
// signs in through s), and introspection and revocation of access and
// refresh tokens.
func New(cfg Config, cs Clients, tokens *token.Service, s *signin.Service, logger *slog.Logger, observe Observer) *Provider {
	if len(cfg.DefaultAudience) == 0 {
		cfg.DefaultAudience = []string{cfg.Issuer}
	}
	if observe == nil {
		observe = func(string) {}
	}
	fc := &fosite.Config{
		AccessTokenLifespan:        cfg.AccessTokenTTL,
		AccessTokenIssuer:          cfg.Issuer,
		TokenURL:                   cfg.Issuer + "/oauth2/token",
		ScopeStrategy:              fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:   fosite.DefaultAudienceMatchingStrategy,
		ClientSecretsHasher:        secretHasher{},
		SendDebugMessagesToClients: false,
	}
	p := &Provider{
		cfg:     cfg,
		f:       fosite.NewOAuth2Provider(fositeStorage{clients: cs}, fc),
		fc:      fc,
		tokens:  tokens,
		logger:  logger,
		observe: observe,
		streams: streams{done: make(chan struct{})},
	}
	for _, g := range []*grant{clientCredentialsGrant(s), passwordGrant(s), refreshGrant(s), exchangeGrant(s), otpGrant(s)} {
		p.AddGrant(g)
	}
	p.AddIntrospector(accessTokenIntrospector{tokens: tokens})
	p.AddRevoker(accessTokenRevoker{tokens: tokens})
	p.AddIntrospector(refreshIntrospector{s: s})
	p.AddRevoker(refreshRevoker{s: s})
	return p
}

// AddGrant registers a grant: it is then advertised in the metadata and
// accepted at /oauth2/token.
func (p *Provider) AddGrant(g *grant) {
	// Not Append: it drops handlers of a type already listed, and every
	// grant is a *grant.
	p.fc.TokenEndpointHandlers = append(p.fc.TokenEndpointHandlers, g)
	if !slices.Contains(p.grants, g.name) {
		p.grants = append(p.grants, g.name)
	}
}

// TokenHandler serves POST /oauth2/token (RFC 6749 §3.2).
func (p *Provider) TokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := readForm(w, r); err != nil {
			p.writeTokenError(ctx, w, nil, err)
			return
		}
		if noClient(r) {
			p.writeTokenError(ctx, w, nil, fosite.ErrInvalidClient.WithHint("Client authentication is required: HTTP Basic, or client_id (and client_secret) in the body."))
			return
		}
		gt := r.PostForm.Get("grant_type")
		if gt == "" {
			p.writeTokenError(ctx, w, nil, fosite.ErrInvalidRequest.WithHint("The grant_type parameter is missing."))
			return
		}
		if !slices.Contains(p.grants, gt) {
			// fosite answers invalid_request here; RFC 6749 §5.2 says
			// unsupported_grant_type.
			p.writeTokenError(ctx, w, nil, fosite.ErrUnsupportedGrantType.WithHintf("The grant type %q is not supported.", gt))
			return
		}
		ar, err := p.f.NewAccessRequest(ctx, r, NewSession())
		if err != nil {
			p.writeTokenError(ctx, w, ar, err)
			return
		}
		resp, err := p.f.NewAccessResponse(ctx, ar)
		if err != nil {
			p.writeTokenError(ctx, w, ar, err)
			return
		}
		if s, ok := resp.GetExtra("scope").(string); ok && s == "" {
			delete(resp.ToMap(), "scope") // no scope granted: omitted, not ""
		}
		p.observe(gt)
		p.f.WriteAccessResponse(ctx, w, ar, resp)
	})
}

// writeTokenError renders RFC 6749 §5.2 errors: fosite's own protocol
// errors as they are, every domain error as the error table (apierror)
// describes it. An outage is 503 temporarily_unavailable with
// Retry-After (not a misleading invalid_client); a server-side failure is
// logged once at ERROR with its cause (never a token) and answered as
// server_error.
func (p *Provider) writeTokenError(ctx context.Context, w http.ResponseWriter, ar fosite.AccessRequester, err error) {
	rfc, e := oauthError(err)
	if e != nil && e.Internal() {
		p.logger.ErrorContext(ctx, "oauth: request failed", "error", err)
		failureLogged(ctx)
	}
	if e != nil && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if rfc.CodeField == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="authd"`)
	}
	p.f.WriteAccessError(ctx, w, ar, rfc)
}

// oauthError is err as an RFC 6749 error, and the table's entry when it
// came from the table.
func oauthError(err error) (*fosite.RFC6749Error, *apierror.Error) {
	var rfc *fosite.RFC6749Error
	if errors.As(err, &rfc) && !apierror.Known(err) {
		return rfc, nil // fosite's own protocol error
	}
	e := apierror.For(err)
	return oauthFrom(e).WithWrap(err), e
}

// oauthFrom is fosite's error for the table's entry e.
func oauthFrom(e *apierror.Error) *fosite.RFC6749Error {
	var base *fosite.RFC6749Error
	switch e.OAuth {
	case apierror.OAuthInvalidGrant:
		base = fosite.ErrInvalidGrant
	case apierror.OAuthInvalidClient:
		base = fosite.ErrInvalidClient
	case apierror.OAuthUnauthorizedClient:
		base = fosite.ErrUnauthorizedClient
	case apierror.OAuthInvalidScope:
		base = fosite.ErrInvalidScope
	case apierror.OAuthInvalidTarget:
		base = errInvalidTarget
	case apierror.OAuthTemporarily:
		base = fosite.ErrTemporarilyUnavailable
	case apierror.OAuthTooManyRequests:
		base = &fosite.RFC6749Error{ErrorField: apierror.OAuthTooManyRequests, CodeField: http.StatusTooManyRequests,
			DescriptionField: "Too many requests; retry later."}
	case apierror.OAuthServerError:
		return fosite.ErrServerError
	default:
		base = fosite.ErrInvalidRequest
	}
	return base.WithHint(e.Detail)
}

// grantError is a grant's refusal: err as the error table describes it,
// with the grant's own hint when detail is set.
func grantError(err error, detail string) error {
	rfc, e := oauthError(err)
	if e != nil && detail != "" && !e.Internal() {
		return oauthFrom(e.WithDetail(detail)).WithWrap(err)
	}
	return rfc
}

// authenticateClient authenticates the caller of introspection or
// revocation. No credentials at all is invalid_client (RFC 6749 §5.2),
// where fosite would say invalid_request.
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request) (fosite.Client, error) {
	if noClient(r) {
		return nil, fosite.ErrInvalidClient.WithHint("Client authentication is required.")
	}
	return p.f.AuthenticateClient(ctx, r, r.PostForm)
}

// noClient: the request names no client at all.
func noClient(r *http.Request) bool {
	_, _, ok := r.BasicAuth()
	return !ok && r.PostForm.Get("client_id") == ""
}

// repeatable are the parameters RFC 8693 §2.1 lets a request repeat.
var repeatable = map[string]bool{"resource": true, "audience": true}

// readForm checks what RFC 6749 asks of every /oauth2/* request and parses
// its form: POST only (§3.2; 405 with Allow), a form body, no parameter
// more than once (§3.1), and one client authentication method (§2.3: not
// HTTP Basic together with client_secret in the body, nor a body
// client_id naming another client than Basic does).
func readForm(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return &fosite.RFC6749Error{ErrorField: "invalid_request", CodeField: http.StatusMethodNotAllowed,
			DescriptionField: "This endpoint accepts POST only."}
	}
	if err := r.ParseForm(); err != nil {
		return fosite.ErrInvalidRequest.WithHint("The request body is not a valid form.")
	}
	for k, v := range r.Form {
		if len(v) > 1 && !repeatable[k] {
			return fosite.ErrInvalidRequest.WithHintf("The %s parameter must not be repeated.", k)
		}
	}
	if user, _, ok := r.BasicAuth(); ok {
		if r.PostForm.Has("client_secret") {
			return fosite.ErrInvalidRequest.WithHint("Use one client authentication method: HTTP Basic or client_secret in the body, not both.")
		}
		if id := r.PostForm.Get("client_id"); id != "" {
			if u, err := url.QueryUnescape(user); err != nil || u != id {
				return fosite.ErrInvalidRequest.WithHint("The body's client_id is not the client authenticated with HTTP Basic.")
			}
		}
	}
	return nil
}

type failureLoggedKey struct{}

// WithFailureLogged returns ctx carrying mark, which the provider calls
// once it has logged the request's failure at ERROR (with its cause), so
// the access log does not log it at ERROR a second time.
func WithFailureLogged(ctx context.Context, mark func()) context.Context {
	return context.WithValue(ctx, failureLoggedKey{}, mark)
}

func failureLogged(ctx context.Context) {
	if mark, ok := ctx.Value(failureLoggedKey{}).(func()); ok {
		mark()
	}
}
