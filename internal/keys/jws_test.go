package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// verifyWithJWKS verifies tok the way a relying party does, from the JWKS.
func verifyWithJWKS(t *testing.T, m *Manager, tok, alg string) string {
	t.Helper()
	body, _ := m.JWKS()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Use != "sig" || k.Algorithm == "" || k.KeyID == "" {
			t.Fatalf("JWKS key %+v is not a public signing key with kid and alg", k)
		}
	}
	obj, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := obj.Verify(&set)
	if err != nil {
		t.Fatalf("verify with the JWKS: %v", err)
	}
	return string(payload)
}

// forge signs payload with key under a header of our choosing.
func forge(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, extra map[jose.HeaderKey]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid)
	for k, v := range extra {
		opts = opts.WithHeader(k, v)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(`{"sub":"admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// unusedBitsSet respells the last character of seg (a base64url segment
// whose length is 2 or 3 mod 4) with its unused low bits set: the same
// bytes to a lenient decoder.
func unusedBitsSet(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, seg[len(seg)-1])
	if len(seg)%4 < 2 || i < 0 {
		panic("unusedBitsSet: " + seg)
	}
	return seg[:len(seg)-1] + string(alphabet[i|1])
}

func TestVerifyRejects(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	es := initManager(t, st, clk, testConfig())
	expiredTok, _ := mustSign(t, es)
	clk.Advance(time.Minute)
	if _, err := es.Rotate(bg(), true); err != nil {
		t.Fatal(err)
	}
	clk.Advance(grace)
	cfg := testConfig()
	cfg.Algorithm = RS256
	m := initManager(t, st, clk, cfg) // holds the expired key, the active ES256 key and a NEXT RS256 key
	good, esKID := mustSign(t, m)
	list, _ := m.List(bg())
	rsKID := list[len(list)-1].KID
	esPriv := m.set.Load().lookup(esKID).private
	rsPriv := m.set.Load().lookup(rsKID).private
	pubDER, err := x509.MarshalPKIXPublicKey(esPriv.Public())
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	parts := strings.Split(good, ".")

	tests := []struct {
		name    string
		token   string
		want    error
		reloads int64 // SELECTs the rejection may cost
	}{
		{"empty", "", ErrMalformed, 0},
		{"garbage", "not a token", ErrMalformed, 0},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed, 0},
		{"bad base64", parts[0] + ".!!!." + parts[2], ErrMalformed, 0},
		{"JSON serialization", `{"payload":"e30","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, ErrMalformed, 0},
		{"too long", parts[0] + "." + strings.Repeat("A", maxTokenLen) + "." + parts[2], ErrMalformed, 0},
		{"alg none", b64(`{"alg":"none","kid":"`+esKID+`","typ":"at+jwt"}`) + "." + b64(`{"sub":"admin"}`) + ".", ErrInvalidSignature, 0},
		{"HS256 keyed with the public key (alg confusion)", forge(t, jose.HS256, pubDER, esKID, nil), ErrInvalidSignature, 0},
		{"HS256 keyed with the public JWK", forge(t, jose.HS256, m.set.Load().lookup(esKID).jwk, esKID, nil), ErrInvalidSignature, 0},
		{"RS256 header on the ES256 key", forge(t, jose.RS256, rsPriv, esKID, nil), ErrInvalidSignature, 0},
		{"ES256 header on the RS256 key", forge(t, jose.ES256, esPriv, rsKID, nil), ErrInvalidSignature, 0},
		{"tampered payload", parts[0] + "." + b64(`{"sub":"admin","exp":1}`) + "." + parts[2], ErrInvalidSignature, 0},
		{"tampered header", b64(`{"alg":"ES256","kid":"`+esKID+`","typ":"JWT"}`) + "." + parts[1] + "." + parts[2], ErrInvalidSignature, 0},
		{"another key under a known kid", forge(t, jose.ES256, stranger, esKID, nil), ErrInvalidSignature, 0},
		{"unencoded payload (b64)", forge(t, jose.ES256, esPriv, esKID, map[jose.HeaderKey]any{"b64": false, "crit": []string{"b64"}}), ErrMalformed, 0},
		{"no kid", forge(t, jose.ES256, esPriv, "", nil), ErrUnknownKey, 0},
		{"unknown kid", forge(t, jose.ES256, stranger, "no-such-kid", nil), ErrUnknownKey, 1},
		{"algorithm of no held key", forge(t, jose.EdDSA, edPriv, "ed-kid", nil), ErrInvalidSignature, 1},
		{"expired key (deleted by Init's write: unknown)", expiredTok, ErrUnknownKey, 1},
		// One signed token has one spelling: a lenient base64 decoder would
		// take these as the good token.
		{"line feed in the signature", parts[0] + "." + parts[1] + "." + parts[2][:10] + "\n" + parts[2][10:], ErrMalformed, 0},
		{"CR LF in the payload", parts[0] + "." + parts[1][:5] + "\r\n" + parts[1][5:] + "." + parts[2], ErrMalformed, 0},
		{"unused bits set in the signature", parts[0] + "." + parts[1] + "." + unusedBitsSet(parts[2]), ErrMalformed, 0},
		{"unused bits set in the payload", parts[0] + "." + unusedBitsSet(parts[1]) + "." + parts[2], ErrMalformed, 0},
		{"padded signature", good + "==", ErrMalformed, 0},
		{"standard base64 alphabet", parts[0] + "." + parts[1] + "." + stdAlphabet(parts[2]), ErrMalformed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(demandReloadEvery) // every case may reload once
			before := st.lists.Load()
			payload, _, err := m.Verify(tt.token)
			if !errors.Is(err, tt.want) || payload != nil {
				t.Fatalf("Verify = %q, %v; want %v", payload, err, tt.want)
			}
			if n := st.lists.Load() - before; n != tt.reloads {
				t.Fatalf("%d reloads, want %d", n, tt.reloads)
			}
		})
	}
	if _, _, err := m.Verify(good); err != nil {
		t.Fatalf("the good token: %v", err)
	}
}

func TestVerifyUnknownKidReload(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	a, b := initManager(t, st, clk, testConfig()), initManager(t, st, clk, testConfig())
	clk.Advance(time.Minute)
	if _, err := b.Rotate(bg(), true); err != nil {
		t.Fatal(err)
	}
	tok, kid := mustSign(t, b)
	before := st.lists.Load()
	if _, h, err := a.Verify(tok); err != nil || h.KID != kid {
		t.Fatalf("replica a, before its periodic reload, on b's new key: %v", err)
	}
	if n := st.lists.Load() - before; n != 1 {
		t.Fatalf("%d reloads, want 1", n)
	}

	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	garbage := forge(t, jose.ES256, stranger, "garbage-kid", nil)
	count := func(f func()) int64 {
		before := st.lists.Load()
		f()
		return st.lists.Load() - before
	}
	if n := count(func() { _, _, _ = a.Verify(garbage) }); n != 0 {
		t.Fatalf("unknown kid right after a reload: %d reloads, want 0 (rate limit)", n)
	}
	clk.Advance(demandReloadEvery)
	n := count(func() {
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, _, err := a.Verify(garbage); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("Verify = %v, want ErrUnknownKey", err)
				}
			})
		}
		wg.Wait()
	})
	if n != 1 {
		t.Fatalf("50 concurrent unknown kids cost %d reloads, want 1", n)
	}
}

func TestJWKS(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	m := initManager(t, st, clk, testConfig())
	body1, etag1 := m.JWKS()
	if !strings.HasPrefix(etag1, `"`) || !strings.HasSuffix(etag1, `"`) || len(etag1) != 34 {
		t.Fatalf("ETag %s is not a quoted hash", etag1)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body1, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", body1, err)
	}
	k := set.Keys[0]
	if k["kid"] != activeKID(t, m) || k["alg"] != "ES256" || k["use"] != "sig" || k["kty"] != "EC" || k["d"] != nil {
		t.Fatalf("JWK = %v", k)
	}

	clk.Advance(time.Minute)
	if err := m.reload(bg()); err != nil {
		t.Fatal(err)
	}
	body2, etag2 := m.JWKS()
	if etag2 != etag1 || &body2[0] != &body1[0] {
		t.Fatal("a reload without changes re-encoded the JWKS")
	}
	if _, err := m.Rotate(bg(), false); err != nil {
		t.Fatal(err)
	}
	if _, etag3 := m.JWKS(); etag3 == etag1 {
		t.Fatal("ETag unchanged after a rotation")
	}

	var empty Manager
	if body, etag := empty.JWKS(); string(body) != `{"keys":[]}` || etag == "" {
		t.Fatalf("JWKS before Init = %s %s", body, etag)
	}
	if _, err := empty.Sign(nil, ""); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Sign before Init = %v", err)
	}
	if _, _, err := empty.Verify("a.b.c"); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Verify before Init = %v", err)
	}
}

func TestConcurrentSignVerifyReload(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	cfg := testConfig()
	cfg.RotationPeriod = 2 * time.Hour
	m, other := initManager(t, st, clk, cfg), initManager(t, st, clk, cfg)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			typ := []string{"at+jwt", "JWT", ""}[i%3]
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok, err := m.Sign([]byte(`{"sub":"c"}`), typ)
				if err != nil {
					t.Error(err)
					return
				}
				for _, v := range []*Manager{m, other} {
					if _, h, err := v.Verify(tok); err != nil || h.Type != typ {
						t.Errorf("Verify: %v (typ %q)", err, h.Type)
						return
					}
				}
				m.JWKS()
				_ = m.Ready()
			}
		})
	}
	for i := range 30 {
		clk.Advance(10 * time.Second) // keys retire, but none expires under a goroutine
		if i%7 == 0 {
			if _, err := m.Rotate(bg(), true); err != nil {
				t.Error(err)
			}
		}
		for _, r := range []*Manager{m, other} {
			if err := r.reload(bg()); err != nil {
				t.Error(err)
			}
			if err := r.rotateIfDue(bg()); err != nil {
				t.Error(err)
			}
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
}

// stdAlphabet spells a base64url string in the standard alphabet; a
// string without '-' or '_' (they would map to '+' and '/') gets a '+'
// in place of its first character, so the result always has one.
func stdAlphabet(s string) string {
	out := strings.NewReplacer("-", "+", "_", "/").Replace(s)
	if out == s {
		out = "+" + s[1:]
	}
	return out
}
