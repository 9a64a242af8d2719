package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
)

// sealPurpose is the secretbox purpose of the key that encrypts private keys.
const sealPurpose = "signing-keys"

// rsaBits is the size of generated RSA keys.
const rsaBits = 2048

// maxCachedTypes bounds the per-key signer cache (one signer per typ).
const maxCachedTypes = 8

// DecryptError is returned by Init (and reloads) when a stored private key
// cannot be opened with the configured system secret. It never carries key
// material. errors.Is(err, secretbox.ErrOpen) holds.
type DecryptError struct {
	KID string
}

func (e *DecryptError) Error() string {
	return fmt.Sprintf("cannot decrypt signing key %s: is AUTHD_SECRETS_SYSTEM the one the keys were created with?", e.KID)
}

// Unwrap returns secretbox.ErrOpen.
func (e *DecryptError) Unwrap() error { return secretbox.ErrOpen }

// material is one key's parsed, immutable crypto: shared between snapshots
// so a reload neither re-parses nor re-decrypts keys it already holds.
type material struct {
	kid     string
	alg     jose.SignatureAlgorithm
	public  crypto.PublicKey
	jwk     []byte        // public JWK (kid, alg, use) as published
	private crypto.Signer // nil for a key that can no longer sign

	mu      sync.Mutex                    // serialises signer creation
	signers atomic.Pointer[[]typedSigner] // copy-on-write, read without locking
}

type typedSigner struct {
	typ    string
	signer jose.Signer
}

// generateKey returns a new private key for alg.
func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q", alg)
	}
}

// newKID returns a random key id: 128 bits, base64url.
func newKID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newKey generates a key for alg, ready to store: the private key as sealed
// PKCS#8 DER (aad = kid), the public key as a JWK. Times are left to the
// caller.
func newKey(box *secretbox.Box, alg string) (store.SigningKey, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return store.SigningKey{}, err
	}
	kid := newKID()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: marshal private key: %w", err)
	}
	sealed := box.Seal(der, []byte(kid))
	clear(der)
	pub, err := encodeJWK(priv.Public(), kid, alg)
	if err != nil {
		return store.SigningKey{}, err
	}
	return store.SigningKey{KID: kid, Algorithm: alg, Private: sealed, PublicJWK: pub}, nil
}

// encodeJWK is the JSON of the public JWK with kid, alg and use "sig".
func encodeJWK(pub crypto.PublicKey, kid, alg string) ([]byte, error) {
	b, err := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"})
	if err != nil {
		return nil, fmt.Errorf("keys: encode public key %s: %w", kid, err)
	}
	return b, nil
}

// checkKeyType verifies pub is a key alg can use.
func checkKeyType(alg string, pub crypto.PublicKey) error {
	ok := false
	switch alg {
	case ES256:
		k, isEC := pub.(*ecdsa.PublicKey)
		ok = isEC && k.Curve == elliptic.P256()
	case RS256:
		k, isRSA := pub.(*rsa.PublicKey)
		ok = isRSA && k.N.BitLen() >= rsaBits
	case EdDSA:
		k, isEd := pub.(ed25519.PublicKey)
		ok = isEd && len(k) == ed25519.PublicKeySize
	default:
		return fmt.Errorf("unsupported algorithm %q", alg)
	}
	if !ok {
		return fmt.Errorf("a %T is not a key for %s", pub, alg)
	}
	return nil
}

// parseMaterial reads a stored key's public half. It refuses a PublicJWK
// holding private material, so the JWKS can never leak it.
func parseMaterial(k store.SigningKey) (*material, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(k.PublicJWK); err != nil {
		return nil, fmt.Errorf("keys: signing key %s: invalid public JWK: %w", k.KID, err)
	}
	if !jwk.IsPublic() {
		return nil, fmt.Errorf("keys: signing key %s: public JWK is not a public key", k.KID)
	}
	if jwk.KeyID != "" && jwk.KeyID != k.KID {
		return nil, fmt.Errorf("keys: signing key %s: public JWK has kid %q", k.KID, jwk.KeyID)
	}
	if err := checkKeyType(k.Algorithm, jwk.Key); err != nil {
		return nil, fmt.Errorf("keys: signing key %s: %w", k.KID, err)
	}
	enc, err := encodeJWK(jwk.Key, k.KID, k.Algorithm)
	if err != nil {
		return nil, err
	}
	return &material{kid: k.KID, alg: jose.SignatureAlgorithm(k.Algorithm), public: jwk.Key, jwk: enc}, nil
}

// openPrivate decrypts a stored private key and checks it matches m.
func (m *material) openPrivate(box *secretbox.Box, k store.SigningKey) (crypto.Signer, error) {
	der, err := box.Open(k.Private, []byte(k.KID))
	if err != nil {
		return nil, &DecryptError{KID: k.KID}
	}
	defer clear(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		// The error of x509 never quotes the key, but keep it out anyway.
		return nil, fmt.Errorf("keys: signing key %s: stored private key is not valid PKCS#8", k.KID)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keys: signing key %s: unsupported private key type %T", k.KID, parsed)
	}
	pub, ok := priv.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(m.public) {
		return nil, fmt.Errorf("keys: signing key %s: private key does not match its public JWK", k.KID)
	}
	return priv, nil
}

// withPrivate returns a copy of m holding priv, with an empty signer cache.
func (m *material) withPrivate(priv crypto.Signer) *material {
	return &material{kid: m.kid, alg: m.alg, public: m.public, jwk: m.jwk, private: priv}
}

var errNoPrivate = errors.New("keys: private key not loaded")

// signer returns the cached go-jose signer for typ, creating it once. The
// lookup takes no lock and does not allocate.
func (m *material) signer(typ string) (jose.Signer, error) {
	if p := m.signers.Load(); p != nil {
		for i := range *p {
			if (*p)[i].typ == typ {
				return (*p)[i].signer, nil
			}
		}
	}
	return m.newSigner(typ)
}

func (m *material) newSigner(typ string) (jose.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cur []typedSigner
	if p := m.signers.Load(); p != nil {
		cur = *p
		for _, s := range cur {
			if s.typ == typ {
				return s.signer, nil
			}
		}
	}
	if m.private == nil {
		return nil, errNoPrivate
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	key := jose.JSONWebKey{Key: m.private, KeyID: m.kid, Algorithm: string(m.alg)}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: m.alg, Key: key}, opts)
	if err != nil {
		return nil, fmt.Errorf("keys: signer for %s: %w", m.kid, err)
	}
	if len(cur) < maxCachedTypes {
		next := append(slices.Clip(cur), typedSigner{typ: typ, signer: s})
		m.signers.Store(&next)
	}
	return s, nil
}
