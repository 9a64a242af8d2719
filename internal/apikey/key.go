package apikey

import (
	"errors"
	"slices"
	"time"

	"github.com/authd/authd/internal/store"
)

// ErrInvalid is the one answer for a key that is malformed, unknown,
// revoked, expired or of the wrong mode: callers never learn which.
var ErrInvalid = errors.New("apikey: invalid key")

// Key is what a verified API key grants.
type Key struct {
	ID                 string
	OrganisationID     string
	Mode               store.Mode
	Type               string // store.APIKeyPublic or store.APIKeySecret
	Name               string
	Scopes             []string // shared: callers must not modify it
	Scope              string   // Scopes joined by spaces (RFC 6749 §3.3)
	ExpiresAt          *time.Time
	RateLimit          int // requests per second; 0: none
	RateLimitPerMinute int // requests per minute; 0: none
}

// HasScope reports whether the key grants scope; "*" (secret keys only)
// grants every scope.
func (k Key) HasScope(scope string) bool {
	if k.Type == store.APIKeySecret && slices.Contains(k.Scopes, "*") {
		return true
	}
	return slices.Contains(k.Scopes, scope)
}

// RateLimitError is returned by verification when the key's own rate limit
// is exhausted.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string { return "apikey: rate limited" }
