// Package password hashes and verifies passwords: argon2id in the PHC string
// format with OWASP's parameters by default, and bcrypt hashes imported from
// older systems (verified, then reported as needing a rehash).
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrMismatch is returned when the password does not match the hash.
var ErrMismatch = errors.New("password: mismatch")

// ErrUnknownFormat is returned for a hash authd cannot read.
var ErrUnknownFormat = errors.New("password: unknown hash format")

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// DefaultParams are OWASP's recommended argon2id parameters
// (m=19 MiB, t=2, p=1).
var DefaultParams = Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Hasher hashes with one set of parameters.
type Hasher struct {
	p Params
}

// New returns a Hasher; zero fields of p take DefaultParams' values.
func New(p Params) *Hasher {
	if p.MemoryKiB == 0 {
		p.MemoryKiB = DefaultParams.MemoryKiB
	}
	if p.Iterations == 0 {
		p.Iterations = DefaultParams.Iterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = DefaultParams.Parallelism
	}
	if p.SaltLen == 0 {
		p.SaltLen = DefaultParams.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = DefaultParams.KeyLen
	}
	return &Hasher{p: p}
}

var b64 = base64.RawStdEncoding

// Hash returns the PHC string $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Iterations, h.p.MemoryKiB, h.p.Parallelism, h.p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.p.MemoryKiB, h.p.Iterations, h.p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks password against hash. It returns needsRehash when the
// hash matched but was made with other parameters or another algorithm.
func (h *Hasher) Verify(password, hash string) (needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		p, salt, key, err := parseArgon2id(hash)
		if err != nil {
			return false, err
		}
		got := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(key)))
		if subtle.ConstantTimeCompare(got, key) != 1 {
			return false, ErrMismatch
		}
		return p.MemoryKiB != h.p.MemoryKiB || p.Iterations != h.p.Iterations || p.Parallelism != h.p.Parallelism ||
			uint32(len(key)) != h.p.KeyLen || uint32(len(salt)) != h.p.SaltLen, nil
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)); err != nil {
			if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
				return false, ErrMismatch
			}
			return false, fmt.Errorf("%w: %v", ErrUnknownFormat, err)
		}
		return true, nil
	default:
		return false, ErrUnknownFormat
	}
}

// Dummy burns the same time as verifying a real password, for answers that
// must not reveal whether an account exists.
func (h *Hasher) Dummy(password string) {
	salt := make([]byte, h.p.SaltLen)
	_ = argon2.IDKey([]byte(password), salt, h.p.Iterations, h.p.MemoryKiB, h.p.Parallelism, h.p.KeyLen)
}

func parseArgon2id(hash string) (Params, []byte, []byte, error) {
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	if p.MemoryKiB == 0 || p.Iterations == 0 || p.Parallelism == 0 || p.MemoryKiB > 4*1024*1024 || p.Iterations > 100 {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
