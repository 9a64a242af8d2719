package facebook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/authd/authd/internal/cache"
)

// ErrInvalidToken is the one "not a valid sign-in" answer: the token is
// forged, malformed, for another app, expired, revoked, not a user token,
// or (id tokens) carries the wrong nonce, issuer or audience. Callers
// answer 401 INVALID_FACEBOOK_TOKEN or invalid_grant.
var ErrInvalidToken = errors.New("facebook: invalid token")

// ErrUnavailable means Facebook gave no usable answer: it could not be
// reached, timed out, answered 5xx, throttled us, sent something
// unparsable, or refused our own app credentials. Callers answer 503.
// Errors wrapping it also wrap the cause (never a token or a URL).
var ErrUnavailable = errors.New("facebook: unavailable")

// Verifier checks a token a mobile app got from the Facebook SDK and
// returns the person's profile. Implementations are safe for concurrent
// use. Every error is ErrInvalidToken or ErrUnavailable (test with
// errors.Is).
type Verifier interface {
	// VerifyAccessToken checks a classic Graph user access token with
	// Graph (debug_token, then /me with appsecret_proof).
	VerifyAccessToken(ctx context.Context, token string) (Profile, error)
	// VerifyIDToken checks a Limited Login id token (a JWT signed by
	// Facebook, OpenID Connect Core 1.0 §3.1.3.7). nonce is compared to
	// the token's nonce claim when not empty.
	VerifyIDToken(ctx context.Context, idToken, nonce string) (Profile, error)
}

// Profile is what Facebook tells us about the person.
type Profile struct {
	// ID is the app-scoped Facebook user id.
	ID         string
	FirstName  string
	LastName   string
	Email      string // empty when not granted or not known
	PictureURL string // empty for the default silhouette
}

// Config configures a Client; it mirrors config.Facebook.
type Config struct {
	AppID     string
	AppSecret string
	// GraphURL is the Graph API base URL (https://graph.facebook.com).
	GraphURL string
	// GraphVersion prefixes Graph paths (v21.0); empty means none.
	GraphVersion string
	// LimitedLoginJWKSURL and LimitedLoginIssuer verify id tokens.
	LimitedLoginJWKSURL string
	LimitedLoginIssuer  string
	// Timeout bounds each verification (all its Graph calls together) and
	// each JWKS fetch; default 5s.
	Timeout time.Duration
	// CacheTTL is how long a verified access token's profile is reused
	// (never beyond the token's expiry); zero or less: not cached.
	CacheTTL time.Duration
	// InvalidTTL is how long a refused access token stays refused without
	// asking Graph again; zero means DefaultInvalidTTL, less than zero
	// not cached.
	InvalidTTL time.Duration
}

// Defaults used when Config leaves a duration at zero.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultInvalidTTL = 30 * time.Second
)

const (
	// maxTokenLen bounds an access token sent to Graph, maxIDTokenLen an
	// id token parsed as a JWT.
	maxTokenLen   = 4096
	maxIDTokenLen = 16384
	// idTokenLeeway absorbs clock skew on exp, nbf and iat.
	idTokenLeeway = 30 * time.Second
	// cacheOpTimeout bounds one shared-cache operation.
	cacheOpTimeout = time.Second
	// maxBody bounds what is read from Facebook.
	maxBody = 1 << 20
)

// Client is the Verifier that talks to Facebook. Create it with New.
type Client struct {
	cfg        Config
	graph      *url.URL // GraphURL + "/" + GraphVersion
	appToken   string   // APP_ID|APP_SECRET
	httpClient *http.Client
	cache      cache.Cache // nil: no answer cache
	now        func() time.Time
	logger     *slog.Logger

	flight singleflight.Group // access-token verifications by cache key
	keys   *keySet            // Limited Login JWKS
}

var _ Verifier = (*Client)(nil)

// New returns a Client. c may be nil (no shared answer cache: concurrent
// calls are still collapsed); httpClient nil means a default client (the
// Config.Timeout bounds every call either way); now nil means time.Now;
// logger nil discards.
//
// The client never follows redirects: a redirect would carry the tokens
// in the query string to another URL.
func New(cfg Config, c cache.Cache, httpClient *http.Client, now func() time.Time, logger *slog.Logger) (*Client, error) {
	if cfg.AppID == "" || cfg.AppSecret == "" {
		return nil, errors.New("facebook: app_id and app_secret are required")
	}
	if strings.Contains(cfg.AppID, "|") {
		return nil, errors.New("facebook: app_id must not contain '|'")
	}
	graph, err := absoluteURL(cfg.GraphURL)
	if err != nil {
		return nil, fmt.Errorf("facebook: graph_url: %w", err)
	}
	if v := cfg.GraphVersion; v != "" {
		if strings.ContainsAny(v, "/?#") {
			return nil, errors.New("facebook: graph_version must be a single path segment such as v21.0")
		}
		graph = graph.JoinPath(v)
	}
	if cfg.LimitedLoginJWKSURL == "" || cfg.LimitedLoginIssuer == "" {
		return nil, errors.New("facebook: limited_login_jwks_url and limited_login_issuer are required")
	}
	jwksURL, err := absoluteURL(cfg.LimitedLoginJWKSURL)
	if err != nil {
		return nil, fmt.Errorf("facebook: limited_login_jwks_url: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.InvalidTTL == 0 {
		cfg.InvalidTTL = DefaultInvalidTTL
	}
	var hc http.Client
	if httpClient != nil {
		hc = *httpClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cl := &Client{
		cfg:        cfg,
		graph:      graph,
		appToken:   cfg.AppID + "|" + cfg.AppSecret,
		httpClient: &hc,
		cache:      c,
		now:        now,
		logger:     logger,
	}
	cl.keys = newKeySet(jwksURL.String(), cl)
	return cl, nil
}

func absoluteURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must be an absolute http(s) URL without query")
	}
	return u, nil
}

// unavailable wraps cause in ErrUnavailable. cause must already be free of
// tokens and URLs (see transportError).
func unavailable(what string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: %s", ErrUnavailable, what)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, cause)
}

// invalid wraps ErrInvalidToken with a reason safe to log.
func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, reason)
}

// wellFormed is the local check every token passes before anything is
// sent: not empty, bounded, printable ASCII without spaces.
func wellFormed(token string, maxLen int) bool {
	if token == "" || len(token) > maxLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		if b := token[i]; b <= ' ' || b >= 0x7f {
			return false
		}
	}
	return true
}
