// Package apikey owns authd's API keys.
//
//   - Format (format.go): pk_/sk_ + live/test + 178 random bits in base62 +
//     a CRC32 checksum, so typos are refused without a look-up and secret
//     scanners can match Pattern. Secret keys are stored only as SHA-256
//     hashes; public keys also sealed, so they can be shown again.
//   - Scopes (scopes.go): the documented catalogue; public keys hold public
//     scopes only, "*" is for secret keys.
//   - Service (service.go): create, list, get, roll (with an overlap of at
//     most 30 days), revoke; audited; roll and revoke invalidate the key on
//     every replica (invalidate.go).
//   - Verifier (verifier.go, feed.go, lastused.go): the one verification
//     path (Parse → in-process LRU → shared cache → SQL), invalidation
//     feed, batched last-used times, per-key rate limits, audit of the use
//     of revoked or expired keys.
package apikey
