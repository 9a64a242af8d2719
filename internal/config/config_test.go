package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const goodSecret = "0123456789abcdef0123456789abcdef"

func environ(kv ...string) func() []string {
	return func() []string { return kv }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "authd.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsNeedOnlyASecret(t *testing.T) {
	cfg, err := Load(Options{Path: writeFile(t, ""), Environ: environ("AUTHD_SECRETS_SYSTEM=" + goodSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults + secret invalid: %v", err)
	}
	want := Default()
	want.Secrets.System = goodSecret
	if !reflect.DeepEqual(*cfg, want) {
		t.Fatalf("loaded %+v\nwant %+v", *cfg, want)
	}
}

func TestContractEnvironmentNames(t *testing.T) {
	env := environ(
		"AUTHD_ISSUER=https://auth.example.com",
		"AUTHD_HTTP_ADDR=127.0.0.1:8081",
		"AUTHD_ADMIN_ADDR=127.0.0.1:9091",
		"AUTHD_DATABASE_DSN=postgres://u:p@db/authd",
		"AUTHD_REDIS_URL=redis://127.0.0.1:6379/0",
		"AUTHD_SECRETS_SYSTEM="+goodSecret,
		"AUTHD_OTP_SENDER=webhook",
		"AUTHD_OTP_WEBHOOK_URL=https://hooks.example.com/otp",
		"AUTHD_FACEBOOK_APP_ID=123",
		"AUTHD_FACEBOOK_APP_SECRET=shh",
		"AUTHD_FACEBOOK_GRAPH_URL=http://127.0.0.1:9999",
		"AUTHD_TOKENS_ACCESS_TOKEN_TTL=10m",
		"AUTHD_HTTP_TRUSTED_PROXIES=10.0.0.0/8, 127.0.0.1",
		"AUTHD_PORT=tcp://10.0.0.1:8080", // injected by Kubernetes: ignored
		"PATH=/usr/bin",
	)
	cfg, err := Load(Options{Path: writeFile(t, "issuer: https://from-file.example.com\n"), Environ: env})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"issuer":   cfg.Issuer,
		"http":     cfg.HTTP.Addr,
		"admin":    cfg.Admin.Addr,
		"dsn":      cfg.Database.DSN,
		"redis":    cfg.Redis.URL,
		"secret":   cfg.Secrets.System,
		"sender":   cfg.OTP.Sender,
		"webhook":  cfg.OTP.WebhookURL,
		"fbid":     cfg.Facebook.AppID,
		"fbsecret": cfg.Facebook.AppSecret,
		"graph":    cfg.Facebook.GraphURL,
		"ttl":      cfg.Tokens.AccessTokenTTL,
		"proxies":  cfg.HTTP.TrustedProxies,
	}
	want := map[string]any{
		"issuer":   "https://auth.example.com",
		"http":     "127.0.0.1:8081",
		"admin":    "127.0.0.1:9091",
		"dsn":      "postgres://u:p@db/authd",
		"redis":    "redis://127.0.0.1:6379/0",
		"secret":   goodSecret,
		"sender":   "webhook",
		"webhook":  "https://hooks.example.com/otp",
		"fbid":     "123",
		"fbsecret": "shh",
		"graph":    "http://127.0.0.1:9999",
		"ttl":      10 * time.Minute,
		"proxies":  []string{"10.0.0.0/8", "127.0.0.1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

func TestFileOverridesDefaultsAndEnvOverridesFile(t *testing.T) {
	p := writeFile(t, "http:\n  addr: \":7000\"\nkeys:\n  algorithm: EdDSA\n")
	cfg, err := Load(Options{Path: p, Environ: environ("AUTHD_HTTP_ADDR=:7001")})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr != ":7001" || cfg.Keys.Algorithm != "EdDSA" {
		t.Fatalf("addr=%q alg=%q", cfg.HTTP.Addr, cfg.Keys.Algorithm)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file string
		env        []string
		want       string
	}{
		{"unknown key", "htttp:\n  addr: x\n", nil, `unknown key "htttp.addr"`},
		{"bad yaml", "http: [\n", nil, "authd.yaml"},
		{"bad duration", "", []string{"AUTHD_TOKENS_ACCESS_TOKEN_TTL=fifteen"}, "tokens.access_token_ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(Options{Path: writeFile(t, tc.file), Environ: environ(tc.env...)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
	if _, err := Load(Options{Path: filepath.Join(t.TempDir(), "missing.yaml")}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"dev without secret", func(c *Config) { c.Dev = true; c.Secrets.System = "" }, ""},
		{"missing secret", func(c *Config) { c.Secrets.System = "" }, "secrets.system"},
		{"short secret", func(c *Config) { c.Secrets.System = "short" }, "at least 32"},
		{"short secret in dev", func(c *Config) { c.Dev = true; c.Secrets.System = "short" }, "at least 32"},
		{"relative issuer", func(c *Config) { c.Issuer = "auth.example.com" }, "issuer"},
		{"issuer trailing slash", func(c *Config) { c.Issuer = "https://a.example.com/" }, "slash"},
		{"bad addr", func(c *Config) { c.HTTP.Addr = "8080" }, "http.addr"},
		{"bad admin addr", func(c *Config) { c.Admin.Addr = "" }, "admin.addr"},
		{"bad dsn", func(c *Config) { c.Database.DSN = "mysql://x" }, "database.dsn"},
		{"bad redis", func(c *Config) { c.Redis.URL = "http://x" }, "redis.url"},
		{"bad alg", func(c *Config) { c.Keys.Algorithm = "HS256" }, "keys.algorithm"},
		{"publish ahead too short", func(c *Config) { c.Keys.PublishAhead = time.Minute }, "keys.publish_ahead"},
		{"rotation shorter than publish", func(c *Config) { c.Keys.RotationPeriod = 30 * time.Minute }, "keys.rotation_period"},
		{"manual rotation", func(c *Config) { c.Keys.RotationPeriod = 0 }, ""},
		{"zero access ttl", func(c *Config) { c.Tokens.AccessTokenTTL = 0 }, "tokens.access_token_ttl"},
		{"idle over absolute", func(c *Config) { c.Tokens.RefreshIdleTTL = 1000 * time.Hour }, "tokens.refresh_idle_ttl"},
		{"bad sender", func(c *Config) { c.OTP.Sender = "pigeon" }, "otp.sender"},
		{"webhook without url", func(c *Config) { c.OTP.Sender = "webhook" }, "otp.webhook_url"},
		{"bad log level", func(c *Config) { c.Log.Level = "loud" }, "log.level"},
		{"bad proxy", func(c *Config) { c.HTTP.TrustedProxies = []string{"nope"} }, "http.trusted_proxies"},
		{"facebook half set", func(c *Config) { c.Facebook.AppID = "1" }, "facebook.app_id"},
		{"iterations a stored hash could not carry", func(c *Config) { c.Passwords.Iterations = 101 }, "passwords.iterations"},
		{"memory a stored hash could not carry", func(c *Config) { c.Passwords.MemoryKiB = 4_000_000_000 }, "passwords.memory_kib"},
		{"huge body limit", func(c *Config) { c.HTTP.MaxBodyBytes = 9999999999999999 }, "http.max_body_bytes"},
		{"twilio over plain http", func(c *Config) { c.OTP.Twilio.BaseURL = "http://api.twilio.example" }, "otp.twilio.base_url"},
		{"twilio fake on loopback", func(c *Config) { c.OTP.Twilio.BaseURL = "http://127.0.0.1:9999" }, ""},
		{"smtp port from the TLS mode", func(c *Config) { c.OTP.SMTP.Port = 0; c.OTP.SMTP.TLS = "tls" }, ""},
		{"no forward-auth URI header", func(c *Config) { c.ForwardAuth.URIHeader = "" }, "forward_auth.uri_header"},
		{"forward-auth URI header with a colon", func(c *Config) { c.ForwardAuth.URIHeader = "X-Original-URI:" }, "forward_auth.uri_header"},
		{"Traefik's URI header", func(c *Config) { c.ForwardAuth.URIHeader = "X-Forwarded-Uri" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Secrets.System = goodSecret
			tc.mutate(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestEveryKeyHasAnEnvName(t *testing.T) {
	keys := AllKeys()
	for _, k := range []string{"issuer", "http.addr", "admin.addr", "database.dsn", "redis.url", "secrets.system",
		"otp.sender", "otp.webhook_url", "facebook.app_id", "facebook.app_secret", "facebook.graph_url"} {
		found := false
		for _, have := range keys {
			found = found || have == k
		}
		if !found {
			t.Errorf("key %s missing", k)
		}
	}
	if EnvName("otp.webhook_url") != "AUTHD_OTP_WEBHOOK_URL" {
		t.Fatal(EnvName("otp.webhook_url"))
	}
}

// TestOTPTemplatesFromFile: otp.templates keys carry a dot of their own
// ("<channel>.<purpose>"); both YAML spellings load, and a bad key is
// still refused by Validate.
func TestOTPTemplatesFromFile(t *testing.T) {
	p := writeFile(t, "otp:\n  templates:\n    sms:\n      signin: \"Your code is {{.Code}}\"\n    email.register: \"Welcome\\nCode {{.Code}}\"\n")
	cfg, err := Load(Options{Path: p, Environ: environ("AUTHD_SECRETS_SYSTEM=" + goodSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OTP.Templates["sms.signin"] != "Your code is {{.Code}}" || cfg.OTP.Templates["email.register"] != "Welcome\nCode {{.Code}}" || len(cfg.OTP.Templates) != 2 {
		t.Fatalf("templates %q", cfg.OTP.Templates)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p = writeFile(t, "otp:\n  templates:\n    pigeon:\n      signin: x\n")
	cfg, err = Load(Options{Path: p, Environ: environ("AUTHD_SECRETS_SYSTEM=" + goodSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "otp.templates") {
		t.Fatalf("bad template key: %v", err)
	}
}
