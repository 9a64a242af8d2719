// Package clients owns the OAuth clients: who may manage them (admins and
// owners of the service owner, acting for it; operators at the command
// line), the rules a client must follow (its type, grant types, client
// permissions, audiences and tenant binding), its secret (256 random bits,
// shown once, stored as a SHA-256 hash, rotated with an overlap), and
// reading clients for client authentication from a short-lived cache that
// keeps answering with the last good read while the database fails.
//
// Every change reaches every replica through the revocation log: a
// deleted client's tokens are revoked (store.RevokeClient) and a rotated
// secret is announced (store.RevokeClientChange); each replica drops its
// cached copy when it applies either entry.
package clients
