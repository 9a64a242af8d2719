package apikey

import (
	"errors"
	"strings"
	"testing"

	"github.com/authd/authd/internal/store"
)

func TestGenerateParse(t *testing.T) {
	for _, tc := range []struct {
		typ    string
		mode   store.Mode
		prefix string
	}{
		{store.APIKeyPublic, store.ModeLive, "pk_live_"},
		{store.APIKeySecret, store.ModeLive, "sk_live_"},
		{store.APIKeyPublic, store.ModeTest, "pk_test_"},
		{store.APIKeySecret, store.ModeTest, "sk_test_"},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			k, err := Generate(tc.typ, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(k, tc.prefix) || !Pattern.MatchString(k) {
				t.Fatalf("key %q", k)
			}
			p, err := Parse(k)
			if err != nil {
				t.Fatal(err)
			}
			if p.Type != tc.typ || p.Mode != tc.mode || p.Prefix != tc.prefix || p.Last4 != k[len(k)-4:] {
				t.Fatalf("parsed %+v", p)
			}
			k2, _ := Generate(tc.typ, tc.mode)
			if k2 == k {
				t.Fatal("keys repeat")
			}
		})
	}
}

func TestParseRefusesTypos(t *testing.T) {
	k, _ := Generate(store.APIKeySecret, store.ModeLive)
	swap := func(i int) string {
		b := []byte(k)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	for name, bad := range map[string]string{
		"empty":        "",
		"typo in body": swap(12),
		"typo in sum":  swap(len(k) - 1),
		"truncated":    k[:len(k)-1],
		"extra":        k + "x",
		"wrong prefix": "xk_live_" + k[8:],
		"wrong mode":   "sk_prod_" + k[8:],
		"bad char":     k[:10] + "-" + k[11:],
		"mode swapped": "sk_test_" + k[8:], // checksum does not cover the prefix, but mode must still be one we know
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(bad)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q) err = %v", bad, err)
			}
		})
	}
}

func TestHashAndMask(t *testing.T) {
	k, _ := Generate(store.APIKeySecret, store.ModeTest)
	if h := Hash(k); len(h) != 64 || h != Hash(k) || strings.Contains(h, k[8:20]) {
		t.Fatalf("hash %q", h)
	}
	p, _ := Parse(k)
	m := Mask(p.Prefix, p.Last4)
	if !strings.HasPrefix(m, "sk_test_") || !strings.HasSuffix(m, k[len(k)-4:]) || strings.Contains(m, k[8:20]) {
		t.Fatalf("mask %q", m)
	}
}

func BenchmarkParse(b *testing.B) {
	k, _ := Generate(store.APIKeySecret, store.ModeLive)
	for b.Loop() {
		if _, err := Parse(k); err != nil {
			b.Fatal(err)
		}
	}
}
