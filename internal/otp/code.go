package otp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/authd/authd/internal/store"
)

// idBytes is the randomness of an OTP id: 144 bits, 24 base64url chars.
const idBytes = 18

var idLen = base64.RawURLEncoding.EncodedLen(idBytes)

// newID returns a random URL-safe OTP id.
func newID() string {
	b := make([]byte, idBytes)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validID reports whether id has the shape newID produces, so junk never
// reaches the cache.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// newCode returns n uniformly random decimal digits: random bytes below
// 250 (25 full runs of 0-9) are reduced mod 10, others are redrawn, so no
// digit is more likely than another.
func newCode(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+2)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			if b < 250 {
				out = append(out, '0'+b%10)
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// codeHash is HMAC-SHA256(codeKey, id||code). Ids have a fixed length, so
// the concatenation is unambiguous.
func (s *Service) codeHash(id, code string) []byte {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte(id))
	m.Write([]byte(code))
	return m.Sum(nil)
}

// ident names a destination (or IP) in cache keys without writing it
// there: 128 bits of a keyed hash.
func (s *Service) ident(kind, v string) string {
	m := hmac.New(sha256.New, s.identKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// Cache keys.
func recordKey(id string) string   { return "otp:c:" + id }
func attemptsKey(id string) string { return "otp:a:" + id }

// record is what the cache holds for a code, sealed.
type record struct {
	BusinessID string            `json:"b"`
	Mode       store.Mode        `json:"m"`
	Channel    Channel           `json:"c"`
	To         string            `json:"t"`
	Purpose    Purpose           `json:"p"`
	Data       map[string]string `json:"d,omitempty"`
	ExpiresAt  int64             `json:"e"` // Unix milliseconds
	Hash       []byte            `json:"h"`
	// Decoy is 1 for a request that matched no contact: its code was
	// never sent and never verifies. An integer (not an omitted bool) so
	// decoys and real records seal to the same length.
	Decoy uint8 `json:"x"`
}

func (r record) expiresAt() time.Time { return time.UnixMilli(r.ExpiresAt) }

// seal encodes and encrypts rec, bound to its id.
func (s *Service) seal(id string, rec record) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("otp: encoding record: %w", err)
	}
	return s.box.Seal(b, []byte(id)), nil
}

// open decrypts and decodes a sealed record.
func (s *Service) open(id string, sealed []byte) (record, error) {
	b, err := s.box.Open(sealed, []byte(id))
	if err != nil {
		return record{}, fmt.Errorf("otp: record %s: %w", id, err)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return record{}, fmt.Errorf("otp: decoding record %s: %w", id, err)
	}
	return rec, nil
}
