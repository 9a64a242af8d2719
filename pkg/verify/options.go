package verify

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of the options.
const (
	// DefaultLeeway is the clock skew allowed on exp and nbf.
	DefaultLeeway = 30 * time.Second
	// DefaultCacheSize is how many verified tokens are remembered.
	DefaultCacheSize = 10000
)

// Option configures New.
type Option func(*config)

type config struct {
	audience     string
	client       *http.Client
	leeway       time.Duration
	now          func() time.Time
	cacheSize    int
	feedID       string
	feedSecret   string
	feed         bool
	logger       *slog.Logger
	minBackoff   time.Duration
	maxBackoff   time.Duration
	feedIdle     time.Duration
	kidRefetch   time.Duration
	afterEvent   func(event string)
	httpDeadline time.Duration
}

func defaults() config {
	return config{
		leeway:       DefaultLeeway,
		now:          time.Now,
		cacheSize:    DefaultCacheSize,
		minBackoff:   100 * time.Millisecond,
		maxBackoff:   30 * time.Second,
		feedIdle:     time.Minute,
		kidRefetch:   10 * time.Second,
		httpDeadline: 10 * time.Second,
	}
}

// WithAudience names this service: tokens whose aud does not contain aud
// are refused with ErrAudience. It is required.
//
// authd puts its issuer URL in aud unless the client asked for one of
// the audiences registered for it (audience=, or RFC 8707 resource=) or
// the operator set tokens.default_audience, so a service that accepts
// authd's default tokens uses WithAudience(issuer); a service with an
// audience of its own (for example "https://orders.example.com",
// registered on the clients that call it) refuses tokens minted for every
// other service.
func WithAudience(aud string) Option {
	return func(c *config) { c.audience = aud }
}

// WithHTTPClient sets the client for discovery, the JWKS and the
// revocation feed (default: a client over http.DefaultTransport). Each
// request has its own deadline, and the feed's long-lived stream ignores
// the client's Timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.client = hc }
}

// WithLeeway sets the clock skew allowed on exp and nbf (default 30s).
func WithLeeway(d time.Duration) Option {
	return func(c *config) { c.leeway = max(d, 0) }
}

// WithClock sets the clock used for exp, nbf, cache freshness, the
// unknown-kid refetch rate and revocation expiry (default time.Now); for
// tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithCacheSize bounds the verified-token cache to n tokens (default
// 10000); 0 turns the cache off, so every Verify checks the signature.
func WithCacheSize(n int) Option {
	return func(c *config) { c.cacheSize = max(n, 0) }
}

// WithRevocationFeed follows authd's revocation feed as the confidential
// client clientID (it needs the permission revocations:read; the
// bootstrap's introspection client holds it). Verify then refuses revoked
// tokens with ErrRevoked within moments of their revocation, cached or
// not. Without this option a revoked token stays valid here until its
// exp.
func WithRevocationFeed(clientID, clientSecret string) Option {
	return func(c *config) { c.feed, c.feedID, c.feedSecret = true, clientID, clientSecret }
}

// WithLogger sets where the verifier reports JWKS refresh failures and
// the feed's state (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}
