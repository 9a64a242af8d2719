package secretbox

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const secret = "0123456789abcdef0123456789abcdef-test"

func TestSealOpen(t *testing.T) {
	b, err := New(secret, "signing-keys")
	if err != nil {
		t.Fatal(err)
	}
	sealed := b.Seal([]byte("private"), []byte("kid-1"))
	if bytes.Contains(sealed, []byte("private")) {
		t.Fatal("plaintext visible in sealed value")
	}
	got, err := b.Open(sealed, []byte("kid-1"))
	if err != nil || string(got) != "private" {
		t.Fatalf("Open = %q, %v", got, err)
	}

	tests := []struct {
		name   string
		box    func() *Box
		sealed []byte
		aad    []byte
	}{
		{"wrong aad", func() *Box { return b }, sealed, []byte("kid-2")},
		{"other purpose", func() *Box { o, _ := New(secret, "api-keys"); return o }, sealed, []byte("kid-1")},
		{"other secret", func() *Box { o, _ := New(strings.Repeat("x", 40), "signing-keys"); return o }, sealed, []byte("kid-1")},
		{"truncated", func() *Box { return b }, sealed[:5], []byte("kid-1")},
		{"tampered", func() *Box { return b }, append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), []byte("kid-1")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.box().Open(tc.sealed, tc.aad); !errors.Is(err, ErrOpen) {
				t.Fatalf("Open err = %v, want ErrOpen", err)
			}
		})
	}
}

func TestShortSecretRefused(t *testing.T) {
	if _, err := New("short", "x"); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestDeriveKeyIsPurposeBound(t *testing.T) {
	a, _ := DeriveKey(secret, "otp", 32)
	b, _ := DeriveKey(secret, "otp", 32)
	c, _ := DeriveKey(secret, "signing-keys", 32)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("derivation not deterministic per purpose")
	}
}
