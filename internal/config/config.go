package config

import (
	"time"
)

// Config is authd's whole configuration.
type Config struct {
	// Issuer is the issuer URL, also the base of discovery.
	Issuer string `koanf:"issuer"`
	// DataDir holds the embedded database and, in --dev, the generated
	// system secret.
	DataDir string `koanf:"data_dir"`
	// Dev relaxes the secret requirement and bootstraps a demo network.
	// Set by `serve --dev`, not by the file.
	Dev bool `koanf:"-"`

	HTTP     HTTP     `koanf:"http"`
	Admin    Admin    `koanf:"admin"`
	GRPC     GRPC     `koanf:"grpc"`
	Database Database `koanf:"database"`
	Redis    Redis    `koanf:"redis"`
	Secrets  Secrets  `koanf:"secrets"`
	Tokens   Tokens   `koanf:"tokens"`
	Keys     Keys     `koanf:"keys"`
	Log      Log      `koanf:"log"`
	OTP      OTP      `koanf:"otp"`
	Facebook Facebook `koanf:"facebook"`

	Passwords   Passwords   `koanf:"passwords"`
	RateLimits  RateLimits  `koanf:"rate_limits"`
	APIKeys     APIKeys     `koanf:"api_keys"`
	ForwardAuth ForwardAuth `koanf:"forward_auth"`
	Revocation  Revocation  `koanf:"revocation"`
}

// Revocation tunes how replicas follow the durable revocation log.
type Revocation struct {
	// PollInterval is how often each replica reads the log after its
	// cursor: the most a lost pub/sub message (a Redis flush, restart or
	// failover) delays a revocation on another replica.
	PollInterval time.Duration `koanf:"poll_interval"`
	// ReadyMaxLag, when positive, makes /readyz fail while the replica
	// has not read the log for this long (it cannot reach the database).
	// 0: a database outage never makes replicas unready (they verify from
	// the revocations they hold, and nothing can be revoked meanwhile).
	ReadyMaxLag time.Duration `koanf:"ready_max_lag"`
}

// Passwords configures password hashing (argon2id) and policy.
type Passwords struct {
	MinLength   int    `koanf:"min_length"`
	MemoryKiB   uint32 `koanf:"memory_kib"`
	Iterations  uint32 `koanf:"iterations"`
	Parallelism uint8  `koanf:"parallelism"`
}

// RateLimits bounds credential checks, per account and per client IP,
// and organisation sign-ups, per client IP, API key and owner email.
type RateLimits struct {
	PasswordPerAccountPerHour int `koanf:"password_per_account_per_hour"`
	PasswordPerIPPerMinute    int `koanf:"password_per_ip_per_minute"`
	SignupPerIPPerHour        int `koanf:"signup_per_ip_per_hour"`
	SignupPerAPIKeyPerHour    int `koanf:"signup_per_api_key_per_hour"`
	SignupPerEmailPerHour     int `koanf:"signup_per_email_per_hour"`
}

// APIKeys tunes API-key verification.
type APIKeys struct {
	// CacheSize bounds the in-process cache of verified keys.
	CacheSize int `koanf:"cache_size"`
	// CacheTTL is how long a verified key is trusted in-process without
	// asking Redis or SQL again (revocations arrive faster, by pub/sub).
	CacheTTL time.Duration `koanf:"cache_ttl"`
	// LastUsedFlush is how often last-used times are written, in batches.
	LastUsedFlush time.Duration `koanf:"last_used_flush"`
	// Scopes adds the CRM's own scopes to the built-in catalogue.
	Scopes []APIKeyScope `koanf:"scopes"`
}

// APIKeyScope is a scope the CRM's own endpoints check.
type APIKeyScope struct {
	Name        string `koanf:"name"`
	Description string `koanf:"description"`
	// KeyTypes may hold it: [secret] (default) or [public, secret].
	KeyTypes []string `koanf:"key_types"`
}

// ForwardAuth configures the /forward-auth endpoint's rules.
type ForwardAuth struct {
	// URIHeader is the one header the proxy sets to the original request's
	// URI: X-Original-URI for nginx (proxy_set_header), X-Forwarded-Uri for
	// Traefik or Caddy. Only it is read: a header the proxy does not set
	// passes through from the client, who could then choose the path the
	// rules are checked against.
	URIHeader string `koanf:"uri_header"`
	// Rules are checked in order against the original request's path
	// (from URIHeader); the first whose prefix matches decides. No match:
	// any valid credential is allowed.
	Rules []ForwardAuthRule `koanf:"rules"`
}

// ForwardAuthRule denies (403) a valid credential that does not qualify.
type ForwardAuthRule struct {
	PathPrefix string   `koanf:"path_prefix"`
	Kinds      []string `koanf:"kinds"`  // user, contact, api_key, client; empty: any
	Scopes     []string `koanf:"scopes"` // all required; empty: none
	Modes      []string `koanf:"modes"`  // live, test; empty: any
	// Audiences admit bearer tokens whose aud names one of them; empty:
	// any. API keys carry no audience: a rule with audiences refuses them.
	Audiences []string `koanf:"audiences"`
}

// HTTP configures the public listener.
type HTTP struct {
	Addr              string        `koanf:"addr"`
	MaxBodyBytes      int64         `koanf:"max_body_bytes"`
	ReadHeaderTimeout time.Duration `koanf:"read_header_timeout"`
	ReadTimeout       time.Duration `koanf:"read_timeout"`
	WriteTimeout      time.Duration `koanf:"write_timeout"`
	IdleTimeout       time.Duration `koanf:"idle_timeout"`
	ShutdownTimeout   time.Duration `koanf:"shutdown_timeout"`
	// ShutdownDrain is how long /readyz answers 503 after SIGTERM before
	// the listeners close, so load balancers stop sending traffic first.
	ShutdownDrain time.Duration `koanf:"shutdown_drain"`
	// RequestTimeout is the deadline of each request's work (its database
	// and Redis calls): a hung backend makes a request fail, not wait.
	RequestTimeout time.Duration `koanf:"request_timeout"`
	// TrustedProxies lists the CIDRs whose X-Forwarded-For is believed
	// when deciding a client's IP (rate limits, audit). Empty: none.
	TrustedProxies []string `koanf:"trusted_proxies"`
}

// Admin configures the health, readiness and metrics listener.
type Admin struct {
	Addr string `koanf:"addr"`
}

// GRPC configures the optional gRPC listener: Envoy's ext_authz
// (envoy.service.auth.v3.Authorization/Check) and gRPC health.
type GRPC struct {
	// Addr is host:port (AUTHD_GRPC_ADDR); empty: no gRPC listener.
	Addr string `koanf:"addr"`
}

// Database selects and tunes the SQL store.
type Database struct {
	DSN          string `koanf:"dsn"`
	MaxOpenConns int    `koanf:"max_open_conns"`
	// QueryTimeout bounds the reads verification makes on a cache miss
	// (a client, a user's rights, an API key).
	QueryTimeout time.Duration `koanf:"query_timeout"`
	// StaleIfError is how long the last good answer of such a read is
	// still used while the database fails.
	StaleIfError time.Duration `koanf:"stale_if_error"`
}

// Redis selects the shared-state backend; an empty URL means in-process.
type Redis struct {
	URL       string `koanf:"url"`
	KeyPrefix string `koanf:"key_prefix"`
	// OpTimeout bounds every Redis call (a hung Redis answers errors
	// within it, not after the client's defaults).
	OpTimeout time.Duration `koanf:"op_timeout"`
}

// Secrets holds the system secret every derived key comes from.
type Secrets struct {
	System string `koanf:"system"`
}

// Tokens sets token lifetimes.
type Tokens struct {
	// AccessTokenTTL is the lifetime of access tokens whose client sets
	// none of its own.
	AccessTokenTTL time.Duration `koanf:"access_token_ttl"`
	// MaxAccessTokenTTL is the longest access-token lifetime a client may
	// be given (its access_token_ttl). Revocations that cover every access
	// token of a session, user or client stay in force this long, and a
	// retired signing key stays published this long after it last
	// signed, so no token outlives either.
	MaxAccessTokenTTL time.Duration `koanf:"max_access_token_ttl"`
	// RefreshTokenTTL is the absolute lifetime of a refresh-token family,
	// and the longest a client's own refresh lifetimes may be.
	RefreshTokenTTL time.Duration `koanf:"refresh_token_ttl"`
	// RefreshIdleTTL ends a family not used for this long.
	RefreshIdleTTL time.Duration `koanf:"refresh_idle_ttl"`
	// RefreshReuseGrace is how long the immediate parent of a rotated
	// refresh token may be redeemed again (lost responses on mobile).
	RefreshReuseGrace time.Duration `koanf:"refresh_reuse_grace"`
	// DefaultAudience is the aud of access tokens whose client asked for
	// none; empty: the issuer. A client may ask (audience, or RFC 8707
	// resource) for any of its registered audiences instead.
	DefaultAudience []string `koanf:"default_audience"`
	// VerifyCacheSize bounds the in-process cache of verified access
	// tokens (entries; 0: off). A hit skips the signature check only:
	// exp, revocations and the subject's rights are checked every time.
	VerifyCacheSize int `koanf:"verify_cache_size"`
	// VerifyCacheBytes bounds the same cache's memory (claims and
	// per-entry overhead, in bytes).
	VerifyCacheBytes int64 `koanf:"verify_cache_bytes"`
}

// Keys configures JWS signing keys and their rotation.
type Keys struct {
	Algorithm      string        `koanf:"algorithm"`
	RotationPeriod time.Duration `koanf:"rotation_period"`
	PublishAhead   time.Duration `koanf:"publish_ahead"`
	JWKSMaxAge     time.Duration `koanf:"jwks_max_age"`
	ReloadInterval time.Duration `koanf:"reload_interval"`
}

// Log configures structured logging.
type Log struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
	// Requests chooses which successful (2xx/3xx) requests are logged:
	// all, sampled (one in SampleEvery) or off. Refusals (4xx) and
	// errors (5xx) are always logged.
	Requests    string `koanf:"requests"`
	SampleEvery int    `koanf:"sample_every"`
}

// OTP configures one-time codes and their delivery.
type OTP struct {
	Sender     string `koanf:"sender"`
	WebhookURL string `koanf:"webhook_url"`
	// WebhookSecret keys the X-Authd-Signature HMAC of webhook bodies;
	// empty: derived from the system secret (shown by `authd otp
	// webhook-secret`).
	WebhookSecret string `koanf:"webhook_secret"`

	CodeLength     int           `koanf:"code_length"`
	TTL            time.Duration `koanf:"ttl"`
	MaxAttempts    int           `koanf:"max_attempts"`
	ResendCooldown time.Duration `koanf:"resend_cooldown"`
	// SendTimeout bounds how long a request waits for delivery.
	SendTimeout time.Duration `koanf:"send_timeout"`

	PerIdentifierPerHour int `koanf:"per_identifier_per_hour"`
	PerIPPerHour         int `koanf:"per_ip_per_hour"`
	PerAPIKeyPerMinute   int `koanf:"per_api_key_per_minute"`
	// SMSBudgetPerBusinessPerHour caps SMS sent for one business (SMS
	// pumping); 0: no cap.
	SMSBudgetPerBusinessPerHour int `koanf:"sms_budget_per_business_per_hour"`
	// SMSCountries lists the ISO 3166 alpha-2 regions SMS may go to;
	// empty: any.
	SMSCountries []string `koanf:"sms_countries"`

	SMTP   SMTP   `koanf:"smtp"`
	Twilio Twilio `koanf:"twilio"`
	// Templates override the message texts, keyed "<channel>.<purpose>"
	// (sms.signin, email.register, ...); {{.Code}} and {{.Minutes}} are
	// replaced. For email the first line is the subject.
	Templates map[string]string `koanf:"templates"`

	// Integrations tunes the businesses' own senders
	// (/backoffice/v1/integrations/otp).
	Integrations OTPIntegrations `koanf:"integrations"`
}

// OTPIntegrations tunes the senders businesses configure themselves.
type OTPIntegrations struct {
	// AllowPrivateNetworks lets a business's webhook or SMTP relay be at
	// a loopback, private or link-local address, and a webhook at
	// http://loopback. Off (the default), they are reached at public
	// addresses only, over https, checked on every connection: a business
	// must not make authd call the internal network. For tests and closed
	// networks.
	AllowPrivateNetworks bool `koanf:"allow_private_networks"`
	// CacheTTL is how long a replica uses its copy of a business's
	// configuration should a change's pub/sub message be lost.
	CacheTTL time.Duration `koanf:"cache_ttl"`
	// TestsPerHour bounds the test messages per business and mode.
	TestsPerHour int `koanf:"tests_per_hour"`
}

// SMTP configures the smtp OTP sender.
type SMTP struct {
	Host     string `koanf:"host"`
	Port     int    `koanf:"port"`
	Username string `koanf:"username"`
	Password string `koanf:"password"`
	From     string `koanf:"from"`
	// TLS: "starttls" (required, default), "tls" (implicit, port 465)
	// or "none" (local relays only).
	TLS string `koanf:"tls"`
}

// Twilio configures the twilio OTP sender (Messages API).
type Twilio struct {
	AccountSID string `koanf:"account_sid"`
	AuthToken  string `koanf:"auth_token"`
	From       string `koanf:"from"`
	// MessagingServiceSID may replace From.
	MessagingServiceSID string `koanf:"messaging_service_sid"`
	BaseURL             string `koanf:"base_url"`
}

// Facebook configures the Facebook app used to verify sign-ins.
type Facebook struct {
	AppID     string `koanf:"app_id"`
	AppSecret string `koanf:"app_secret"`
	GraphURL  string `koanf:"graph_url"`
	// GraphVersion prefixes Graph API paths (e.g. v21.0).
	GraphVersion string `koanf:"graph_version"`
	// LimitedLoginJWKSURL and LimitedLoginIssuer verify iOS Limited Login
	// id tokens.
	LimitedLoginJWKSURL string `koanf:"limited_login_jwks_url"`
	LimitedLoginIssuer  string `koanf:"limited_login_issuer"`
	// AutoRegister creates a contact on a first Facebook sign-in.
	AutoRegister bool `koanf:"auto_register"`
	// Timeout bounds each call to Facebook.
	Timeout time.Duration `koanf:"timeout"`
	// CacheTTL is how long a verified Facebook token's answer is reused
	// (keyed by the token's hash, never the token).
	CacheTTL time.Duration `koanf:"cache_ttl"`
}

// Default returns the configuration used when nothing overrides it.
func Default() Config {
	return Config{
		Issuer:  "http://localhost:8080",
		DataDir: "./data",
		HTTP: HTTP{
			Addr:              ":8080",
			MaxBodyBytes:      1 << 20,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   20 * time.Second,
			RequestTimeout:    10 * time.Second,
			TrustedProxies:    []string{},
		},
		Admin:    Admin{Addr: ":9090"},
		Database: Database{DSN: "sqlite://./data/authd.db", MaxOpenConns: 20, QueryTimeout: time.Second, StaleIfError: 5 * time.Minute},
		Redis:    Redis{KeyPrefix: "authd:", OpTimeout: 250 * time.Millisecond},
		Tokens: Tokens{
			AccessTokenTTL:    15 * time.Minute,
			MaxAccessTokenTTL: 24 * time.Hour,
			RefreshTokenTTL:   30 * 24 * time.Hour,
			RefreshIdleTTL:    7 * 24 * time.Hour,
			RefreshReuseGrace: 10 * time.Second,
			DefaultAudience:   []string{},
			VerifyCacheSize:   10000,
			VerifyCacheBytes:  8 << 20,
		},
		Keys: Keys{
			Algorithm:      "ES256",
			RotationPeriod: 30 * 24 * time.Hour,
			PublishAhead:   time.Hour,
			JWKSMaxAge:     5 * time.Minute,
			ReloadInterval: time.Minute,
		},
		Passwords: Passwords{MinLength: 10, MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1},
		RateLimits: RateLimits{PasswordPerAccountPerHour: 20, PasswordPerIPPerMinute: 30,
			SignupPerIPPerHour: 10, SignupPerAPIKeyPerHour: 200, SignupPerEmailPerHour: 3},
		APIKeys:     APIKeys{CacheSize: 10000, CacheTTL: 30 * time.Second, LastUsedFlush: 10 * time.Second, Scopes: []APIKeyScope{}},
		ForwardAuth: ForwardAuth{URIHeader: "X-Original-URI", Rules: []ForwardAuthRule{}},
		Log:         Log{Level: "info", Format: "json", Requests: "sampled", SampleEvery: 100},
		Revocation:  Revocation{PollInterval: 500 * time.Millisecond},
		OTP: OTP{Sender: "log", CodeLength: 6, TTL: 5 * time.Minute, MaxAttempts: 5, ResendCooldown: 30 * time.Second,
			SendTimeout: 5 * time.Second, PerIdentifierPerHour: 10, PerIPPerHour: 30, PerAPIKeyPerMinute: 120,
			SMSBudgetPerBusinessPerHour: 1000, SMSCountries: []string{},
			SMTP:         SMTP{Port: 0, TLS: "starttls"},
			Twilio:       Twilio{BaseURL: "https://api.twilio.com"},
			Templates:    map[string]string{},
			Integrations: OTPIntegrations{CacheTTL: 30 * time.Second, TestsPerHour: 10}},
		Facebook: Facebook{GraphURL: "https://graph.facebook.com", GraphVersion: "v21.0",
			LimitedLoginJWKSURL: "https://limited.facebook.com/.well-known/oauth/openid/jwks/",
			LimitedLoginIssuer:  "https://www.facebook.com", AutoRegister: true, Timeout: 5 * time.Second, CacheTTL: time.Minute},
	}
}
