package verify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestVerifyValid(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t)
			e.authd.SetActive(e.authd.AddKey(alg, true))
			e.v = e.newVerifier()
			now := e.clock.Now()
			tok := e.token(func(c map[string]any) {
				c["aud"] = []string{"https://other.example", e.authd.URL()}
				c["scope"] = "profile  orders:read"
				c["kind"], c["sub"], c["org"], c["mode"] = "contact", "contact-7", "biz-1", "test"
				c["home_org"], c["service_owner"], c["jti"] = "home-1", true, "jti-1"
			})
			got, err := e.v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := &Claims{
				Subject: "contact-7", Kind: KindContact, Org: "biz-1", Mode: ModeTest,
				Scopes: []string{"profile", "orders:read"}, ServiceOwner: true, HomeOrg: "home-1",
				ClientID: "backoffice", ID: "jti-1", Family: "family-1",
				IssuedAt: time.Unix(now.Unix(), 0), ExpiresAt: time.Unix(now.Add(5*time.Minute).Unix(), 0),
				Audience: []string{"https://other.example", e.authd.URL()},
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("claims\n got %+v\nwant %+v", got, want)
			}
			if !got.HasScope("orders:read") || got.HasScope("orders") {
				t.Fatal("HasScope")
			}
		})
	}
}

func TestVerifyTypVariants(t *testing.T) {
	e := start(t)
	for _, typ := range []string{"at+jwt", "application/at+jwt", "AT+JWT"} {
		tok := e.authd.Active().Sign(map[string]any{"typ": typ}, e.authd.Claims())
		if _, err := e.v.Verify(context.Background(), tok); err != nil {
			t.Errorf("typ %q: %v", typ, err)
		}
	}
}

// b64 is base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jsonB64(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

func TestVerifyRefuses(t *testing.T) {
	e := start(t)
	key := e.authd.Active()
	other := e.authd.AddKey("RS256", true) // published: its kid is known
	e.v.Close()
	e.v = e.newVerifier() // sees both keys
	unpublished := e.authd.AddKey("ES256", false)

	edit := func(f func(c map[string]any)) string { return e.token(f) }
	claims := e.authd.Claims()
	hdr := func(alg string) string {
		return jsonB64(t, map[string]any{"alg": alg, "kid": key.KID, "typ": "at+jwt"})
	}
	// HMAC keyed with the public key, as a confused verifier would check it.
	hmacTok := func(secret []byte) string {
		in := hdr("HS256") + "." + jsonB64(t, claims)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return in + "." + b64(m.Sum(nil))
	}
	valid := e.token(nil)
	parts := strings.Split(valid, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	tamperedSig := parts[0] + "." + parts[1] + "." + b64(sig)
	forged := map[string]any{}
	for k, v := range claims {
		forged[k] = v
	}
	forged["sub"] = "admin"
	tamperedPayload := parts[0] + "." + jsonB64(t, forged) + "." + parts[2]

	now := e.clock.Now()
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"garbage", "not-a-token", ErrInvalid},
		{"empty", "", ErrInvalid},
		{"two segments", parts[0] + "." + parts[1], ErrInvalid},
		{"iss", edit(func(c map[string]any) { c["iss"] = "https://evil.example" }), ErrInvalid},
		{"aud", edit(func(c map[string]any) { c["aud"] = "https://other.example" }), ErrAudience},
		{"aud array", edit(func(c map[string]any) { c["aud"] = []string{"a", "b"} }), ErrAudience},
		{"no aud", edit(func(c map[string]any) { delete(c, "aud") }), ErrAudience},
		{"expired", edit(func(c map[string]any) { c["exp"] = now.Add(-31 * time.Second).Unix() }), ErrExpired},
		{"nbf", edit(func(c map[string]any) { c["nbf"] = now.Add(31 * time.Second).Unix() }), ErrInvalid},
		{"no exp", edit(func(c map[string]any) { delete(c, "exp") }), ErrInvalid},
		{"no iat", edit(func(c map[string]any) { delete(c, "iat") }), ErrInvalid},
		{"no sub", edit(func(c map[string]any) { delete(c, "sub") }), ErrInvalid},
		{"no jti", edit(func(c map[string]any) { delete(c, "jti") }), ErrInvalid},
		{"no kind", edit(func(c map[string]any) { delete(c, "kind") }), ErrInvalid},
		{"no client_id", edit(func(c map[string]any) { delete(c, "client_id") }), ErrInvalid},
		{"exp not a number", edit(func(c map[string]any) { c["exp"] = "tomorrow" }), ErrInvalid},
		{"typ JWT", key.Sign(map[string]any{"typ": "JWT"}, claims), ErrInvalid},
		{"no typ", key.Sign(map[string]any{"typ": nil}, claims), ErrInvalid},
		{"no kid", key.Sign(map[string]any{"kid": ""}, claims), ErrInvalid},
		{"alg none", hdr("none") + "." + jsonB64(t, claims) + ".", ErrInvalid},
		{"HS256 keyed with the JWK", hmacTok(key.JWK()), ErrInvalid},
		{"alg of another key", other.Sign(map[string]any{"kid": key.KID}, claims), ErrInvalid},
		{"unknown kid", unpublished.Sign(nil, claims), ErrInvalid},
		{"tampered signature", tamperedSig, ErrInvalid},
		{"tampered payload", tamperedPayload, ErrInvalid},
		{"too long", strings.Repeat("a", maxTokenLen+1), ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.v.Verify(context.Background(), tc.token)
			t.Log(err)
			if !errors.Is(err, tc.want) || c != nil {
				t.Fatalf("Verify = %v, %v; want %v", c, err, tc.want)
			}
			for _, other := range []error{ErrInvalid, ErrExpired, ErrRevoked, ErrAudience} {
				if other != tc.want && errors.Is(err, other) {
					t.Fatalf("%v also matches %v", err, other)
				}
			}
		})
	}
	if n := e.v.Status().CachedTokens; n != 0 {
		t.Fatalf("refused tokens were cached: %d entries", n)
	}
}

func TestVerifyLeeway(t *testing.T) {
	e := start(t, WithLeeway(10*time.Second))
	now := e.clock.Now()
	late := e.token(func(c map[string]any) { c["exp"] = now.Add(-9 * time.Second).Unix() })
	early := e.token(func(c map[string]any) { c["nbf"] = now.Add(9 * time.Second).Unix() })
	for _, tok := range []string{late, early} {
		if _, err := e.v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("within the leeway: %v", err)
		}
	}
	e.clock.Advance(2 * time.Second)
	if _, err := e.v.Verify(context.Background(), late); !errors.Is(err, ErrExpired) {
		t.Fatalf("cached, past exp and the leeway: %v", err)
	}
}

func TestNewChecks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := New(ctx, e.authd.URL(), WithHTTPClient(e.authd.Client())); err == nil || !strings.Contains(err.Error(), "WithAudience") {
		t.Fatalf("no audience: %v", err)
	}
	if _, err := New(ctx, e.authd.URL()+"/", WithAudience("x"), WithHTTPClient(e.authd.Client())); err == nil || !strings.Contains(err.Error(), "names the issuer") {
		t.Fatalf("another issuer: %v", err)
	}
	e.authd.SetJWKSDown(true)
	if _, err := New(ctx, e.authd.URL(), WithAudience("x"), WithHTTPClient(e.authd.Client())); err == nil || !strings.Contains(err.Error(), "JWKS") {
		t.Fatalf("JWKS down: %v", err)
	}
	e.authd.SetJWKSDown(false)
	v := e.newVerifier()
	if m := v.Metadata(); m.Issuer != e.authd.URL() || m.RevocationFeedEndpoint != e.authd.URL()+"/oauth2/revocations" {
		t.Fatalf("metadata %+v", m)
	}
	e.authd.AdvertiseFeed(false)
	v = e.newVerifier()
	if got := v.Metadata().RevocationFeedEndpoint; got != e.authd.URL()+"/oauth2/revocations" {
		t.Fatalf("default feed endpoint %q", got)
	}
}

func TestUnknownKidRefetch(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	before, _ := e.authd.JWKSRequests()

	// A key published after the Verifier fetched the set: one fetch finds it.
	rotated := e.authd.AddKey("EdDSA", true)
	if _, err := e.v.Verify(ctx, rotated.Sign(nil, e.authd.Claims())); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if n, _ := e.authd.JWKSRequests(); n != before+1 {
		t.Fatalf("JWKS fetches = %d, want %d", n, before+1)
	}

	// A kid the issuer does not publish: no second fetch within 10s.
	unknown := e.authd.AddKey("ES256", false)
	e.clock.Advance(11 * time.Second)
	for range 3 {
		if _, err := e.v.Verify(ctx, unknown.Sign(nil, e.authd.Claims())); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n, _ := e.authd.JWKSRequests(); n != before+2 {
		t.Fatalf("JWKS fetches = %d, want %d (one per 10s)", n, before+2)
	}
	e.clock.Advance(10 * time.Second)
	e.authd.Publish(unknown, true)
	if _, err := e.v.Verify(ctx, unknown.Sign(nil, e.authd.Claims())); err != nil {
		t.Fatalf("after 10s the kid is fetched again: %v", err)
	}
}

func TestJWKSConditionalAndLastGood(t *testing.T) {
	e := newEnv(t)
	e.authd.SetJWKSCacheControl("public, max-age=60")
	e.v = e.newVerifier()
	ctx := context.Background()
	tok := e.token(nil)
	verifyOK := func(what string) {
		t.Helper()
		if _, err := e.v.Verify(ctx, tok); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		e.v.keys.bg.Wait() // a refresh it started
	}
	verifyOK("fresh")
	if n, nm := e.authd.JWKSRequests(); n != 1 || nm != 0 {
		t.Fatalf("requests %d/%d", n, nm)
	}

	// Stale: refreshed in the background with If-None-Match → 304.
	e.clock.Advance(61 * time.Second)
	verifyOK("stale")
	if n, nm := e.authd.JWKSRequests(); n != 2 || nm != 1 {
		t.Fatalf("requests %d, 304s %d; want 2, 1", n, nm)
	}
	if got := e.v.Status().KeysFetchedAt; !got.Equal(e.clock.Now()) {
		t.Fatalf("a 304 renews the set: fetched at %v", got)
	}
	verifyOK("fresh again")
	if n, _ := e.authd.JWKSRequests(); n != 2 {
		t.Fatalf("a fresh set is not fetched: %d requests", n)
	}

	// The issuer is down: the last set serves, with a fetch at most every 10s.
	e.authd.SetJWKSDown(true)
	e.clock.Advance(61 * time.Second)
	verifyOK("down")
	verifyOK("down, again")
	if n, _ := e.authd.JWKSRequests(); n != 3 {
		t.Fatalf("requests %d; want 3 (one failed attempt)", n)
	}
	e.clock.Advance(11 * time.Second)
	verifyOK("down, retried")
	if n, _ := e.authd.JWKSRequests(); n != 4 {
		t.Fatalf("requests %d; want 4", n)
	}

	// Back: a changed set (a key removed) is a 200 and replaces it.
	e.authd.SetJWKSDown(false)
	fresh := e.authd.AddKey("ES256", true)
	e.authd.Publish(e.authd.Active(), false)
	e.clock.Advance(11 * time.Second)
	verifyOK("cached token: its key is still in the set held")
	if st := e.v.Status(); st.Keys != 1 || !st.KeysFetchedAt.Equal(e.clock.Now()) {
		t.Fatalf("status %+v", st)
	}
	if _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a cached token whose key left the JWKS: %v", err)
	}
	if _, err := e.v.Verify(ctx, fresh.Sign(nil, e.authd.Claims())); err != nil {
		t.Fatalf("new key: %v", err)
	}
}

func TestJWKSSkipsUnusableKeys(t *testing.T) {
	k := &keyCache{log: quiet}
	e := newEnv(t)
	good := e.authd.Active()
	body := `{"keys":[
		{"kty":"oct","kid":"hmac","alg":"HS256","k":"c2VjcmV0"},
		{"kty":"EC","kid":"noalg","crv":"P-256","x":"` + jwkField(t, good, "x") + `","y":"` + jwkField(t, good, "y") + `"},
		{"kty":"EC","kid":"wrongalg","alg":"RS256","crv":"P-256","x":"` + jwkField(t, good, "x") + `","y":"` + jwkField(t, good, "y") + `"},
		{"kty":"EC","kid":"enc","use":"enc","alg":"ES256","crv":"P-256","x":"` + jwkField(t, good, "x") + `","y":"` + jwkField(t, good, "y") + `"},
		{"kty":"weird","kid":"weird"},
		` + string(good.JWK()) + `]}`
	ks, err := k.parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.keys) != 1 || !ks.has(good.KID) || len(ks.algs) != 1 {
		t.Fatalf("keys %v algs %v", ks.keys, ks.algs)
	}
	if _, err := k.parse([]byte(`{"keys":[{"kty":"oct","kid":"hmac","alg":"HS256","k":"c2VjcmV0"}]}`)); err == nil {
		t.Fatal("a set without a usable key is an error")
	}
}

func jwkField(t *testing.T, k interface{ JWK() []byte }, name string) string {
	var m map[string]any
	if err := json.Unmarshal(k.JWK(), &m); err != nil {
		t.Fatal(err)
	}
	return m[name].(string)
}

func TestFreshness(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"":                        5 * time.Minute,
		"public, max-age=300":     300 * time.Second,
		"max-age=3":               10 * time.Second,
		"no-cache":                10 * time.Second,
		"no-store, max-age=600":   10 * time.Second,
		"MAX-AGE=999999999":       24 * time.Hour,
		"max-age=\"120\", public": 120 * time.Second,
		"max-age=junk":            5 * time.Minute,
	} {
		if got := freshness(cc); got != want {
			t.Errorf("freshness(%q) = %v, want %v", cc, got, want)
		}
	}
}

func TestCacheHit(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	tok := e.token(func(c map[string]any) { c["scope"] = "a b" })
	first, err := e.v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	first.Scopes[0], first.Audience[0] = "changed", "changed"
	first.Scopes = append(first.Scopes, "appended")
	second, err := e.v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(second.Scopes, []string{"a", "b"}) || second.Audience[0] != e.authd.URL() {
		t.Fatalf("a caller's changes reached the cache: %+v", second)
	}
	if n := e.v.Status().CachedTokens; n != 1 {
		t.Fatalf("cached %d", n)
	}
	// The entry never outlives exp (and the leeway).
	e.clock.Advance(5*time.Minute + DefaultLeeway + time.Second)
	if _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired while cached: %v", err)
	}
	if n := e.v.Status().CachedTokens; n != 0 {
		t.Fatalf("expired entry kept: %d", n)
	}
}

func TestCacheBounded(t *testing.T) {
	e := start(t, WithCacheSize(32))
	for range 200 {
		if _, err := e.v.Verify(context.Background(), e.token(nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.v.Status().CachedTokens; n > 32 || n == 0 {
		t.Fatalf("cached %d, want 1..32", n)
	}
	off := e.newVerifier(WithCacheSize(0))
	if _, err := off.Verify(context.Background(), e.token(nil)); err != nil || off.Status().CachedTokens != 0 {
		t.Fatalf("cache off: %v %+v", err, off.Status())
	}
}

func TestCacheKeyIsTheHash(t *testing.T) {
	e := start(t)
	tok := e.token(nil)
	if _, err := e.v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := e.v.cache.get(tokenSum(tok)); !ok {
		t.Fatal("not cached under its SHA-256")
	}
	if sha256.Sum256([]byte(tok)) != tokenSum(tok) {
		t.Fatal("tokenSum is not SHA-256")
	}
}
