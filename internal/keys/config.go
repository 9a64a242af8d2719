package keys

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Algorithms a signing key may use. Anything else, "none" and every HMAC
// algorithm in particular, is never accepted.
const (
	ES256 = "ES256" // ECDSA P-256 with SHA-256 (the default)
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys
	EdDSA = "EdDSA" // Ed25519
)

// DefaultReloadInterval is how often a replica re-reads the key table when
// Config.ReloadInterval is zero.
const DefaultReloadInterval = time.Minute

// Leeway is the clock skew allowed between replicas and token verifiers: a
// retired key stays published this long after its last token can expire.
const Leeway = time.Minute

// Config configures signing keys and their rotation.
type Config struct {
	// Algorithm of new keys: ES256 (default when empty), RS256 or EdDSA.
	Algorithm string
	// RotationPeriod is the automatic rotation interval; 0 rotates only
	// manually (Rotate, `authd keys rotate`).
	RotationPeriod time.Duration
	// PublishAhead is how long a new key is published before it signs. It
	// must exceed JWKSMaxAge (plus ReloadInterval) so that every replica and
	// every cached JWKS knows a key before a token signed by it shows up.
	PublishAhead time.Duration
	// MaxTokenTTL is the longest lifetime of any token signed by these keys.
	MaxTokenTTL time.Duration
	// JWKSMaxAge is the Cache-Control max-age of the JWKS endpoint.
	JWKSMaxAge time.Duration
	// ReloadInterval is how often a replica re-reads the key table
	// (default DefaultReloadInterval).
	ReloadInterval time.Duration
}

func (c Config) withDefaults() Config {
	if c.Algorithm == "" {
		c.Algorithm = ES256
	}
	if c.ReloadInterval == 0 {
		c.ReloadInterval = DefaultReloadInterval
	}
	return c
}

// Validate checks c (empty Algorithm and zero ReloadInterval take their
// defaults) and returns every failure in one error, each naming its key.
func (c Config) Validate() error {
	c = c.withDefaults()
	checks := []struct {
		bad bool
		msg string
	}{
		{!knownAlgorithm(c.Algorithm),
			fmt.Sprintf("keys.algorithm (%q) must be ES256, RS256 or EdDSA", c.Algorithm)},
		{c.RotationPeriod < 0,
			fmt.Sprintf("keys.rotation_period (%s) must be 0 (manual) or positive", c.RotationPeriod)},
		{c.MaxTokenTTL <= 0,
			fmt.Sprintf("keys.max_token_ttl (%s) must be positive", c.MaxTokenTTL)},
		{c.JWKSMaxAge < 0,
			fmt.Sprintf("keys.jwks_max_age (%s) must not be negative", c.JWKSMaxAge)},
		{c.ReloadInterval < 0,
			fmt.Sprintf("keys.reload_interval (%s) must be positive", c.ReloadInterval)},
		{c.PublishAhead <= c.JWKSMaxAge,
			fmt.Sprintf("keys.publish_ahead (%s) must exceed keys.jwks_max_age (%s)", c.PublishAhead, c.JWKSMaxAge)},
		{c.PublishAhead > c.JWKSMaxAge && c.PublishAhead < c.JWKSMaxAge+c.ReloadInterval,
			fmt.Sprintf("keys.publish_ahead (%s) must be at least keys.jwks_max_age + keys.reload_interval (%s): "+
				"a replica may learn of a new key only one reload interval after it is added",
				c.PublishAhead, c.JWKSMaxAge+c.ReloadInterval)},
		{c.RotationPeriod > 0 && c.RotationPeriod <= c.PublishAhead,
			fmt.Sprintf("keys.rotation_period (%s) must exceed keys.publish_ahead (%s)", c.RotationPeriod, c.PublishAhead)},
	}
	var errs []string
	for _, ch := range checks {
		if ch.bad {
			errs = append(errs, ch.msg)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New("keys: invalid configuration: " + strings.Join(errs, "; "))
}

func knownAlgorithm(alg string) bool {
	return alg == ES256 || alg == RS256 || alg == EdDSA
}
