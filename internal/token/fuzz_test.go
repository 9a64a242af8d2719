package token

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/internal/keys"
	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
)

const (
	fuzzSecret = "token-fuzz-secret-0123456789abcdefghij"
	fuzzKID    = "token-fuzz-eddsa"
)

// fuzzService is a Service on a keys.Manager holding one fixed EdDSA key,
// at a fixed time. Fuzzing runs the target in several processes that
// exchange inputs, so the tokens that verify must be the same in each:
// the key is derived from a constant seed and EdDSA signatures are
// deterministic.
func fuzzService(tb testing.TB, now time.Time) (*Service, *keys.Manager) {
	tb.Helper()
	seed := sha256.Sum256([]byte("authd token fuzz key"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	// "signing-keys" is the purpose keys seals private keys under; Init
	// fails loudly if it ever changes.
	box, err := secretbox.New(fuzzSecret, "signing-keys")
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := json.Marshal(jose.JSONWebKey{Key: priv.Public(), KeyID: fuzzKID, Algorithm: keys.EdDSA, Use: "sig"})
	if err != nil {
		tb.Fatal(err)
	}
	st := &memKeys{keys: []store.SigningKey{{KID: fuzzKID, Algorithm: keys.EdDSA, Private: box.Seal(der, []byte(fuzzKID)),
		PublicJWK: pub, CreatedAt: now.Add(-time.Hour), SignsFrom: now.Add(-time.Hour)}}}
	clock := func() time.Time { return now }
	m, err := keys.New(st, fuzzSecret, keys.Config{Algorithm: keys.EdDSA,
		PublishAhead: time.Hour, MaxTokenTTL: 15 * time.Minute, JWKSMaxAge: 5 * time.Minute}, nil, clock)
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Init(context.Background()); err != nil {
		tb.Fatal(err)
	}
	if kid, _, _, err := m.Current(); err != nil || kid != fuzzKID {
		tb.Fatalf("active key %q (%v), want %s", kid, err, fuzzKID)
	}
	return New(m, &memRevocations{}, issuer, clock), m
}

// fuzzWant is what Parse and Verify must answer for a token the test made.
type fuzzWant struct {
	parsed bool   // Parse accepts it, with claims
	claims Claims // as signed
	verify error  // nil, ErrExpired, ErrRevoked or ErrInvalid
}

// FuzzParseVerify feeds arbitrary strings to Service.Parse and Verify, the
// check of every bearer token. Neither may panic; they refuse with their
// own errors; they accept only a token this test signed, byte for byte,
// with the claims that were signed, and those claims survive a JSON round
// trip. Tokens signed by the key but not access tokens of this issuer
// (typ, iss, missing claims, not JSON) are refused by both.
func FuzzParseVerify(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, m := fuzzService(f, now)
	ctx := context.Background()

	want := map[string]fuzzWant{}
	issue := func(c Claims, verify error) string {
		tok, err := s.Issue(c)
		if err != nil {
			f.Fatal(err)
		}
		c.Issuer = issuer
		want[tok] = fuzzWant{parsed: true, claims: c, verify: verify}
		return tok
	}
	base := Claims{Subject: "u1", Kind: KindUser, ClientID: "backoffice", Audience: Audience{"crm"}, IssuedAt: now.Unix(),
		ExpiresAt: now.Add(15 * time.Minute).Unix(), ID: "jti-good", Org: "o1", Mode: "live", Scope: "a b"}
	with := func(edit func(*Claims)) Claims { c := base; edit(&c); return c }

	good := issue(base, nil)
	issue(with(func(c *Claims) {
		c.ID, c.Kind, c.Subject, c.Audience, c.Scope = "jti-client", KindClient, "introspection", Audience{"a", "b"}, "tokens:introspect"
		c.Org, c.Mode = "", ""
	}), nil)
	issue(with(func(c *Claims) { c.ID, c.Kind, c.HomeOrg, c.NotBefore = "jti-contact", KindContact, "home", now.Unix() }), nil)
	issue(with(func(c *Claims) {
		c.ID, c.IssuedAt, c.ExpiresAt = "jti-expired", now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}), ErrExpired)
	issue(with(func(c *Claims) { c.ID, c.NotBefore = "jti-future", now.Add(time.Hour).Unix() }), ErrInvalid)
	revoked := with(func(c *Claims) { c.ID = "jti-revoked" })
	issue(revoked, ErrRevoked)
	revoked.Issuer = issuer
	if err := s.Revoke(ctx, revoked); err != nil {
		f.Fatal(err)
	}
	issue(with(func(c *Claims) { c.ID, c.Family = "jti-family", "fam-1" }), ErrRevoked)
	if err := s.RevokeFamily(ctx, "fam-1", 15*time.Minute); err != nil {
		f.Fatal(err)
	}
	issue(with(func(c *Claims) { c.ID, c.Family = "jti-live-family", "fam-2" }), nil)

	// Signed by the key, but not access tokens of this issuer.
	signRaw := func(payload, typ string) string {
		tok, err := m.Sign([]byte(payload), typ)
		if err != nil {
			f.Fatal(err)
		}
		if _, ok := want[tok]; !ok {
			want[tok] = fuzzWant{verify: ErrInvalid}
		}
		return tok
	}
	full := func(edit func(map[string]any)) string {
		b, _ := json.Marshal(with(func(c *Claims) { c.Issuer, c.ID = issuer, "jti-raw" }))
		var claims map[string]any
		_ = json.Unmarshal(b, &claims)
		edit(claims)
		b, _ = json.Marshal(claims)
		return string(b)
	}
	for _, r := range []struct{ payload, typ string }{
		{full(func(map[string]any) {}), "JWT"},
		{full(func(map[string]any) {}), ""},
		{full(func(map[string]any) {}), "at+JWT+x"},
		{full(func(c map[string]any) { c["iss"] = "https://evil.example.com" }), Type},
		{full(func(c map[string]any) { delete(c, "iss") }), Type},
		{full(func(c map[string]any) { delete(c, "sub") }), Type},
		{full(func(c map[string]any) { delete(c, "jti") }), Type},
		{full(func(c map[string]any) { delete(c, "exp") }), Type},
		{full(func(c map[string]any) { delete(c, "kind") }), Type},
		{full(func(c map[string]any) { c["exp"] = "soon" }), Type},
		{full(func(c map[string]any) { c["aud"] = 7 }), Type},
		{full(func(c map[string]any) { c["sub"] = nil }), Type},
		{`[]`, Type},
		{`null`, Type},
		{`{"iss":"` + issuer + `"`, Type},
		{``, Type},
	} {
		signRaw(r.payload, r.typ)
	}
	// The typ may also be spelled as a media type (RFC 9068 §2.1).
	appTyp, err := m.Sign([]byte(full(func(map[string]any) {})), "application/AT+JWT")
	if err != nil {
		f.Fatal(err)
	}
	c := with(func(c *Claims) { c.Issuer, c.ID = issuer, "jti-raw" })
	want[appTyp] = fuzzWant{parsed: true, claims: c, verify: nil}

	for tok := range want {
		f.Add(tok)
	}
	parts := strings.Split(good, ".")
	for _, tok := range []string{
		"",
		"garbage",
		"a.b.c",
		parts[0] + "." + parts[1],
		parts[0] + "." + parts[1] + "." + parts[2] + ".",
		parts[0] + "." + b64(`{"sub":"admin","iss":"`+issuer+`","jti":"x","exp":9999999999,"kind":"user"}`) + "." + parts[2],
		b64(`{"alg":"none","typ":"at+jwt"}`) + "." + parts[1] + ".",
		b64(`{"alg":"HS256","kid":"`+fuzzKID+`","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"EdDSA","kid":"unknown","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2],
		parts[0] + "." + strings.Repeat("A", 8200) + "." + parts[2],
		strings.Repeat("a", 9000) + ".b.c",
	} {
		f.Add(tok)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		w, known := want[raw]
		c, err := s.Parse(raw)
		switch {
		case err == nil && !w.parsed:
			t.Fatalf("Parse accepted %q (%+v), which the test did not sign as an access token", raw, c)
		case err == nil:
			if !reflect.DeepEqual(c, w.claims) {
				t.Fatalf("Parse(%q) = %+v, signed %+v", raw, c, w.claims)
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var again Claims
			if err := json.Unmarshal(b, &again); err != nil || !reflect.DeepEqual(again, c) {
				t.Fatalf("claims %+v do not survive JSON (%s): %+v %v", c, b, again, err)
			}
		case !errors.Is(err, ErrInvalid):
			t.Fatalf("Parse(%q): unexpected error %v", raw, err)
		case w.parsed:
			t.Fatalf("Parse refused an access token the test signed: %v", err)
		case !reflect.DeepEqual(c, Claims{}):
			t.Fatalf("Parse(%q) failed (%v) but returned %+v", raw, err, c)
		}

		c, err = s.Verify(ctx, raw)
		switch {
		case !known && err == nil:
			t.Fatalf("Verify accepted %q (%+v), which the test did not sign", raw, c)
		case !known && !errors.Is(err, ErrInvalid):
			t.Fatalf("Verify(%q) = %v, want ErrInvalid", raw, err)
		case !known:
		case !errors.Is(err, w.verify):
			t.Fatalf("Verify(%q) = %v, want %v", raw, err, w.verify)
		case w.verify == ErrInvalid:
			if !reflect.DeepEqual(c, Claims{}) {
				t.Fatalf("Verify(%q) refused (%v) but returned %+v", raw, err, c)
			}
		case !reflect.DeepEqual(c, w.claims):
			t.Fatalf("Verify(%q) = %+v, signed %+v", raw, c, w.claims)
		}
	})
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
