package facebooktest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authd/authd/internal/upstream/facebook"
)

// LimitedLoginIssuer is the iss of the fake's id tokens, the one Facebook
// uses (config limited_login_issuer's default).
const LimitedLoginIssuer = "https://www.facebook.com"

// jwksPath is where the fake publishes its keys, as Facebook does.
const jwksPath = "/.well-known/oauth/openid/jwks/"

// LimitedLogin is a fake Limited Login issuer: it signs id tokens RS256
// with a kid and publishes its keys as a JWKS over HTTP. Safe for
// concurrent use.
type LimitedLogin struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	keys    []signingKey // published; the last one signs
	fetches int
	down    bool
}

type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// NewLimitedLogin starts a fake issuer with one 2048-bit key, closed when
// the test ends.
func NewLimitedLogin(t testing.TB) *LimitedLogin {
	t.Helper()
	l := &LimitedLogin{t: t}
	l.keys = []signingKey{newSigningKey(t)}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.srv.Close)
	return l
}

func newSigningKey(t testing.TB) signingKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("facebooktest: generating a key: %v", err)
	}
	kid := make([]byte, 20)
	_, _ = rand.Read(kid)
	return signingKey{kid: hex.EncodeToString(kid), priv: priv}
}

// JWKSURL is the key set's URL (config limited_login_jwks_url).
func (l *LimitedLogin) JWKSURL() string { return l.srv.URL + jwksPath }

// Issuer is the iss the fake signs (config limited_login_issuer).
func (l *LimitedLogin) Issuer() string { return LimitedLoginIssuer }

// KeyID is the kid of the current signing key.
func (l *LimitedLogin) KeyID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys[len(l.keys)-1].kid
}

// Rotate makes a new signing key and returns its kid. The previous keys
// stay published, as during a real rotation.
func (l *LimitedLogin) Rotate() string {
	k := newSigningKey(l.t)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, k)
	return k.kid
}

// Retire stops publishing the key kid (the current key cannot be
// retired).
func (l *LimitedLogin) Retire(kid string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, k := range l.keys[:len(l.keys)-1] {
		if k.kid == kid {
			l.keys = append(l.keys[:i:i], l.keys[i+1:]...)
			return
		}
	}
}

// Fetches is how many times the JWKS was requested.
func (l *LimitedLogin) Fetches() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fetches
}

// SetDown makes the JWKS answer 503 (down) or the keys (up).
func (l *LimitedLogin) SetDown(down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = down
}

// Claims are the claims of a Limited Login id token for p in app appID,
// issued at now for an hour; add "nonce" (or change anything) before
// Sign.
func (l *LimitedLogin) Claims(appID string, p facebook.Profile, now time.Time) map[string]any {
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	c := map[string]any{
		"iss":         LimitedLoginIssuer,
		"aud":         appID,
		"sub":         p.ID,
		"iat":         now.Unix(),
		"exp":         now.Add(time.Hour).Unix(),
		"jti":         hex.EncodeToString(jti),
		"name":        p.FirstName + " " + p.LastName,
		"given_name":  p.FirstName,
		"family_name": p.LastName,
	}
	if p.Email != "" {
		c["email"] = p.Email
	}
	if p.PictureURL != "" {
		c["picture"] = p.PictureURL
	}
	return c
}

// Sign returns claims as a compact JWS signed RS256 by the current key,
// its kid in the header.
func (l *LimitedLogin) Sign(claims map[string]any) string {
	l.mu.Lock()
	k := l.keys[len(l.keys)-1]
	l.mu.Unlock()
	return l.sign(k.priv, k.kid, claims)
}

// SignWithKID signs like Sign but names kid in the header.
func (l *LimitedLogin) SignWithKID(claims map[string]any, kid string) string {
	l.mu.Lock()
	k := l.keys[len(l.keys)-1]
	l.mu.Unlock()
	return l.sign(k.priv, kid, claims)
}

// Forge signs RS256 with a key that is not published, naming the current
// kid: what an attacker without Facebook's key can make.
func (l *LimitedLogin) Forge(claims map[string]any) string {
	k := newSigningKey(l.t)
	return l.sign(k.priv, l.KeyID(), claims)
}

// SignNone returns an unsigned token (alg "none").
func (l *LimitedLogin) SignNone(claims map[string]any) string {
	return l.compact(map[string]any{"alg": "none", "typ": "JWT"}, claims, nil)
}

// SignHS256 returns a token MACed HS256 with the current public key's
// PEM as the secret, naming its kid: the RS256/HS256 confusion attack.
func (l *LimitedLogin) SignHS256(claims map[string]any) string {
	l.mu.Lock()
	k := l.keys[len(l.keys)-1]
	l.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		l.t.Errorf("facebooktest: %v", err)
		return ""
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return l.compact(map[string]any{"alg": "HS256", "typ": "JWT", "kid": k.kid}, claims, func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	})
}

func (l *LimitedLogin) compact(header, claims map[string]any, mac func([]byte) []byte) string {
	h, err1 := json.Marshal(header)
	c, err2 := json.Marshal(claims)
	if err1 != nil || err2 != nil {
		l.t.Errorf("facebooktest: encoding a token: %v %v", err1, err2)
		return ""
	}
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	var sig []byte
	if mac != nil {
		sig = mac([]byte(in))
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (l *LimitedLogin) sign(priv *rsa.PrivateKey, kid string, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err == nil {
		var s string
		if s, err = jwt.Signed(signer).Claims(claims).Serialize(); err == nil {
			return s
		}
	}
	l.t.Errorf("facebooktest: signing a token: %v", err)
	return ""
}

func (l *LimitedLogin) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != jwksPath {
		http.NotFound(w, r)
		return
	}
	l.mu.Lock()
	l.fetches++
	down := l.down
	set := jose.JSONWebKeySet{}
	for _, k := range l.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: string(jose.RS256), Use: "sig"})
	}
	l.mu.Unlock()
	if down {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}
