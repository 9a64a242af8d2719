package password

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// cheap parameters keep the tests fast; the format and logic are the same.
var cheap = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

func TestHashVerify(t *testing.T) {
	h := New(cheap)
	hash, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash = %s", hash)
	}
	other, _ := h.Hash("correct horse battery staple")
	if other == hash {
		t.Fatal("salt not random")
	}
	bc, _ := bcrypt.GenerateFromPassword([]byte("legacy-pass"), bcrypt.MinCost)

	tests := []struct {
		name       string
		hasher     *Hasher
		password   string
		hash       string
		wantErr    error
		wantRehash bool
	}{
		{"match", h, "correct horse battery staple", hash, nil, false},
		{"mismatch", h, "wrong", hash, ErrMismatch, false},
		{"params changed", New(Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1}), "correct horse battery staple", hash, nil, true},
		{"bcrypt import", h, "legacy-pass", string(bc), nil, true},
		{"bcrypt mismatch", h, "nope", string(bc), ErrMismatch, false},
		{"garbage", h, "x", "plaintext", ErrUnknownFormat, false},
		{"truncated argon", h, "x", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA", ErrUnknownFormat, false},
		{"absurd cost", h, "x", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", ErrUnknownFormat, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rehash, err := tc.hasher.Verify(tc.password, tc.hash)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if rehash != tc.wantRehash {
				t.Fatalf("rehash = %v, want %v", rehash, tc.wantRehash)
			}
		})
	}
}

func TestDefaultsAreOWASP(t *testing.T) {
	h := New(Params{})
	if h.p.MemoryKiB != 19456 || h.p.Iterations != 2 || h.p.Parallelism != 1 {
		t.Fatalf("defaults = %+v", h.p)
	}
}

func BenchmarkHashOWASP(b *testing.B) {
	h := New(DefaultParams)
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
