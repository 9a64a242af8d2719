// Package revocation owns authd's revocation state: a durable, ordered log
// in the SQL store (token jti, refresh family, a user's, contact's or
// client's tokens issued before a time, a changed API key), replicated
// into every process.
//
// A revocation is committed when the store has it: Revoke appends the
// entries, applies them in this process and then, as a fast path only,
// publishes them on the shared cache's pub/sub. Every replica holds the
// entries in force in memory, loaded at start and kept current both by
// that pub/sub feed and by reading the log after its cursor every poll
// interval. A lost message, a Redis flush, restart or failover therefore
// costs at most one poll interval, and sequence numbers, owned by SQL,
// never go backwards. Verification (Revoked, APIKeyChanged) reads only
// process memory.
package revocation
