// Package secretbox derives purpose-bound keys from authd's system secret
// (HKDF-SHA256) and seals small values with AES-256-GCM.
//
// Every use of the system secret goes through here with its own purpose
// label, so the key that encrypts signing keys is never the key that hashes
// OTP codes.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// MinSecretLen is the shortest system secret accepted.
const MinSecretLen = 32

// ErrOpen is returned when a sealed value cannot be decrypted: it was
// tampered with, sealed for another purpose, or under another secret.
var ErrOpen = errors.New("secretbox: cannot open sealed value")

// DeriveKey returns n bytes of key material bound to purpose.
func DeriveKey(systemSecret, purpose string, n int) ([]byte, error) {
	if len(systemSecret) < MinSecretLen {
		return nil, fmt.Errorf("secretbox: system secret shorter than %d characters", MinSecretLen)
	}
	return hkdf.Key(sha256.New, []byte(systemSecret), nil, "authd/"+purpose, n)
}

// Box seals and opens values with one derived AES-256-GCM key.
type Box struct {
	aead cipher.AEAD
}

// New derives the key for purpose from systemSecret.
func New(systemSecret, purpose string) (*Box, error) {
	key, err := DeriveKey(systemSecret, purpose, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; aad (may be nil) is authenticated but not
// encrypted, and must be given again to Open. The result is nonce||ciphertext.
func (b *Box) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b.aead.Seal(nonce, nonce, plaintext, aad)
}

// Open decrypts a value produced by Seal with the same aad.
func (b *Box) Open(sealed, aad []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < ns+b.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := b.aead.Open(nil, sealed[:ns], sealed[ns:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
