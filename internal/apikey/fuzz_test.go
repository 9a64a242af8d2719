package apikey

import (
	"testing"

	"github.com/authd/authd/internal/store"
)

// FuzzParse feeds arbitrary strings to Parse, which every api_key header
// goes through before any look-up. Parse must accept exactly the strings
// Pattern matches whose checksum is right: an accepted key re-formats to
// itself, and any change of one character of it is refused.
func FuzzParse(f *testing.F) {
	for _, typ := range []string{store.APIKeyPublic, store.APIKeySecret} {
		for _, mode := range []store.Mode{store.ModeLive, store.ModeTest} {
			k, err := Generate(typ, mode)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(k)
			f.Add(k + "0")            // one too many
			f.Add(k[:len(k)-1])       // one too few
			f.Add(" " + k[:len(k)-1]) // right length, shifted
		}
	}
	for _, s := range []string{
		"",
		"sk_live_",
		"sk_live_nope",
		"sk_live_000000000000000000000000000000000000", // 36 characters, wrong checksum
		"xk_live_00000000000000000000000000000000000000",
		"sk_prod_000000000000000000000000000000000000",
		"sk-live-000000000000000000000000000000000000",
		"SK_LIVE_000000000000000000000000000000000000",
		"sk_live_00000000000000000000000000000000000\x00",
		"sk_live_0000000000000000000000000000000000é",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, key string) {
		p, err := Parse(key)
		if err != nil {
			if p != (Parsed{}) {
				t.Fatalf("Parse(%q) failed (%v) but returned %+v", key, err, p)
			}
			// Completeness: a key of the right shape is refused only for its
			// checksum. With the right checksum it must be accepted.
			if len(key) == keyLen && Pattern.MatchString(key) {
				fixed := key[:prefixLen+randLen] + checksum(key[:prefixLen+randLen])
				if fixed != key {
					if _, err := Parse(fixed); err != nil {
						t.Fatalf("Parse(%q) refuses a well-formed key with its right checksum: %v", fixed, err)
					}
				}
			}
			return
		}
		if !Pattern.MatchString(key) {
			t.Fatalf("Parse accepted %q, which Pattern does not match", key)
		}
		pre, err := prefix(p.Type, p.Mode)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v: %v", key, p, err)
		}
		body := key[prefixLen : prefixLen+randLen]
		if again := pre + body + checksum(pre+body); again != key {
			t.Fatalf("Parse(%q) = %+v, which re-formats as %q", key, p, again)
		}
		if p.Prefix != pre || p.Last4 != key[len(key)-displayLen:] {
			t.Fatalf("Parse(%q) = %+v", key, p)
		}
		// Every single-character change is a typo the checksum catches.
		b := []byte(key)
		for i := range b {
			orig := b[i]
			for _, c := range []byte(base62 + "_-+/=. \x00\xff") {
				if c == orig {
					continue
				}
				b[i] = c
				if _, err := Parse(string(b)); err == nil {
					t.Fatalf("Parse accepted %q, %q with position %d changed", b, key, i)
				}
			}
			b[i] = orig
		}
	})
}
