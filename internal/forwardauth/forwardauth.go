package forwardauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/token"
)

// Response headers of an allowed request (contract.md).
const (
	HeaderSubject      = "X-Authd-Subject"
	HeaderSubjectType  = "X-Authd-Subject-Type"
	HeaderOrganisation = "X-Authd-Organisation"
	HeaderMode         = "X-Authd-Mode"
	HeaderScopes       = "X-Authd-Scopes"
	// HeaderServiceOwner is "true" for a service-owner user's token and
	// absent otherwise.
	HeaderServiceOwner = "X-Authd-Service-Owner"
)

// Subject types.
const (
	SubjectUser    = token.KindUser
	SubjectContact = token.KindContact
	SubjectClient  = token.KindClient
	SubjectAPIKey  = "api_key"
)

// TokenVerifier verifies bearer access tokens (token.Service).
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (token.Claims, error)
}

// KeyVerifier verifies API keys (apikey.Verifier: the one verification
// path, rate limit included).
type KeyVerifier interface {
	Verify(ctx context.Context, raw string) (apikey.Key, error)
}

// Rule denies (403) a valid credential that does not qualify for the
// paths under PathPrefix. Empty lists do not restrict.
type Rule struct {
	PathPrefix string
	Kinds      []string // subject types: user, contact, client, api_key
	Scopes     []string // every one required
	Modes      []string // live, test
	// Audiences admits a bearer token whose aud names one of them (API
	// keys have none, so a rule with audiences refuses them).
	Audiences []string
}

// Request is what the proxy forwarded.
type Request struct {
	// Authorization is the Authorization header ("Bearer <jwt>").
	Authorization string
	// APIKey is the api_key header.
	APIKey string
	// URI is the original request's path and query (X-Forwarded-Uri or
	// X-Original-URI); rules match its decoded, cleaned path.
	URI string
}

// Reason says why a request was refused (or Allowed).
type Reason int

// Reasons.
const (
	Allowed           Reason = iota
	NoCredentials            // 401: neither a bearer token nor an api_key
	InvalidToken             // 401: the bearer token is not valid (or revoked)
	ExpiredToken             // 401: the bearer token expired
	InvalidKey               // 401: the API key is not valid (never says why)
	RateLimited              // 429: the API key's own rate limit is spent
	InsufficientScope        // 403: a rule requires a scope the credential lacks
	DeniedKind               // 403: a rule does not admit this subject type
	DeniedMode               // 403: a rule does not admit this mode
	DeniedAudience           // 403: the token is not for a resource the rule admits
	UnknownURI               // 403: rules are configured but the original URI is missing or unreadable
)

// Decision is the answer for the proxy.
type Decision struct {
	Status int // 200, 401, 403 or 429
	Reason Reason
	// Identity of an allowed request.
	Subject      string
	SubjectType  string
	Organisation string
	Mode         string
	Scopes       []string
	ServiceOwner bool
	// Challenge is the WWW-Authenticate value of a 401.
	Challenge  string
	RetryAfter time.Duration
}

// Headers are the identity headers of an allowed request, every one of
// them: an empty value means the header must be absent (a proxy removes a
// copy the client sent).
func (d Decision) Headers() [][2]string {
	so := ""
	if d.ServiceOwner {
		so = "true"
	}
	return [][2]string{
		{HeaderSubject, d.Subject},
		{HeaderSubjectType, d.SubjectType},
		{HeaderOrganisation, d.Organisation},
		{HeaderMode, d.Mode},
		{HeaderScopes, strings.Join(d.Scopes, " ")},
		{HeaderServiceOwner, so},
	}
}

// Decider decides forward-auth requests.
type Decider struct {
	tokens TokenVerifier
	keys   KeyVerifier
	rules  []Rule
}

// New returns a Decider. rules are checked in order; the first whose
// prefix matches decides; no match admits any valid credential.
func New(tokens TokenVerifier, keys KeyVerifier, rules []Rule) *Decider {
	d := &Decider{tokens: tokens, keys: keys, rules: slices.Clone(rules)}
	for i, r := range d.rules {
		d.rules[i].PathPrefix = cleanPrefix(r.PathPrefix)
	}
	return d
}

// cleanPrefix cleans a rule's prefix as request paths are cleaned, keeping
// a trailing slash.
func cleanPrefix(p string) string {
	if p == "" {
		return ""
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

const (
	bearerChallenge  = `Bearer realm="authd"`
	invalidChallenge = `Bearer realm="authd", error="invalid_token"`
	expiredChallenge = `Bearer realm="authd", error="invalid_token", error_description="The access token expired"`
	keyChallenge     = `APIKey realm="authd", header="api_key"`
)

// subject is a verified credential.
type subject struct {
	Decision
	hasScope func(string) bool
	audience []string // a token's aud; none for an API key
}

// Decide verifies the request's credential and applies the rules. A bearer
// token is used when the Authorization header is a Bearer one, else the
// api_key header. The error is set only when a backend cannot answer.
func (d *Decider) Decide(ctx context.Context, r Request) (Decision, error) {
	var (
		s   subject
		dec Decision
		err error
	)
	if raw, ok := bearer(r.Authorization); ok {
		s, dec, err = d.verifyToken(ctx, raw)
	} else if r.APIKey != "" {
		s, dec, err = d.verifyKey(ctx, r.APIKey)
	} else {
		return Decision{Status: http.StatusUnauthorized, Reason: NoCredentials, Challenge: bearerChallenge + ", " + keyChallenge}, nil
	}
	if err != nil || dec.Status != 0 {
		return dec, err
	}
	if reason := d.check(s, r.URI); reason != Allowed {
		return Decision{Status: http.StatusForbidden, Reason: reason}, nil
	}
	s.Status, s.Reason = http.StatusOK, Allowed
	return s.Decision, nil
}

func (d *Decider) verifyToken(ctx context.Context, raw string) (subject, Decision, error) {
	c, err := d.tokens.Verify(ctx, raw)
	switch {
	case err == nil:
	case errors.Is(err, token.ErrExpired):
		return subject{}, Decision{Status: http.StatusUnauthorized, Reason: ExpiredToken, Challenge: expiredChallenge}, nil
	case errors.Is(err, token.ErrInvalid), errors.Is(err, token.ErrRevoked):
		return subject{}, Decision{Status: http.StatusUnauthorized, Reason: InvalidToken, Challenge: invalidChallenge}, nil
	default:
		return subject{}, Decision{}, err
	}
	scopes := c.Scopes()
	return subject{
		Decision: Decision{Subject: c.Subject, SubjectType: c.Kind, Organisation: c.Org, Mode: c.Mode, Scopes: scopes,
			ServiceOwner: c.ServiceOwner && c.Kind == token.KindUser},
		hasScope: func(s string) bool { return slices.Contains(scopes, s) },
		audience: c.Audience,
	}, Decision{}, nil
}

func (d *Decider) verifyKey(ctx context.Context, raw string) (subject, Decision, error) {
	k, err := d.keys.Verify(ctx, raw)
	var rl *apikey.RateLimitError
	switch {
	case err == nil:
	case errors.As(err, &rl):
		return subject{}, Decision{Status: http.StatusTooManyRequests, Reason: RateLimited, RetryAfter: rl.RetryAfter}, nil
	case errors.Is(err, apikey.ErrInvalid):
		return subject{}, Decision{Status: http.StatusUnauthorized, Reason: InvalidKey, Challenge: keyChallenge}, nil
	default:
		return subject{}, Decision{}, err
	}
	return subject{
		Decision: Decision{Subject: k.ID, SubjectType: SubjectAPIKey, Organisation: k.OrganisationID, Mode: string(k.Mode), Scopes: k.Scopes},
		hasScope: k.HasScope,
	}, Decision{}, nil
}

// check applies the first rule whose prefix matches the request's path.
func (d *Decider) check(s subject, uri string) Reason {
	if len(d.rules) == 0 {
		return Allowed
	}
	p, ok := cleanPath(uri)
	if !ok {
		return UnknownURI // fail closed: rules exist but cannot be applied
	}
	for _, r := range d.rules {
		// p+"/": a rule on "/admin/" also covers "/admin" itself.
		if !strings.HasPrefix(p+"/", r.PathPrefix) {
			continue
		}
		switch {
		case len(r.Kinds) > 0 && !slices.Contains(r.Kinds, s.SubjectType):
			return DeniedKind
		case len(r.Modes) > 0 && !slices.Contains(r.Modes, s.Mode):
			return DeniedMode
		case len(r.Audiences) > 0 && !slices.ContainsFunc(r.Audiences, func(a string) bool { return slices.Contains(s.audience, a) }):
			return DeniedAudience
		}
		for _, sc := range r.Scopes {
			if !s.hasScope(sc) {
				return InsufficientScope
			}
		}
		return Allowed
	}
	return Allowed
}

// cleanPath is the path the upstream will serve for uri: without query or
// fragment, percent-decoded once, backslashes as slashes, dot segments and
// repeated slashes resolved. So /public/../admin and /%61dmin match a rule
// on /admin.
func cleanPath(uri string) (string, bool) {
	if uri == "" {
		return "", false
	}
	if u, err := url.Parse(uri); err == nil && u.IsAbs() {
		uri = u.RequestURI()
	}
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	p, err := url.PathUnescape(uri)
	if err != nil || strings.ContainsRune(p, 0) {
		return "", false
	}
	p = strings.ReplaceAll(p, `\`, "/")
	return path.Clean("/" + p), true
}

func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}
