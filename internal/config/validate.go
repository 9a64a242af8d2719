package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// MinSystemSecretLen is the shortest accepted AUTHD_SECRETS_SYSTEM.
const MinSystemSecretLen = 32

// Validate checks every value in one pass and returns all failures as one
// error on one line, each naming its key.
func (c *Config) Validate() error {
	var errs []string
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}

	u, err := url.Parse(c.Issuer)
	check(err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "",
		"issuer (%q) must be an absolute http(s) URL without query or fragment", c.Issuer)
	check(strings.HasSuffix(c.Issuer, "/"), "issuer (%q) must not end with a slash", c.Issuer)

	check(!validAddr(c.HTTP.Addr), "http.addr (%q) must be host:port", c.HTTP.Addr)
	check(!validAddr(c.Admin.Addr), "admin.addr (%q) must be host:port", c.Admin.Addr)
	check(c.GRPC.Addr != "" && !validAddr(c.GRPC.Addr), "grpc.addr (%q) must be host:port, or empty for no gRPC listener", c.GRPC.Addr)
	check(c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxBodyBytes > 64<<20, "http.max_body_bytes (%d) must be between 1024 and 67108864 (64 MiB)", c.HTTP.MaxBodyBytes)
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"http.read_header_timeout", c.HTTP.ReadHeaderTimeout},
		{"http.read_timeout", c.HTTP.ReadTimeout},
		{"http.write_timeout", c.HTTP.WriteTimeout},
		{"http.idle_timeout", c.HTTP.IdleTimeout},
		{"http.shutdown_timeout", c.HTTP.ShutdownTimeout},
		{"tokens.access_token_ttl", c.Tokens.AccessTokenTTL},
		{"tokens.max_access_token_ttl", c.Tokens.MaxAccessTokenTTL},
		{"tokens.refresh_token_ttl", c.Tokens.RefreshTokenTTL},
		{"tokens.refresh_idle_ttl", c.Tokens.RefreshIdleTTL},
		{"keys.publish_ahead", c.Keys.PublishAhead},
		{"keys.jwks_max_age", c.Keys.JWKSMaxAge},
		{"keys.reload_interval", c.Keys.ReloadInterval},
	} {
		check(d.v <= 0, "%s (%s) must be positive", d.key, d.v)
	}
	check(c.HTTP.ShutdownDrain < 0 || c.HTTP.ShutdownDrain > time.Minute, "http.shutdown_drain (%s) must be between 0 and 1m", c.HTTP.ShutdownDrain)
	for _, cidr := range c.HTTP.TrustedProxies {
		_, _, err := net.ParseCIDR(cidr)
		check(err != nil && net.ParseIP(cidr) == nil, "http.trusted_proxies: %q is not an IP or CIDR", cidr)
	}

	scheme, _, _ := strings.Cut(c.Database.DSN, "://")
	check(scheme != "sqlite" && scheme != "postgres" && scheme != "postgresql",
		"database.dsn must start with sqlite:// or postgres:// (got scheme %q)", scheme)
	check(c.Database.MaxOpenConns < 1 || c.Database.MaxOpenConns > 1000, "database.max_open_conns (%d) must be between 1 and 1000", c.Database.MaxOpenConns)

	if c.Redis.URL != "" {
		ru, err := url.Parse(c.Redis.URL)
		check(err != nil || (ru.Scheme != "redis" && ru.Scheme != "rediss"),
			"redis.url must be a redis:// or rediss:// URL")
	}

	check(!c.Dev && c.Secrets.System == "", "secrets.system (AUTHD_SECRETS_SYSTEM) is required outside --dev")
	check(c.Secrets.System != "" && len(c.Secrets.System) < MinSystemSecretLen,
		"secrets.system (AUTHD_SECRETS_SYSTEM) must be at least %d characters", MinSystemSecretLen)

	check(c.Tokens.AccessTokenTTL > 24*time.Hour, "tokens.access_token_ttl (%s) must be at most 24h", c.Tokens.AccessTokenTTL)
	check(c.Tokens.MaxAccessTokenTTL > 24*time.Hour, "tokens.max_access_token_ttl (%s) must be at most 24h", c.Tokens.MaxAccessTokenTTL)
	check(c.Tokens.MaxAccessTokenTTL > 0 && c.Tokens.AccessTokenTTL > c.Tokens.MaxAccessTokenTTL,
		"tokens.access_token_ttl (%s) must not exceed tokens.max_access_token_ttl (%s)", c.Tokens.AccessTokenTTL, c.Tokens.MaxAccessTokenTTL)
	check(c.Tokens.RefreshIdleTTL > c.Tokens.RefreshTokenTTL,
		"tokens.refresh_idle_ttl (%s) must not exceed tokens.refresh_token_ttl (%s)", c.Tokens.RefreshIdleTTL, c.Tokens.RefreshTokenTTL)
	check(c.Tokens.RefreshReuseGrace < 0 || c.Tokens.RefreshReuseGrace > time.Minute,
		"tokens.refresh_reuse_grace (%s) must be between 0 and 1m", c.Tokens.RefreshReuseGrace)
	check(c.Tokens.VerifyCacheSize < 0 || c.Tokens.VerifyCacheSize > 10_000_000,
		"tokens.verify_cache_size (%d) must be between 0 (off) and 10000000", c.Tokens.VerifyCacheSize)
	check(c.Tokens.VerifyCacheBytes < 0 || c.Tokens.VerifyCacheBytes > 1<<30,
		"tokens.verify_cache_bytes (%d) must be between 0 (off) and 1073741824 (1 GiB)", c.Tokens.VerifyCacheBytes)

	switch c.Keys.Algorithm {
	case "ES256", "RS256", "EdDSA":
	default:
		check(true, "keys.algorithm (%q) must be ES256, RS256 or EdDSA", c.Keys.Algorithm)
	}
	check(c.Keys.RotationPeriod < 0, "keys.rotation_period (%s) must be 0 (manual) or positive", c.Keys.RotationPeriod)
	check(c.Keys.PublishAhead <= c.Keys.JWKSMaxAge+c.Keys.ReloadInterval,
		"keys.publish_ahead (%s) must exceed keys.jwks_max_age + keys.reload_interval (%s)", c.Keys.PublishAhead, c.Keys.JWKSMaxAge+c.Keys.ReloadInterval)
	check(c.Keys.RotationPeriod > 0 && c.Keys.RotationPeriod <= c.Keys.PublishAhead,
		"keys.rotation_period (%s) must exceed keys.publish_ahead (%s)", c.Keys.RotationPeriod, c.Keys.PublishAhead)

	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		check(true, "log.level (%q) must be debug, info, warn or error", c.Log.Level)
	}
	check(c.Log.Format != "json" && c.Log.Format != "text", "log.format (%q) must be json or text", c.Log.Format)
	switch c.Log.Requests {
	case "all", "sampled", "off":
	default:
		check(true, "log.requests (%q) must be all, sampled or off", c.Log.Requests)
	}
	check(c.Log.SampleEvery < 1 || c.Log.SampleEvery > 1_000_000, "log.sample_every (%d) must be between 1 and 1000000", c.Log.SampleEvery)
	check(c.HTTP.RequestTimeout < 100*time.Millisecond || c.HTTP.RequestTimeout > 5*time.Minute,
		"http.request_timeout (%s) must be between 100ms and 5m", c.HTTP.RequestTimeout)
	check(c.Revocation.PollInterval < 50*time.Millisecond || c.Revocation.PollInterval > time.Minute,
		"revocation.poll_interval (%s) must be between 50ms and 1m", c.Revocation.PollInterval)
	check(c.Revocation.ReadyMaxLag < 0 || c.Revocation.ReadyMaxLag > 0 && c.Revocation.ReadyMaxLag <= c.Revocation.PollInterval,
		"revocation.ready_max_lag (%s) must be 0 (off) or longer than revocation.poll_interval", c.Revocation.ReadyMaxLag)
	check(c.Database.QueryTimeout < 10*time.Millisecond || c.Database.QueryTimeout > time.Minute,
		"database.query_timeout (%s) must be between 10ms and 1m", c.Database.QueryTimeout)
	check(c.Database.StaleIfError < 0 || c.Database.StaleIfError > 24*time.Hour,
		"database.stale_if_error (%s) must be between 0 and 24h", c.Database.StaleIfError)
	check(c.Redis.OpTimeout < 10*time.Millisecond || c.Redis.OpTimeout > time.Minute,
		"redis.op_timeout (%s) must be between 10ms and 1m", c.Redis.OpTimeout)

	switch c.OTP.Sender {
	case "log", "webhook", "smtp", "twilio":
	default:
		check(true, "otp.sender (%q) must be log, webhook, smtp or twilio", c.OTP.Sender)
	}
	if c.OTP.Sender == "webhook" {
		wu, err := url.Parse(c.OTP.WebhookURL)
		check(err != nil || (wu.Scheme != "http" && wu.Scheme != "https") || wu.Host == "",
			"otp.webhook_url (AUTHD_OTP_WEBHOOK_URL) must be an http(s) URL when otp.sender is webhook")
	}

	check(c.OTP.CodeLength < 4 || c.OTP.CodeLength > 10, "otp.code_length (%d) must be between 4 and 10", c.OTP.CodeLength)
	check(c.OTP.TTL < 30*time.Second || c.OTP.TTL > time.Hour, "otp.ttl (%s) must be between 30s and 1h", c.OTP.TTL)
	check(c.OTP.MaxAttempts < 1 || c.OTP.MaxAttempts > 20, "otp.max_attempts (%d) must be between 1 and 20", c.OTP.MaxAttempts)
	check(c.OTP.ResendCooldown < 0, "otp.resend_cooldown (%s) must not be negative", c.OTP.ResendCooldown)
	check(c.OTP.SendTimeout <= 0 || c.OTP.SendTimeout > 30*time.Second, "otp.send_timeout (%s) must be between 0 and 30s", c.OTP.SendTimeout)
	check(c.OTP.PerIdentifierPerHour < 1, "otp.per_identifier_per_hour (%d) must be at least 1", c.OTP.PerIdentifierPerHour)
	check(c.OTP.PerIPPerHour < 1, "otp.per_ip_per_hour (%d) must be at least 1", c.OTP.PerIPPerHour)
	check(c.OTP.PerAPIKeyPerMinute < 1, "otp.per_api_key_per_minute (%d) must be at least 1", c.OTP.PerAPIKeyPerMinute)
	check(c.OTP.Integrations.CacheTTL < time.Second || c.OTP.Integrations.CacheTTL > 10*time.Minute,
		"otp.integrations.cache_ttl (%s) must be between 1s and 10m", c.OTP.Integrations.CacheTTL)
	check(c.OTP.Integrations.TestsPerHour < 1 || c.OTP.Integrations.TestsPerHour > 1000,
		"otp.integrations.tests_per_hour (%d) must be between 1 and 1000", c.OTP.Integrations.TestsPerHour)
	check(c.OTP.SMSBudgetPerBusinessPerHour < 0, "otp.sms_budget_per_business_per_hour (%d) must not be negative", c.OTP.SMSBudgetPerBusinessPerHour)
	for _, r := range c.OTP.SMSCountries {
		check(len(r) != 2 || strings.ToUpper(r) != r, "otp.sms_countries: %q is not an upper-case ISO 3166 alpha-2 code", r)
	}
	if c.OTP.Sender == "smtp" {
		check(c.OTP.SMTP.Host == "" || c.OTP.SMTP.From == "", "otp.smtp.host and otp.smtp.from are required when otp.sender is smtp")
	}
	check(c.OTP.SMTP.TLS != "starttls" && c.OTP.SMTP.TLS != "tls" && c.OTP.SMTP.TLS != "none", "otp.smtp.tls (%q) must be starttls, tls or none", c.OTP.SMTP.TLS)
	check(c.OTP.SMTP.Port < 0 || c.OTP.SMTP.Port > 65535, "otp.smtp.port (%d) must be a TCP port, or 0 for the TLS mode's (587 for starttls and none, 465 for tls)", c.OTP.SMTP.Port)
	if c.OTP.Sender == "twilio" {
		check(c.OTP.Twilio.AccountSID == "" || c.OTP.Twilio.AuthToken == "" || (c.OTP.Twilio.From == "" && c.OTP.Twilio.MessagingServiceSID == ""),
			"otp.twilio.account_sid, otp.twilio.auth_token and otp.twilio.from (or messaging_service_sid) are required when otp.sender is twilio")
	}
	tu, err := url.Parse(c.OTP.Twilio.BaseURL)
	plainLoopback := tu != nil && tu.Scheme == "http" && loopback(tu.Hostname())
	check(err != nil || (tu.Scheme != "https" && !plainLoopback) || tu.Host == "",
		"otp.twilio.base_url (%q) must be an https URL (http only to a loopback address: the account's auth token is sent with every message)", c.OTP.Twilio.BaseURL)
	for k := range c.OTP.Templates {
		ch, purpose, ok := strings.Cut(k, ".")
		check(!ok || (ch != "sms" && ch != "email") || purpose == "", "otp.templates: key %q must be sms.<purpose> or email.<purpose>", k)
	}

	gu, err := url.Parse(c.Facebook.GraphURL)
	check(err != nil || (gu.Scheme != "http" && gu.Scheme != "https") || gu.Host == "",
		"facebook.graph_url (%q) must be an http(s) URL", c.Facebook.GraphURL)
	ju, err := url.Parse(c.Facebook.LimitedLoginJWKSURL)
	check(err != nil || (ju.Scheme != "http" && ju.Scheme != "https") || ju.Host == "",
		"facebook.limited_login_jwks_url (%q) must be an http(s) URL", c.Facebook.LimitedLoginJWKSURL)
	check(c.Facebook.LimitedLoginIssuer == "", "facebook.limited_login_issuer must not be empty")
	check(!strings.HasPrefix(c.Facebook.GraphVersion, "v"), "facebook.graph_version (%q) must look like v21.0", c.Facebook.GraphVersion)
	check(c.Facebook.Timeout <= 0 || c.Facebook.Timeout > 30*time.Second, "facebook.timeout (%s) must be between 0 and 30s", c.Facebook.Timeout)
	check(c.Facebook.CacheTTL < 0 || c.Facebook.CacheTTL > time.Hour, "facebook.cache_ttl (%s) must be between 0 and 1h", c.Facebook.CacheTTL)
	check((c.Facebook.AppID == "") != (c.Facebook.AppSecret == ""),
		"facebook.app_id and facebook.app_secret must be set together")

	check(c.Passwords.MinLength < 8 || c.Passwords.MinLength > 128, "passwords.min_length (%d) must be between 8 and 128", c.Passwords.MinLength)
	// The upper bounds are what the verifier accepts in a stored hash
	// (internal/password): a hash it would refuse must never be written.
	check(c.Passwords.MemoryKiB < 8*1024 || c.Passwords.MemoryKiB > 4*1024*1024, "passwords.memory_kib (%d) must be between 8192 and 4194304 (4 GiB)", c.Passwords.MemoryKiB)
	check(c.Passwords.Iterations < 1 || c.Passwords.Iterations > 100, "passwords.iterations (%d) must be between 1 and 100", c.Passwords.Iterations)
	check(c.Passwords.Parallelism < 1 || c.Passwords.Parallelism > 64, "passwords.parallelism (%d) must be between 1 and 64", c.Passwords.Parallelism)
	check(c.RateLimits.PasswordPerAccountPerHour < 1, "rate_limits.password_per_account_per_hour (%d) must be at least 1", c.RateLimits.PasswordPerAccountPerHour)
	check(c.RateLimits.PasswordPerIPPerMinute < 1, "rate_limits.password_per_ip_per_minute (%d) must be at least 1", c.RateLimits.PasswordPerIPPerMinute)
	check(c.RateLimits.SignupPerIPPerHour < 1, "rate_limits.signup_per_ip_per_hour (%d) must be at least 1", c.RateLimits.SignupPerIPPerHour)
	check(c.RateLimits.SignupPerAPIKeyPerHour < 1, "rate_limits.signup_per_api_key_per_hour (%d) must be at least 1", c.RateLimits.SignupPerAPIKeyPerHour)
	check(c.RateLimits.SignupPerEmailPerHour < 1, "rate_limits.signup_per_email_per_hour (%d) must be at least 1", c.RateLimits.SignupPerEmailPerHour)
	check(c.APIKeys.CacheSize < 1 || c.APIKeys.CacheSize > 10_000_000, "api_keys.cache_size (%d) must be between 1 and 10000000", c.APIKeys.CacheSize)
	check(c.APIKeys.CacheTTL <= 0 || c.APIKeys.CacheTTL > 5*time.Minute, "api_keys.cache_ttl (%s) must be between 0 and 5m", c.APIKeys.CacheTTL)
	check(c.APIKeys.LastUsedFlush <= 0, "api_keys.last_used_flush (%s) must be positive", c.APIKeys.LastUsedFlush)
	for i, sc := range c.APIKeys.Scopes {
		check(sc.Name == "", "api_keys.scopes[%d].name is required", i)
		for _, kt := range sc.KeyTypes {
			check(kt != "public" && kt != "secret", "api_keys.scopes[%d].key_types: %q must be public or secret", i, kt)
		}
	}
	check(!validHeaderName(c.ForwardAuth.URIHeader), "forward_auth.uri_header (%q) must be a header name, e.g. X-Original-URI (nginx) or X-Forwarded-Uri (Traefik)", c.ForwardAuth.URIHeader)
	for i, r := range c.ForwardAuth.Rules {
		check(!strings.HasPrefix(r.PathPrefix, "/"), "forward_auth.rules[%d].path_prefix (%q) must start with /", i, r.PathPrefix)
		for _, k := range r.Kinds {
			check(k != "user" && k != "contact" && k != "api_key" && k != "client", "forward_auth.rules[%d].kinds: %q is not user, contact, api_key or client", i, k)
		}
		for _, m := range r.Modes {
			check(m != "live" && m != "test", "forward_auth.rules[%d].modes: %q is not live or test", i, m)
		}
	}

	if len(errs) == 0 {
		return nil
	}
	return errors.New("invalid configuration: " + strings.Join(errs, "; "))
}

func validAddr(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port != ""
}

// validHeaderName reports whether s is an HTTP header name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// loopback reports whether host is a loopback name or address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
