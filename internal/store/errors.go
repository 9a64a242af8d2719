package store

import (
	"context"
	"errors"
)

var (
	// ErrNotFound is returned when a requested record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists is returned when a create would violate a uniqueness
	// constraint (same id, same email, same key hash, ...).
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrUnavailable wraps any failure to reach or use the database
	// (connection refused, timeout, database shut down). HTTP answers 503.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrConflict is returned when a conditional write lost a race (the
	// record changed since it was read); nothing was written.
	ErrConflict = errors.New("store: conflict")
	// ErrNotEmpty is returned by Bootstrap when the database already holds
	// an organisation.
	ErrNotEmpty = errors.New("store: database is not empty")
	// ErrInvalidValue is returned when the database refuses a value itself
	// (PostgreSQL's data exceptions, e.g. a NUL byte in text): the request
	// was bad, not the database. Nothing was written.
	ErrInvalidValue = errors.New("store: value refused by the database")
)

// Unavailable reports whether err means the database gave no answer: it
// could not be reached or used, or the caller's deadline passed first. A
// caller may retry, or serve its last good answer; any other error is the
// database's answer.
func Unavailable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}
