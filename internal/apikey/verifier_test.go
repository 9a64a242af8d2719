package apikey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/store"
)

func TestVerifyCachesAndAnswersTheKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.create(t, store.APIKeySecret, store.ModeLive, ScopeContactsRead, ScopeContactsWrite)
	k, err := f.v.Verify(ctx, in.Key)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != in.ID || k.OrganisationID != "biz" || k.Mode != store.ModeLive || k.Type != store.APIKeySecret ||
		k.Scope != "contacts:read contacts:write" || !k.HasScope(ScopeContactsRead) || k.HasScope(ScopeOTPSend) {
		t.Fatalf("key %+v", k)
	}
	n := f.st.lookupCount()
	for range 100 {
		if _, err := f.v.Verify(ctx, in.Key); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.st.lookupCount(); got != n {
		t.Fatalf("%d store look-ups for cached verifications", got-n)
	}
}

func TestVerifyRefusesWithoutSayingWhy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	revoked := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	if _, err := f.svc.Revoke(ctx, admin, biz, revoked.ID); err != nil {
		t.Fatal(err)
	}
	expired := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	if _, _, err := f.svc.Roll(ctx, admin, biz, expired.ID, nil); err != nil {
		t.Fatal(err)
	}
	unknown, _ := Generate(store.APIKeySecret, store.ModeLive)
	typo := []byte(good.Key)
	typo[10] ^= 1
	// A record whose mode disagrees with the key's text.
	mismatch, rec, _ := NewRecord(store.APIKeySecret, store.ModeTest, "biz", "x", "u", []string{"*"}, f.box, time.Now())
	rec.Mode = store.ModeLive
	_ = f.st.CreateAPIKey(ctx, rec)

	for name, raw := range map[string]string{
		"revoked": revoked.Key, "expired": expired.Key, "unknown": unknown, "typo": string(typo),
		"empty": "", "garbage": "hello", "mode mismatch": mismatch,
	} {
		for i := range 2 { // again from the cache
			_, err := f.v.Verify(ctx, raw)
			if err != ErrInvalid { //nolint:errorlint // the very same sentinel, nothing wrapped
				t.Fatalf("%s (try %d): err = %v, want exactly ErrInvalid", name, i, err)
			}
		}
	}
}

func TestChecksumTyposNeverReachTheStore(t *testing.T) {
	f := newFixture(t)
	in := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	n := f.st.lookupCount()
	for i := 8; i < len(in.Key); i++ {
		b := []byte(in.Key)
		if b[i] == 'x' {
			b[i] = 'y'
		} else {
			b[i] = 'x'
		}
		if _, err := f.v.Verify(context.Background(), string(b)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("typo at %d accepted: %v", i, err)
		}
	}
	if got := f.st.lookupCount(); got != n {
		t.Fatalf("typos caused %d store look-ups", got-n)
	}
	if f.v.Stats().Malformed != uint64(len(in.Key)-8) {
		t.Fatalf("stats %+v", f.v.Stats())
	}
}

func TestUnknownKeysAreRememberedBriefly(t *testing.T) {
	f := newFixture(t, func(o *VerifierOptions) { o.NegativeTTL = 100 * time.Millisecond })
	ctx := context.Background()
	unknown, _ := Generate(store.APIKeySecret, store.ModeLive)
	for range 50 {
		_, _ = f.v.Verify(ctx, unknown)
	}
	if n := f.st.lookupCount(); n != 1 {
		t.Fatalf("%d look-ups for one unknown key", n)
	}
	f.advance(f.v, 150*time.Millisecond) // past the negative TTL
	_, _ = f.v.Verify(ctx, unknown)
	if n := f.st.lookupCount(); n != 2 {
		t.Fatalf("unknown key remembered past its TTL (%d look-ups)", n)
	}
}

func TestCacheIsBounded(t *testing.T) {
	f := newFixture(t, func(o *VerifierOptions) { o.CacheSize = 8 })
	ctx := context.Background()
	var keys []string
	for range 30 {
		keys = append(keys, f.create(t, store.APIKeyPublic, store.ModeLive).Key)
	}
	for _, k := range keys {
		if _, err := f.v.Verify(ctx, k); err != nil {
			t.Fatal(err)
		}
		if s := f.v.Stats(); s.Entries > 8 {
			t.Fatalf("cache holds %d entries, bound 8", s.Entries)
		}
	}
	// Evicted keys still verify (from the store).
	if _, err := f.v.Verify(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	for range 500 {
		u, _ := Generate(store.APIKeySecret, store.ModeLive)
		_, _ = f.v.Verify(ctx, u)
	}
	if s := f.v.Stats(); s.Entries > 8 || s.Unknown > 256 {
		t.Fatalf("after a flood of unknown keys: %+v", s)
	}
}

func TestRevocationReachesOtherReplicas(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	other := f.newVerifier(t) // a second replica on the same store and cache
	for _, v := range []*Verifier{f.v, other} {
		if _, err := v.Verify(ctx, in.Key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Revoke(ctx, admin, biz, in.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Verify(ctx, in.Key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("the revoking replica still accepts the key: %v", err)
	}
	d := eventually(t, time.Second, "other replica refuses the revoked key", func() bool {
		_, err := other.Verify(ctx, in.Key)
		return errors.Is(err, ErrInvalid)
	})
	t.Logf("other replica refused the key after %v", d)
}

// TestLostMessageIsCaughtByTheLog: a replica that never hears the
// pub/sub message (no subscription at all here) refuses the key once it
// reads the revocation log, within its poll interval.
func TestLostMessageIsCaughtByTheLog(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	deaf, _ := f.replica(t, nil)
	if _, err := deaf.Verify(ctx, in.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Revoke(ctx, admin, biz, in.ID); err != nil {
		t.Fatal(err)
	}
	d := eventually(t, 20*replicaPoll, "the log reaches the replica", func() bool {
		_, err := deaf.Verify(ctx, in.Key)
		return errors.Is(err, ErrInvalid)
	})
	t.Logf("refused after %v (poll interval %v)", d, replicaPoll)
}

// flakyCache fails every read and write while down is set (shared state
// cut off from this process).
type flakyCache struct {
	cache.Cache
	down atomic.Bool
}

var errCacheDown = fmt.Errorf("%w: injected", cache.ErrUnavailable)

func (c *flakyCache) Get(ctx context.Context, key string) ([]byte, error) {
	if c.down.Load() {
		return nil, errCacheDown
	}
	return c.Cache.Get(ctx, key)
}

// TestStoreOutageAnswersLastGood: while the store fails, a key verified
// before keeps its answer for StaleIfError past its cache TTL; beyond
// that, and for a key that changed meanwhile, the outage is the answer.
func TestStoreOutageAnswersLastGood(t *testing.T) {
	f := newFixture(t, func(o *VerifierOptions) { o.CacheTTL = time.Second; o.StaleIfError = time.Minute })
	ctx := context.Background()
	in := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	other := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	for _, k := range []string{in.Key, other.Key} {
		if _, err := f.v.Verify(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	f.st.mu.Lock()
	f.st.down = true
	f.st.mu.Unlock()
	f.advance(f.v, 2*time.Second) // past the cache TTL
	if k, err := f.v.Verify(ctx, in.Key); err != nil || k.ID != in.ID {
		t.Fatalf("during the outage, within stale-if-error: %+v %v", k, err)
	}
	if f.v.Stats().Stale == 0 {
		t.Error("the stale answer was not counted")
	}
	// A change heard from another replica (pub/sub) drops the record.
	f.v.Forget(Hash(other.Key))
	if _, err := f.v.Verify(ctx, other.Key); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a changed key during the outage: %v, want the outage", err)
	}
	f.advance(f.v, 2*time.Minute) // past stale-if-error
	if _, err := f.v.Verify(ctx, in.Key); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("beyond stale-if-error: %v, want the outage", err)
	}
	f.st.mu.Lock()
	f.st.down = false
	f.st.mu.Unlock()
	if _, err := f.v.Verify(ctx, in.Key); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

func TestFillRacingAnInvalidationIsNotCached(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	var once sync.Once
	f.st.onLookup = func() { once.Do(func() { f.v.Forget(Hash(in.Key)) }) }
	if _, err := f.v.Verify(ctx, in.Key); err != nil {
		t.Fatal(err)
	}
	f.st.onLookup = nil
	if s := f.v.Stats(); s.Entries != 0 {
		t.Fatalf("a record read before an invalidation was cached (%d entries)", s.Entries)
	}
	n := f.st.lookupCount()
	_, _ = f.v.Verify(ctx, in.Key)
	if f.st.lookupCount() != n+1 {
		t.Fatal("the next verification did not read the store")
	}
}

func TestSharedCache(t *testing.T) {
	f := newFixture(t, func(o *VerifierOptions) { o.SharedCache = true })
	ctx := context.Background()
	in := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	if _, err := f.v.Verify(ctx, in.Key); err != nil {
		t.Fatal(err)
	}
	b, err := f.cache.Get(ctx, sharedPrefix+Hash(in.Key))
	if err != nil {
		t.Fatalf("shared cache not filled: %v", err)
	}
	for _, secret := range []string{in.Key, in.Key[8:], in.Key[8:38]} {
		if strings.Contains(string(b), secret) {
			t.Fatal("the shared cache holds the key")
		}
	}
	other := f.newVerifier(t, func(o *VerifierOptions) { o.SharedCache = true })
	n := f.st.lookupCount()
	if k, err := other.Verify(ctx, in.Key); err != nil || k.ID != in.ID || k.Scope != "*" {
		t.Fatalf("from the shared cache: %+v %v", k, err)
	}
	if f.st.lookupCount() != n {
		t.Fatal("a shared-cache hit read the store")
	}
	if _, err := f.svc.Revoke(ctx, admin, biz, in.ID); err != nil {
		t.Fatal(err)
	}
	// The old record may stay in the shared cache (a replica that read
	// SQL just before the revoke can write it after): no replica uses it
	// while the log's entry is in force.
	if err := f.cache.Set(ctx, sharedPrefix+Hash(in.Key), b, time.Minute); err != nil {
		t.Fatal(err)
	}
	third := f.newVerifier(t, func(o *VerifierOptions) { o.SharedCache = true })
	if _, err := third.Verify(ctx, in.Key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("fresh replica accepted a revoked key: %v", err)
	}
}

func TestStoreOutageIsNotInvalid(t *testing.T) {
	f := newFixture(t)
	in := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	f.st.down = true
	_, err := f.v.Verify(context.Background(), in.Key)
	if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	f.st.down = false
	if _, err := f.v.Verify(context.Background(), in.Key); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in, err := f.svc.Create(ctx, admin, CreateParams{OrganisationID: "biz", Mode: store.ModeLive, Type: "secret", Name: "limited", Scopes: []string{"*"}, RateLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Verify(ctx, in.Key); err != nil {
		t.Fatalf("first request: %v", err)
	}
	var limited *RateLimitError
	if _, err = f.v.Verify(ctx, in.Key); !errors.As(err, &limited) || limited.RetryAfter <= 0 {
		t.Fatalf("second request within a second: %v", err)
	}
	if _, err := f.v.Inspect(ctx, in.Key); err != nil {
		t.Fatalf("introspection counted against the limit: %v", err)
	}
}

// TestRateLimitPerMinute: a per-minute limit holds beside a per-second
// one, survives a roll, and is carried through the shared cache.
func TestRateLimitPerMinute(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in, err := f.svc.Create(ctx, admin, CreateParams{OrganisationID: "biz", Mode: store.ModeLive, Type: "secret",
		Name: "minutely", Scopes: []string{"*"}, RateLimit: 100, RateLimitPerMinute: 3})
	if err != nil {
		t.Fatal(err)
	}
	if in.RateLimitPerMinute != 3 {
		t.Fatalf("created with %d a minute", in.RateLimitPerMinute)
	}
	for i := range 3 {
		if _, err := f.v.Verify(ctx, in.Key); err != nil {
			t.Fatalf("request %d of 3 a minute: %v", i+1, err)
		}
	}
	var limited *RateLimitError
	if _, err = f.v.Verify(ctx, in.Key); !errors.As(err, &limited) || limited.RetryAfter < 10*time.Second {
		t.Fatalf("fourth request in a minute: %v (want a retry after most of a minute)", err)
	}
	rolled, _, err := f.svc.Roll(ctx, admin, Scope{OrganisationID: "biz", Mode: store.ModeLive}, in.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rolled.RateLimitPerMinute != 3 || rolled.RateLimit != 100 {
		t.Fatalf("roll kept %d/s and %d/min", rolled.RateLimit, rolled.RateLimitPerMinute)
	}
}

func TestLastUsedIsBatched(t *testing.T) {
	f := newFixture(t, func(o *VerifierOptions) { o.LastUsedFlush = time.Hour })
	ctx := context.Background()
	a := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	b := f.create(t, store.APIKeyPublic, store.ModeLive)
	for range 10 {
		_, _ = f.v.Verify(ctx, a.Key)
		_, _ = f.v.Verify(ctx, b.Key)
	}
	if len(f.st.touched) != 0 {
		t.Fatal("last-used written on the request path")
	}
	before := time.Now().Add(-2 * time.Second)
	_ = f.v.Close()
	for _, id := range []string{a.ID, b.ID} {
		if t0, ok := f.st.touched[id]; !ok || t0.Before(before) {
			t.Fatalf("last used of %s = %v, %v", id, t0, ok)
		}
	}
}

func TestLastUsedBatchIsBounded(t *testing.T) {
	f := newFixture(t, func(o *VerifierOptions) { o.LastUsedFlush = time.Hour; o.MaxPendingTouches = 2 })
	ctx := context.Background()
	for range 5 {
		_, _ = f.v.Verify(ctx, f.create(t, store.APIKeyPublic, store.ModeLive).Key)
	}
	if n := len(f.v.touches.pending); n != 2 {
		t.Fatalf("%d pending touches, bound 2", n)
	}
}

func TestRejectedUseIsAuditedSparingly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	if _, err := f.svc.Revoke(ctx, admin, biz, in.ID); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		_, _ = f.v.Verify(ctx, in.Key)
	}
	other := f.newVerifier(t)
	for range 50 {
		_, _ = other.Verify(ctx, in.Key)
	}
	// Every rejection queued by either replica is written before this.
	f.v.flushAudit(ctx)
	other.flushAudit(ctx)
	got := f.audit.actions(audit.APIKeyRejected)
	if len(got) != 1 || got[0].TargetID != in.ID || got[0].Details["reason"] != "revoked" || got[0].Success {
		t.Fatalf("rejection events %+v", got)
	}
	unknown, _ := Generate(store.APIKeySecret, store.ModeLive)
	_, _ = f.v.Verify(ctx, unknown)
	f.v.flushAudit(ctx)
	if n := len(f.audit.actions(audit.APIKeyRejected)); n != 1 {
		t.Fatalf("unknown keys are audited (%d events)", n)
	}
}

func TestConcurrentVerify(t *testing.T) {
	f := newFixture(t, func(o *VerifierOptions) { o.CacheSize = 4 })
	ctx := context.Background()
	var keys []Info
	for range 10 {
		keys = append(keys, f.create(t, store.APIKeySecret, store.ModeLive, "*"))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := keys[(g+i)%len(keys)]
				got, err := f.v.Verify(ctx, k.Key)
				if err != nil || got.ID != k.ID {
					t.Errorf("verify %s: %+v %v", k.ID, got, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			f.v.Forget(Hash(keys[i%len(keys)].Key))
		}
	})
	wg.Wait()
}

func (f *flakyCache) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if f.down.Load() {
		return errCacheDown
	}
	return f.Cache.Set(ctx, k, v, ttl)
}

func (f *flakyCache) SetNX(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	if f.down.Load() {
		return false, errCacheDown
	}
	return f.Cache.SetNX(ctx, k, v, ttl)
}

func (f *flakyCache) Incr(ctx context.Context, k string, ttl time.Duration) (int64, error) {
	if f.down.Load() {
		return 0, errCacheDown
	}
	return f.Cache.Incr(ctx, k, ttl)
}

func (f *flakyCache) Publish(ctx context.Context, c string, m []byte) error {
	if f.down.Load() {
		return errCacheDown
	}
	return f.Cache.Publish(ctx, c, m)
}

// TestRevokeDuringSharedStateOutage: a key revoked while the shared state
// is unreachable is revoked (the log is in the store), and its old shared
// record is not brought back once the shared state returns.
func TestRevokeDuringSharedStateOutage(t *testing.T) {
	f := newFixture(t)
	fl := &flakyCache{Cache: f.cache}
	v, revs := f.replica(t, fl, func(o *VerifierOptions) { o.Cache = fl; o.SharedCache = true })
	svc := f.service(revs)
	in := f.create(t, store.APIKeySecret, store.ModeLive)
	ctx := context.Background()
	if _, err := v.Verify(ctx, in.Key); err != nil { // fills the shared record
		t.Fatal(err)
	}
	fl.down.Store(true)
	if _, err := svc.Revoke(ctx, admin, biz, in.ID); err != nil {
		t.Fatalf("revoke while the shared state is down: %v", err)
	}
	if _, err := v.Verify(ctx, in.Key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("during the outage: %v", err)
	}
	fl.down.Store(false)
	fresh := f.newVerifier(t, func(o *VerifierOptions) { o.SharedCache = true })
	for _, r := range []*Verifier{v, fresh} {
		if _, err := r.Verify(ctx, in.Key); !errors.Is(err, ErrInvalid) {
			t.Fatalf("revoked key accepted after the shared state returned: %v", err)
		}
	}
}

// TestRevokeByACutOffReplica: the replica that revokes cannot reach the
// shared state (no pub/sub), the others can: they learn it from the log.
func TestRevokeByACutOffReplica(t *testing.T) {
	f := newFixture(t)
	other := f.newVerifier(t, func(o *VerifierOptions) { o.SharedCache = true })
	in := f.create(t, store.APIKeySecret, store.ModeLive)
	ctx := context.Background()
	if _, err := other.Verify(ctx, in.Key); err != nil { // fills the shared record
		t.Fatal(err)
	}
	fl := &flakyCache{Cache: f.cache}
	fl.down.Store(true)
	_, revs := f.replica(t, fl, func(o *VerifierOptions) { o.Cache = fl })
	if _, err := f.service(revs).Revoke(ctx, admin, biz, in.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*replicaPoll, "the other replica refuses the key", func() bool {
		_, err := other.Verify(ctx, in.Key)
		return errors.Is(err, ErrInvalid)
	})
}

// TestNoStaleFetchAfterRevoke: a verification that starts after Revoke
// returned never shares a fetch that began before it.
func TestNoStaleFetchAfterRevoke(t *testing.T) {
	f := newFixture(t)
	in := f.create(t, store.APIKeySecret, store.ModeLive)
	ctx := context.Background()
	entered, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	first.Store(true)
	f.st.mu.Lock()
	f.st.onLookup = func() {
		if first.CompareAndSwap(true, false) {
			close(entered)
			<-release // a slow read that began before the revoke
		}
	}
	f.st.mu.Unlock()
	go func() { _, _ = f.v.Verify(ctx, in.Key) }()
	<-entered
	if _, err := f.svc.Revoke(ctx, admin, biz, in.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := f.v.Verify(ctx, in.Key); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("verification after the revoke: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the verification after the revoke waited for the fetch that began before it")
	}
	close(release)
}
