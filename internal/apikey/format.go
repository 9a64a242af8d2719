package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"math/big"
	"regexp"
	"strings"

	"github.com/authd/authd/internal/store"
)

const (
	base62     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randLen    = 30 // 30 base62 characters: 178 bits
	checkLen   = 6  // CRC32 in base62, zero-padded
	prefixLen  = len("sk_live_")
	keyLen     = prefixLen + randLen + checkLen
	displayLen = 4
)

// Pattern matches authd API keys; publish it for secret scanners.
var Pattern = regexp.MustCompile(`^(pk|sk)_(live|test)_[0-9A-Za-z]{36}$`)

// ErrMalformed is returned for a string that is not a well-formed key,
// including one whose checksum does not match (a typo).
var ErrMalformed = errors.New("apikey: malformed key")

// Parsed is what a key's text says about itself.
type Parsed struct {
	Type   string     // store.APIKeyPublic or store.APIKeySecret
	Mode   store.Mode // live or test
	Prefix string     // "sk_live_"
	Last4  string
}

// Generate returns a new random key of the given type and mode.
func Generate(typ string, mode store.Mode) (string, error) {
	p, err := prefix(typ, mode)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(keyLen)
	b.WriteString(p)
	max := big.NewInt(int64(len(base62)))
	for range randLen {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b.WriteByte(base62[n.Int64()])
	}
	b.WriteString(checksum(b.String()))
	return b.String(), nil
}

// Parse checks a key's shape and checksum without any look-up. It accepts
// exactly the strings Pattern matches whose checksum is right, and neither
// allocates nor uses the regular expression (it is on every request's path).
func Parse(key string) (Parsed, error) {
	if len(key) != keyLen || key[1] != 'k' || key[2] != '_' || key[7] != '_' {
		return Parsed{}, ErrMalformed
	}
	var p Parsed
	switch key[0] {
	case 's':
		p.Type = store.APIKeySecret
	case 'p':
		p.Type = store.APIKeyPublic
	default:
		return Parsed{}, ErrMalformed
	}
	switch key[3:7] {
	case "live":
		p.Mode = store.ModeLive
	case "test":
		p.Mode = store.ModeTest
	default:
		return Parsed{}, ErrMalformed
	}
	for i := prefixLen; i < keyLen; i++ {
		if !isBase62[key[i]] {
			return Parsed{}, ErrMalformed
		}
	}
	// The checksum covers the prefix too, so a key whose type or mode was
	// edited is refused like any other typo.
	if !checksumMatches(key[:prefixLen+randLen], key[prefixLen+randLen:]) {
		return Parsed{}, ErrMalformed
	}
	p.Prefix = key[:prefixLen]
	p.Last4 = key[len(key)-displayLen:]
	return p, nil
}

// Hash is the hex SHA-256 of key: the stored look-up index. API keys carry
// 178 random bits, so a fast hash is right (a slow one buys nothing).
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Mask shows a key as its prefix and last four characters.
func Mask(prefix, last4 string) string {
	return prefix + strings.Repeat("*", 8) + last4
}

func prefix(typ string, mode store.Mode) (string, error) {
	if !mode.Valid() {
		return "", errors.New("apikey: mode must be live or test")
	}
	switch typ {
	case store.APIKeyPublic:
		return "pk_" + string(mode) + "_", nil
	case store.APIKeySecret:
		return "sk_" + string(mode) + "_", nil
	}
	return "", errors.New("apikey: type must be public or secret")
}

func checksum(body string) string {
	var out [checkLen]byte
	encodeChecksum(crc(body), &out)
	return string(out[:])
}

// checksumMatches reports whether sum is body's checksum, without
// allocating.
func checksumMatches(body, sum string) bool {
	var out [checkLen]byte
	encodeChecksum(crc(body), &out)
	return len(sum) == checkLen && string(out[:]) == sum
}

// crc is crc32.ChecksumIEEE(body) computed byte by byte over the standard
// table: the body is short, and crc32's assembly paths make their argument
// escape (one allocation per key checked).
func crc(body string) uint32 {
	c := ^uint32(0)
	for i := 0; i < len(body); i++ {
		c = crc32.IEEETable[byte(c)^body[i]] ^ (c >> 8)
	}
	return ^c
}

func encodeChecksum(n uint32, out *[checkLen]byte) {
	for i := checkLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
}

// isBase62 tells the characters of base62.
var isBase62 = func() (t [256]bool) {
	for i := range len(base62) {
		t[base62[i]] = true
	}
	return t
}()
