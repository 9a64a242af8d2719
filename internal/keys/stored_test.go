package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
)

// TestCorruptStoredKey: Init refuses rows it cannot trust, naming the kid.
func TestCorruptStoredKey(t *testing.T) {
	box, err := secretbox.New(testSecret, sealPurpose)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func(alg string) store.SigningKey {
		k, err := newKey(box, alg)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	other := fresh(ES256)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	privJWK, _ := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: "x", Algorithm: ES256})

	tests := []struct {
		name   string
		mutate func(*store.SigningKey)
		want   string
	}{
		{"garbage public JWK", func(k *store.SigningKey) { k.PublicJWK = []byte("{") }, "invalid public JWK"},
		{"private material in the public JWK", func(k *store.SigningKey) { k.PublicJWK = privJWK }, "is not a public key"},
		{"public JWK of another kid", func(k *store.SigningKey) { k.PublicJWK = other.PublicJWK }, "public JWK has kid"},
		{"algorithm of another key type", func(k *store.SigningKey) { k.Algorithm = RS256 }, "is not a key for RS256"},
		{"unknown algorithm", func(k *store.SigningKey) { k.Algorithm = "HS256" }, "unsupported algorithm"},
		{"private key of another row", func(k *store.SigningKey) { k.Private = other.Private }, "cannot decrypt signing key"},
		{"private key not matching the public one", func(k *store.SigningKey) {
			o := fresh(ES256)
			k.KID, k.Private = o.KID, o.Private // a valid seal for this kid, of another key
			var jwk map[string]any
			_ = json.Unmarshal(k.PublicJWK, &jwk)
			jwk["kid"] = o.KID
			k.PublicJWK, _ = json.Marshal(jwk)
		}, "does not match its public JWK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			k := fresh(ES256)
			k.CreatedAt, k.SignsFrom = clk.Now(), clk.Now()
			tt.mutate(&k)
			st := &fakeStore{keys: []store.SigningKey{k}}
			m := newManager(t, st, clk, testConfig())
			err := m.Init(bg())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), k.KID) {
				t.Fatalf("Init = %v, want an error naming %s and containing %q", err, k.KID, tt.want)
			}
		})
	}
}

func TestActiveKeyOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key := func(kid string, created, from time.Duration) store.SigningKey {
		return store.SigningKey{KID: kid, CreatedAt: t0.Add(created), SignsFrom: t0.Add(from)}
	}
	tests := []struct {
		name   string
		keys   []store.SigningKey
		at     time.Duration
		active string // "" for none
	}{
		{"empty", nil, 0, ""},
		{"only a future key", []store.SigningKey{key("a", 0, time.Hour)}, 0, ""},
		{"latest SignsFrom wins", []store.SigningKey{key("b", time.Minute, 2*time.Minute), key("a", 0, 0)}, 3 * time.Minute, "b"},
		{"future key does not sign", []store.SigningKey{key("a", 0, 0), key("b", time.Minute, time.Hour)}, time.Minute, "a"},
		{"tie on SignsFrom: later CreatedAt", []store.SigningKey{key("b", time.Second, 0), key("a", 0, 0)}, 0, "b"},
		{"full tie: larger kid", []store.SigningKey{key("b", 0, 0), key("a", 0, 0)}, 0, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sorted := sortKeys(tt.keys)
			got := ""
			if i := activeIndex(sorted, t0.Add(tt.at)); i >= 0 {
				got = sorted[i].KID
			}
			if got != tt.active {
				t.Fatalf("active = %q, want %q", got, tt.active)
			}
		})
	}
}

// TestInitWithOnlyFutureKeys: a table whose keys all sign later gets a key
// that signs now.
func TestInitWithOnlyFutureKeys(t *testing.T) {
	st, clk := &fakeStore{}, newClock()
	initManager(t, st, clk, testConfig())
	clk.Advance(-time.Hour) // the only key now signs in an hour
	m := initManager(t, st, clk, testConfig())
	if n := len(st.kids()); n != 2 || m.Ready() != nil {
		t.Fatalf("%d keys, ready: %v", n, m.Ready())
	}
	if list, _ := m.List(bg()); list[0].State != StateActive || list[1].State != StateNext {
		t.Fatalf("List = %+v", list)
	}
}
