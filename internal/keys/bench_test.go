package keys

import (
	"testing"
)

var benchClaims = []byte(`{"iss":"http://localhost:8080","sub":"3f1c9a52-6f0e-4c36-9a55-0d3b8f0e1d2a","aud":["authd"],` +
	`"exp":1772370000,"iat":1772369100,"jti":"b3a1f3e2-7d5c-4b8e-9d0a-1c2b3a4d5e6f","client_id":"selfservice",` +
	`"scope":"openid profile","org":"9b2e6c1d-3a4f-4e5d-8c7b-6a5f4e3d2c1b","mode":"live","kind":"contact"}`)

func benchManager(b *testing.B, alg string) *Manager {
	cfg := testConfig()
	cfg.Algorithm = alg
	return initManager(b, &fakeStore{}, newClock(), cfg)
}

func BenchmarkSign(b *testing.B) {
	m := benchManager(b, ES256)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Sign(benchClaims, "at+jwt"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	m := benchManager(b, ES256)
	tok, err := m.Sign(benchClaims, "at+jwt")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWKS(b *testing.B) {
	m := benchManager(b, ES256)
	if _, err := m.Rotate(b.Context(), false); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if body, _ := m.JWKS(); len(body) == 0 {
			b.Fatal("empty JWKS")
		}
	}
}
