package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
)

// Fuzzing runs the target in several processes that exchange inputs, so
// the keys and the tokens that verify must be the same in every one: the
// keys are derived from fixed seeds, the EdDSA signatures are deterministic
// and the ES256 tokens (ECDSA signing is randomised) are fixed below.
const (
	fuzzEdKID = "fuzz-eddsa"
	fuzzESKID = "fuzz-es256"
)

// fuzzESTokens were signed once by fuzzKey(ES256) under fuzzESKID.
var fuzzESTokens = map[string]string{
	"eyJhbGciOiJFUzI1NiIsImtpZCI6ImZ1enotZXMyNTYiLCJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiJlcyIsImV4cCI6MX0.aeSVSQV8e-4oBL4BujGiBCxtwqouJpmIc6P1AlfuYZRwWWom5tcUuyLmTpa9MXekGjvM72BNvjrz3YUQNsTNpw":             `{"sub":"es","exp":1}`,
	"eyJhbGciOiJFUzI1NiIsImtpZCI6ImZ1enotZXMyNTYiLCJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiJlczIiLCJhdWQiOlsiYSIsImIiXX0.jm-BulUqQkF5zTxQkf9glGMBcloahPJNPKeEzxPl6riXbXgpctmFXoplO7A9PMMLtE6xzaYZ9-1b_-EJjcoIKQ": `{"sub":"es2","aud":["a","b"]}`,
}

// fuzzKey is a fixed private key for alg, derived from its name.
func fuzzKey(tb testing.TB, alg string) crypto.Signer {
	tb.Helper()
	seed := sha256.Sum256([]byte("authd fuzz key " + alg))
	switch alg {
	case EdDSA:
		return ed25519.NewKeyFromSeed(seed[:])
	case ES256:
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed[:])
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
	tb.Fatalf("no fixed key for %s", alg)
	return nil
}

// storedFuzzKey is priv as a stored row, signing from signsFrom.
func storedFuzzKey(tb testing.TB, priv crypto.Signer, kid, alg string, signsFrom time.Time) store.SigningKey {
	tb.Helper()
	box, err := secretbox.New(testSecret, sealPurpose)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := encodeJWK(priv.Public(), kid, alg)
	if err != nil {
		tb.Fatal(err)
	}
	return store.SigningKey{KID: kid, Algorithm: alg, Private: box.Seal(der, []byte(kid)), PublicJWK: pub,
		CreatedAt: signsFrom, SignsFrom: signsFrom}
}

// forgeTB signs payload with key under a header of our choosing.
func forgeTB(tb testing.TB, alg jose.SignatureAlgorithm, key any, kid, payload string, extra map[jose.HeaderKey]any) string {
	tb.Helper()
	opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid)
	for k, v := range extra {
		opts = opts.WithHeader(k, v)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	obj, err := s.Sign([]byte(payload))
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// FuzzVerify feeds arbitrary strings to Manager.Verify, the JWS parser
// every bearer token goes through. Verify must never panic, must refuse
// with one of its errors, and may accept only a token signed with a held
// key by this test, byte for byte, returning the payload that was signed.
func FuzzVerify(f *testing.F) {
	clk := newClock()
	edPriv, esPriv := fuzzKey(f, EdDSA), fuzzKey(f, ES256)
	st := &fakeStore{keys: []store.SigningKey{
		storedFuzzKey(f, edPriv, fuzzEdKID, EdDSA, clk.Now().Add(-time.Hour)),     // active
		storedFuzzKey(f, esPriv, fuzzESKID, ES256, clk.Now().Add(30*time.Minute)), // NEXT
	}}
	cfg := testConfig()
	cfg.Algorithm = EdDSA
	m := initManager(f, st, clk, cfg)
	if kid := activeKID(f, m); kid != fuzzEdKID || len(st.kids()) != 2 {
		f.Fatalf("active key %s of %v, want %s of two", kid, st.kids(), fuzzEdKID)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(esPriv.Public())
	if err != nil {
		f.Fatal(err)
	}
	strangerSeed := sha256.Sum256([]byte("authd fuzz stranger"))
	stranger, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), strangerSeed[:])
	if err != nil {
		f.Fatal(err)
	}

	// signed maps every token signed with a held key to its payload: the
	// only strings Verify may accept.
	signed := map[string]string{}
	for tok, payload := range fuzzESTokens {
		signed[tok] = payload
	}
	for _, s := range []struct{ payload, typ string }{
		{`{"sub":"u1","exp":1}`, "at+jwt"},
		{`{"sub":"u2"}`, ""},
		{``, "JWT"},
	} {
		tok, err := m.Sign([]byte(s.payload), s.typ)
		if err != nil {
			f.Fatal(err)
		}
		signed[tok] = s.payload
	}
	good := forgeTB(f, jose.EdDSA, edPriv, fuzzEdKID, `{"sub":"ed","exp":1}`, nil)
	signed[good] = `{"sub":"ed","exp":1}`
	parts := strings.Split(good, ".")

	for tok := range signed {
		f.Add(tok)
	}
	for _, s := range []string{
		"",
		".",
		"..",
		"...",
		"not a token",
		parts[0] + "." + parts[1],
		parts[0] + "." + parts[1] + "." + parts[2] + ".",
		parts[0] + ".!!!." + parts[2],
		`{"payload":"e30","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`,
		parts[0] + "." + strings.Repeat("A", maxTokenLen) + "." + parts[2],
		parts[0] + "." + strings.Repeat("A", maxTokenLen-len(good)+len(parts[1])) + "." + parts[2],
		b64(`{"alg":"none","kid":"`+fuzzESKID+`","typ":"at+jwt"}`) + "." + b64(`{"sub":"admin"}`) + ".",
		b64(`{"alg":"none"}`) + "." + parts[1] + ".",
		forgeTB(f, jose.HS256, pubDER, fuzzESKID, `{"sub":"admin"}`, nil),
		forgeTB(f, jose.HS256, []byte(edPriv.Public().(ed25519.PublicKey)), fuzzEdKID, `{"sub":"admin"}`, nil),
		forgeTB(f, jose.ES256, esPriv, fuzzEdKID, `{"sub":"admin"}`, nil),
		forgeTB(f, jose.EdDSA, edPriv, fuzzESKID, `{"sub":"admin"}`, nil),
		forgeTB(f, jose.ES256, stranger, fuzzESKID, `{"sub":"admin"}`, nil),
		forgeTB(f, jose.ES256, stranger, "no-such-kid", `{"sub":"admin"}`, nil),
		forgeTB(f, jose.EdDSA, edPriv, "", `{"sub":"admin"}`, nil),
		forgeTB(f, jose.EdDSA, edPriv, fuzzEdKID, `{"sub":"admin"}`, map[jose.HeaderKey]any{"b64": false, "crit": []string{"b64"}}),
		forgeTB(f, jose.EdDSA, edPriv, fuzzEdKID, `{"sub":"admin"}`, map[jose.HeaderKey]any{"typ": 1}),
		parts[0] + "." + b64(`{"sub":"admin","exp":1}`) + "." + parts[2],
		b64(`{"alg":"EdDSA","kid":"`+fuzzEdKID+`","typ":"JWT"}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"EdDSA","kid":"`+fuzzEdKID+`","jwk":{"kty":"OKP","crv":"Ed25519","x":""}}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"EdDSA","alg":"none","kid":"`+fuzzEdKID+`"}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"EdDSA","kid":"`+fuzzEdKID+`"`) + "." + parts[1] + "." + parts[2],
		b64(`[]`) + "." + parts[1] + "." + parts[2],
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, tok string) {
		payload, h, err := m.Verify(tok)
		if err != nil {
			if payload != nil {
				t.Fatalf("Verify(%q) failed (%v) but returned a payload", tok, err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("Verify(%q): unexpected error %v", tok, err)
			}
			if _, ok := signed[tok]; ok {
				t.Fatalf("Verify refused a token signed with a held key: %v", err)
			}
			return
		}
		want, ok := signed[tok]
		if !ok {
			t.Fatalf("Verify accepted %q (kid %q, alg %q, payload %q), which this test did not sign", tok, h.KID, h.Algorithm, payload)
		}
		if !bytes.Equal(payload, []byte(want)) {
			t.Fatalf("Verify(%q) payload %q, signed %q", tok, payload, want)
		}
		if e := m.set.Load().lookup(h.KID); e == nil || string(e.alg) != h.Algorithm {
			t.Fatalf("Verify(%q) header %+v names no held key of that algorithm", tok, h)
		}
	})
}
