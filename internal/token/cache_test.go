package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/internal/keys"
	"github.com/authd/authd/internal/store"
)

// countingSigner counts signature verifications and can stop accepting
// a key, as keys.Manager does once a key is removed or expires.
type countingSigner struct {
	*keys.Manager
	verifies atomic.Int64
	refuse   atomic.Bool // Accepts answers false
}

func (c *countingSigner) Verify(tok string) ([]byte, keys.Header, error) {
	c.verifies.Add(1)
	return c.Manager.Verify(tok)
}

func (c *countingSigner) Accepts(kid string, t time.Time) bool {
	return !c.refuse.Load() && c.Manager.Accepts(kid, t)
}

// clock is a settable time for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func cachedService(t testing.TB) (*Service, *countingSigner, *memRevocations, *clock) {
	t.Helper()
	clk := &clock{t: time.Now()}
	_, m := newService(t, clk.now)
	cs := &countingSigner{Manager: m}
	revs := &memRevocations{}
	return New(cs, revs, issuer, clk.now), cs, revs, clk
}

func TestCacheHitSkipsSignature(t *testing.T) {
	s, cs, _, clk := cachedService(t)
	ctx := context.Background()
	tok, err := s.Issue(claims(clk.now()))
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		c, err := s.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(c) != fmt.Sprint(first) {
			t.Fatalf("cached claims %+v, verified %+v", c, first)
		}
	}
	if n := cs.verifies.Load(); n != 1 {
		t.Fatalf("%d signature verifications for one token verified 6 times, want 1", n)
	}
	// Changing the answer's audience must not change the cache.
	c, _ := s.Verify(ctx, tok)
	c.Audience[0] = "changed"
	if c, _ := s.Verify(ctx, tok); c.Audience[0] != "crm" {
		t.Fatalf("a caller's change reached the cache: %v", c.Audience)
	}
	// The same for the audience every entry shares (the issuer).
	self := claims(clk.now())
	self.Audience = Audience{issuer}
	selfTok, _ := s.Issue(self)
	_, _ = s.Verify(ctx, selfTok)
	c, _ = s.Verify(ctx, selfTok)
	c.Audience[0] = "changed"
	if c, _ := s.Verify(ctx, selfTok); c.Audience[0] != issuer || c.Issuer != issuer {
		t.Fatalf("a caller's change reached the shared audience: %+v", c)
	}
}

func TestCacheRevokedAfterCaching(t *testing.T) {
	s, cs, _, clk := cachedService(t)
	ctx := context.Background()
	c := claims(clk.now())
	c.Family = "fam"
	tok, _ := s.Issue(c)
	other, _ := s.Issue(claims(clk.now()))
	for _, x := range []string{tok, other} {
		if _, err := s.Verify(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	verified, _ := s.Verify(ctx, tok)
	if err := s.Revoke(ctx, verified); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked while cached: %v, want ErrRevoked", err)
	}
	if _, err := s.Verify(ctx, other); err != nil {
		t.Fatalf("revoking one token refused another: %v", err)
	}
	// A family revocation reaches cached tokens of the family too.
	c2 := claims(clk.now())
	c2.Family = "fam-2"
	tok2, _ := s.Issue(c2)
	if _, err := s.Verify(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	before := cs.verifies.Load()
	if err := s.RevokeFamily(ctx, "fam-2", 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Verify(ctx, tok2); !errors.Is(err, ErrRevoked) {
			t.Fatalf("family revoked while cached: %v, want ErrRevoked", err)
		}
	}
	if n := cs.verifies.Load() - before; n != 2 {
		// The first refusal was a hit (dropped then), the next two verified again.
		t.Fatalf("%d verifications after the revocation, want 2 (a revoked token is not cached)", n)
	}
}

func TestCacheSubjectCheckOnEveryHit(t *testing.T) {
	s, cs, _, clk := cachedService(t)
	ctx := context.Background()
	var gone, down atomic.Bool
	var checks atomic.Int64
	s.SetSubjectCheck(func(context.Context, Claims) error {
		checks.Add(1)
		switch {
		case down.Load():
			return errors.New("authorization cache unavailable")
		case gone.Load():
			return ErrSubjectGone
		}
		return nil
	})
	tok, _ := s.Issue(claims(clk.now()))
	for range 3 {
		if _, err := s.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if checks.Load() != 3 {
		t.Fatalf("subject checked %d times for 3 verifications", checks.Load())
	}
	down.Store(true)
	if c, err := s.Verify(ctx, tok); err == nil || errors.Is(err, ErrRevoked) || c.Subject != "" {
		t.Fatalf("subject check failing: %+v %v, want the error and no claims", c, err)
	}
	down.Store(false)
	if _, err := s.Verify(ctx, tok); err != nil {
		t.Fatalf("after the subject check recovered: %v", err)
	}
	if cs.verifies.Load() != 1 {
		t.Fatalf("a failing subject check dropped the entry (%d verifications)", cs.verifies.Load())
	}
	gone.Store(true) // user disabled, membership removed
	if _, err := s.Verify(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("subject gone while cached: %v, want ErrRevoked", err)
	}
	gone.Store(false) // membership given back
	if _, err := s.Verify(ctx, tok); err != nil {
		t.Fatalf("subject allowed again: %v", err)
	}
}

func TestCacheExpiredWhileCached(t *testing.T) {
	s, _, _, clk := cachedService(t)
	ctx := context.Background()
	tok, _ := s.Issue(claims(clk.now()))
	if _, err := s.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	clk.add(15*time.Minute + s.leeway - time.Second)
	if _, err := s.Verify(ctx, tok); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	clk.add(2 * time.Second)
	c, err := s.Verify(ctx, tok)
	if !errors.Is(err, ErrExpired) || c.Subject != "u1" {
		t.Fatalf("expired while cached: %+v %v, want the claims and ErrExpired", c, err)
	}
	if n, _ := s.cache.stats(); n != 0 {
		t.Fatalf("%d entries left after the only one expired", n)
	}
	if _, err := s.Verify(ctx, tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("again: %v", err)
	}
}

func TestCacheKeyNoLongerAccepted(t *testing.T) {
	s, cs, _, clk := cachedService(t)
	ctx := context.Background()
	tok, _ := s.Issue(claims(clk.now()))
	if _, err := s.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	cs.refuse.Store(true)
	// The cached entry is not used; the token is verified again, which
	// the manager (still holding the key here) accepts.
	if _, err := s.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if cs.verifies.Load() != 2 {
		t.Fatalf("a key no longer accepted still answered from the cache (%d verifications)", cs.verifies.Load())
	}
}

// garbage returns tokens that must all be refused: tampered, alg none,
// HS256 keyed with the public key, unknown kid, expired, not yet valid and
// revoked ones among them.
func garbage(t *testing.T, s *Service, m *keys.Manager, revs *memRevocations, now time.Time, n int) []string {
	t.Helper()
	good, _ := s.Issue(claims(now))
	parts := strings.Split(good, ".")
	enc := base64.RawURLEncoding.EncodeToString
	jwks, _ := m.JWKS()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	_ = json.Unmarshal(jwks, &set)
	var hdr struct {
		KID string `json:"kid"`
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(h, &hdr)

	hs256 := func(payload string) string {
		in := enc([]byte(`{"alg":"HS256","kid":"`+hdr.KID+`","typ":"at+jwt"}`)) + "." + payload
		mac := hmac.New(sha256.New, set.Keys[0])
		mac.Write([]byte(in))
		return in + "." + enc(mac.Sum(nil))
	}
	expired := claims(now.Add(-time.Hour))
	expired.IssuedAt, expired.ExpiresAt = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	expTok, _ := s.Issue(expired)
	future := claims(now)
	future.NotBefore = now.Add(time.Hour).Unix()
	futureTok, _ := s.Issue(future)
	revoked := claims(now)
	revoked.ID = "revoked-jti"
	revTok, _ := s.Issue(revoked)
	_ = revs.Revoke(context.Background(), store.Revocation{Kind: store.RevokeToken, Key: "revoked-jti"})

	var out []string
	for i := range n {
		payload := enc(fmt.Appendf(nil, `{"iss":%q,"sub":"admin-%d","jti":"j%d","exp":%d,"kind":"user"}`, issuer, i, i, now.Add(time.Hour).Unix()))
		switch i % 7 {
		case 0:
			out = append(out, parts[0]+"."+payload+"."+parts[2]) // tampered
		case 1:
			out = append(out, enc([]byte(`{"alg":"none","typ":"at+jwt"}`))+"."+payload+".")
		case 2:
			out = append(out, hs256(payload))
		case 3:
			out = append(out, enc(fmt.Appendf(nil, `{"alg":"ES256","kid":"unknown-%d","typ":"at+jwt"}`, i))+"."+parts[1]+"."+parts[2])
		case 4:
			out = append(out, expTok)
		case 5:
			out = append(out, futureTok)
		case 6:
			out = append(out, revTok)
		}
	}
	return out
}

func TestCacheGarbageFloodDoesNotEvict(t *testing.T) {
	s, cs, revs, clk := cachedService(t)
	s.SetCache(cacheShards, DefaultCacheBytes) // one entry per shard
	ctx := context.Background()
	tok, _ := s.Issue(claims(clk.now()))
	if _, err := s.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	for _, g := range garbage(t, s, cs.Manager, revs, clk.now(), 700) {
		if _, err := s.Verify(ctx, g); err == nil {
			t.Fatalf("garbage accepted: %s", g)
		}
	}
	if n, _ := s.cache.stats(); n != 1 {
		t.Fatalf("%d entries after a flood of refused tokens, want the one valid", n)
	}
	before := cs.verifies.Load()
	if _, err := s.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if cs.verifies.Load() != before {
		t.Fatal("the valid token was evicted by refused ones")
	}
}

func TestCacheBounded(t *testing.T) {
	ctx := context.Background()
	t.Run("entries", func(t *testing.T) {
		s, cs, _, clk := cachedService(t)
		s.SetCache(64, DefaultCacheBytes)
		var toks []string
		for range 400 {
			tok, _ := s.Issue(claims(clk.now()))
			toks = append(toks, tok)
			if _, err := s.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := s.cache.stats(); n > 64 || n < 32 {
			t.Fatalf("%d entries with a bound of 64", n)
		}
		// The most recent is still a hit; the oldest was evicted.
		before := cs.verifies.Load()
		_, _ = s.Verify(ctx, toks[len(toks)-1])
		if cs.verifies.Load() != before {
			t.Fatal("the newest token was not cached")
		}
		_, _ = s.Verify(ctx, toks[0])
		if cs.verifies.Load() != before+1 {
			t.Fatal("the oldest token was not evicted")
		}
	})
	t.Run("bytes", func(t *testing.T) {
		s, _, _, clk := cachedService(t)
		const limit = 64 << 10
		s.SetCache(1<<20, limit)
		c := claims(clk.now())
		c.Scope = strings.Repeat("scope:x ", 200) // ~1.6 KB of claims each
		for range 300 {
			tok, _ := s.Issue(c)
			if _, err := s.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		n, b := s.cache.stats()
		if b > limit || b <= 0 {
			t.Fatalf("%d bytes accounted in %d entries, bound %d", b, n, limit)
		}
		if want := limit / (len(c.Scope) + entryOverhead); n > want {
			t.Fatalf("%d entries of ~%d bytes within %d bytes", n, len(c.Scope), limit)
		}
	})
	t.Run("expired entries dropped on insert", func(t *testing.T) {
		s, _, _, clk := cachedService(t)
		s.SetCache(cacheShards*4, DefaultCacheBytes)
		for range 200 {
			tok, _ := s.Issue(claims(clk.now()))
			_, _ = s.Verify(ctx, tok)
		}
		clk.add(time.Hour)
		tok, _ := s.Issue(claims(clk.now()))
		_, _ = s.Verify(ctx, tok)
		// Only the new token's shard was swept; each sweep stops at the
		// first live entry, so the others keep their expired entries
		// until reached, and none of them answers (TestCacheExpiredWhileCached).
		sh := s.cache.shard(tokenSum(tok))
		sh.mu.Lock()
		defer sh.mu.Unlock()
		if len(sh.m) != 1 {
			t.Fatalf("%d entries in a shard whose other entries all expired", len(sh.m))
		}
	})
	t.Run("off", func(t *testing.T) {
		s, cs, _, clk := cachedService(t)
		s.SetCache(0, 0)
		tok, _ := s.Issue(claims(clk.now()))
		for range 3 {
			if _, err := s.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if cs.verifies.Load() != 3 {
			t.Fatalf("cache off: %d verifications for 3 calls", cs.verifies.Load())
		}
	})
}

func TestCacheConcurrent(t *testing.T) {
	s, _, revs, clk := cachedService(t)
	s.SetCache(32, DefaultCacheBytes)
	ctx := context.Background()
	var toks []string
	for range 64 {
		tok, _ := s.Issue(claims(clk.now()))
		toks = append(toks, tok)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				tok := toks[(i*7+g)%len(toks)]
				if c, err := s.Verify(ctx, tok); err != nil || c.Subject != "u1" {
					t.Errorf("%+v %v", c, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	_ = revs
	if n, _ := s.cache.stats(); n > 32 {
		t.Fatalf("%d entries", n)
	}
}

// BenchmarkVerifyCached is a hit: SHA-256 of the token, the LRU, exp, the
// key still accepted, the revocation state and a subject check.
func BenchmarkVerifyCached(b *testing.B) {
	s, m := newService(b, time.Now)
	s.SetSubjectCheck(func(context.Context, Claims) error { return nil })
	tok, _ := s.Issue(claims(time.Now()))
	ctx := context.Background()
	if _, err := s.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	_ = m
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCachedParallel(b *testing.B) {
	s, _ := newService(b, time.Now)
	var toks []string
	for range 64 {
		tok, _ := s.Issue(claims(time.Now()))
		toks = append(toks, tok)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Verify(ctx, toks[i%len(toks)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
