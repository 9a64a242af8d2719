package clients

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// secretBytes is the entropy of a generated secret: 256 bits.
const secretBytes = 32

// NewSecret returns a new client secret: 256 random bits, base64url
// without padding (43 characters).
func NewSecret() (string, error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashSecret returns the stored form of a client secret: its hex SHA-256.
// Generated secrets carry 256 random bits, so a fast hash compared in
// constant time is right; bcrypt would cost ~50 ms per client
// authentication and buy nothing.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretMatches reports, in constant time, whether secret hashes to hash
// (a stored hex SHA-256). An empty hash matches nothing.
func SecretMatches(hash, secret []byte) bool {
	if len(hash) == 0 {
		return false
	}
	sum := sha256.Sum256(secret)
	want := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(want, sum[:])
	return subtle.ConstantTimeCompare(want, hash) == 1
}
