package store

import (
	"context"
	"time"
)

// Revocation kinds: what an entry of the revocation log covers.
const (
	// RevokeToken: the access token whose jti is Key.
	RevokeToken = "token"
	// RevokeFamily: every access token issued with the refresh family Key
	// (their sid claim).
	RevokeFamily = "family"
	// RevokeUser: every token of the user Key issued at or before At.
	RevokeUser = "user"
	// RevokeContact: every token of a contact issued at or before At; Key
	// is ContactKey(business, mode, id).
	RevokeContact = "contact"
	// RevokeClient: every token issued to the client Key at or before At.
	RevokeClient = "client"
	// RevokeClientChange: the client Key changed (its secret was
	// rotated): cached copies of it must not be used. Its tokens stay
	// valid.
	RevokeClientChange = "client_change"
	// RevokeAPIKey: the API key whose hex SHA-256 is Key changed (revoked,
	// or its expiry moved): cached copies of it must not be used.
	RevokeAPIKey = "api_key"
)

// ContactKey names a contact in the revocation log: contact ids are unique
// within a business and mode only.
func ContactKey(businessID string, mode Mode, contactID string) string {
	return businessID + "/" + string(mode) + "/" + contactID
}

// Revocation is one entry of the durable revocation log.
type Revocation struct {
	// Seq is assigned by the store when the entry is appended; it grows
	// in commit order, so a reader that has seen every entry up to Seq
	// never misses an earlier one.
	Seq  int64
	Kind string
	Key  string
	// At is when the revocation was made. User, contact and client
	// entries cover the tokens issued at or before it.
	At time.Time
	// ExpiresAt is when nothing the entry covers can still be valid; the
	// entry may be deleted after it.
	ExpiresAt time.Time
}

// RevocationStore is the durable revocation log. It is part of Store.
type RevocationStore interface {
	// AppendRevocations appends entries in one transaction and returns
	// them with their Seq. Appends are serialised across replicas (an
	// advisory lock on PostgreSQL, the single writer on SQLite), so Seq
	// order is commit order.
	AppendRevocations(ctx context.Context, rs ...Revocation) ([]Revocation, error)
	// ListRevocations returns at most limit entries with Seq > after, in
	// Seq order, expired ones included.
	ListRevocations(ctx context.Context, after int64, limit int) ([]Revocation, error)
	// DeleteExpiredRevocations removes entries that expired before the
	// given time and returns how many.
	DeleteExpiredRevocations(ctx context.Context, before time.Time) (int64, error)
}
