package identity

import (
	"errors"
	"time"
)

var (
	// ErrInvalidCredentials is the one answer to a failed sign-in: unknown
	// account, wrong password or disabled account look the same.
	ErrInvalidCredentials = errors.New("identity: invalid credentials")
	// ErrConflict: the email, id or identity is taken.
	ErrConflict = errors.New("identity: already exists")
)

// ValidationError names the offending field of an input.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

// RateLimitedError is returned when a limit on credential checks is hit.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string { return "identity: rate limited" }
