// Package keys owns authd's JWS signing keys: generating them, keeping them
// encrypted at rest (secretbox, purpose "signing-keys"), deciding which one
// signs, publishing the JSON Web Key Set and verifying the tokens they
// signed. It uses go-jose v4.
//
// Rotation is time-based, so every replica computes the same answer from the
// same table without talking to the others. Every stored key has a
// CreatedAt, from which it is published, and a SignsFrom. At time t:
//
//   - the ACTIVE key is the one with the latest SignsFrom <= t; it signs;
//   - a NEXT key has SignsFrom > t: published (so JWKS caches learn it
//     before it signs) but not yet signing;
//   - a RETIRED key was superseded: it stopped signing at its successor's
//     SignsFrom (signs_until) and stays published and accepted until
//     signs_until + MaxTokenTTL + Leeway, when the last token it signed has
//     expired;
//   - after that it is EXPIRED: dropped from the JWKS and from verification,
//     and deleted from the store at the next rotation check.
//
// Replicas coordinate only when they add keys: every change goes through
// Store.UpdateSigningKeys, which runs under a lock shared by all replicas,
// and re-checks inside it, so two replicas never both add a key. Each
// replica re-reads the table every ReloadInterval, and once (rate-limited)
// when it meets a token signed by a kid it does not know.
//
// Sign, Verify and JWKS read an immutable snapshot through an atomic pointer
// and take no lock. The JWKS body is encoded once per change of the
// published set. fosite uses go-jose v3 and cannot take v4 keys: Current
// hands the oauth package the raw private key and its kid instead.
package keys
