package verify

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchEnv is a Verifier following the feed, with 1000 entries of each
// kind in force, and a token that none of them covers.
func benchEnv(b *testing.B, opts ...Option) (*env, string) {
	e := newEnv(b)
	now := e.clock.Now()
	var seq int64
	for i := range 1000 {
		for _, kind := range []string{"token", "family", "user", "client"} {
			e.authd.Revoke(kind, fmt.Sprintf("revoked-%s-%d", kind, i), now, now.Add(time.Hour))
		}
		seq = e.authd.Revoke("contact", fmt.Sprintf("org-1/live/c-%d", i), now, now.Add(time.Hour))
	}
	e.v = e.newVerifier(append(feedOn(), opts...)...)
	if e.v.Status().Cursor != seq {
		b.Fatalf("status %+v", e.v.Status())
	}
	return e, e.token(func(c map[string]any) { c["scope"] = "profile orders:read orders:write" })
}

// BenchmarkVerifyCached: a token verified before (a cache hit: SHA-256 of
// the token, exp, the key still published, the revocation state).
func BenchmarkVerifyCached(b *testing.B) {
	e, tok := benchEnv(b)
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCachedParallel: cache hits from every core.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	e, tok := benchEnv(b)
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.v.Verify(ctx, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyNew: a token not in the cache (the cache is off): parse,
// ES256 signature, claims, revocation state.
func BenchmarkVerifyNew(b *testing.B) {
	e, tok := benchEnv(b, WithCacheSize(0))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
