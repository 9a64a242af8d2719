package keys

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// entry is a key in one snapshot: its crypto and its span.
type entry struct {
	*material
	span
	createdAt time.Time
}

// keySet is an immutable snapshot of the key table. Sign, Verify and JWKS
// read it through Manager.set without locking.
type keySet struct {
	gen     uint64  // bumped on every load; unchanged by a JWKS refresh
	entries []entry // signing order; keys already expired at load are left out
	expired []string
	algs    []jose.SignatureAlgorithm // of entries: what Verify accepts

	jwks      []byte
	etag      string
	jwksUntil time.Time // when the published set next changes; zero: never
}

// active is the entry that signs at t, or nil.
func (ks *keySet) active(t time.Time) *entry {
	for i := len(ks.entries) - 1; i >= 0; i-- {
		if !ks.entries[i].signsFrom.After(t) {
			return &ks.entries[i]
		}
	}
	return nil
}

// hasNext reports whether a key signs only after t.
func (ks *keySet) hasNext(t time.Time) bool {
	n := len(ks.entries)
	return n > 0 && ks.entries[n-1].signsFrom.After(t)
}

// lookup finds kid among the entries (expired or not).
func (ks *keySet) lookup(kid string) *entry {
	for i := range ks.entries {
		if ks.entries[i].kid == kid {
			return &ks.entries[i]
		}
	}
	return nil
}

// knownExpired reports whether kid was already expired when ks was loaded.
func (ks *keySet) knownExpired(kid string) bool {
	return slices.Contains(ks.expired, kid)
}

// anyExpired reports whether the store holds a key expired at t.
func (ks *keySet) anyExpired(t time.Time) bool {
	if len(ks.expired) > 0 {
		return true
	}
	for i := range ks.entries {
		if ks.entries[i].expired(t) {
			return true
		}
	}
	return false
}

// material returns the crypto of kid if ks holds it; ks may be nil.
func (ks *keySet) material(kid string) *material {
	if ks == nil {
		return nil
	}
	if e := ks.lookup(kid); e != nil {
		return e.material
	}
	return nil
}

// buildJWKS sets the pre-encoded JWKS of the keys published at t. When the
// body equals prev's, prev's slice and etag are kept, so callers see the very
// same bytes until the set changes.
func (ks *keySet) buildJWKS(t time.Time, prev *keySet) {
	var buf bytes.Buffer
	buf.WriteString(`{"keys":[`)
	first := true
	ks.jwksUntil = time.Time{}
	for i := range ks.entries {
		e := &ks.entries[i]
		if e.expired(t) {
			continue
		}
		if !e.publishedUntil.IsZero() && (ks.jwksUntil.IsZero() || e.publishedUntil.Before(ks.jwksUntil)) {
			ks.jwksUntil = e.publishedUntil
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.Write(e.jwk)
	}
	buf.WriteString(`]}`)
	if prev != nil && bytes.Equal(prev.jwks, buf.Bytes()) {
		ks.jwks, ks.etag = prev.jwks, prev.etag
		return
	}
	ks.jwks = buf.Bytes()
	ks.etag = etagOf(ks.jwks)
}

// etagOf is the strong ETag of body: the quoted hex of 128 bits of its
// SHA-256.
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// withFreshJWKS returns a copy of ks whose JWKS is rebuilt for t (a key has
// expired since ks was built).
func (ks *keySet) withFreshJWKS(t time.Time) *keySet {
	cp := *ks
	cp.buildJWKS(t, ks)
	return &cp
}

// distinctAlgs lists the algorithms of entries, each once.
func distinctAlgs(entries []entry) []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for i := range entries {
		if !slices.Contains(out, entries[i].alg) {
			out = append(out, entries[i].alg)
		}
	}
	return out
}
