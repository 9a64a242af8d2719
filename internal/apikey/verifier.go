package apikey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/store"
)

// KeyReader is what verification reads and writes in the store.
type KeyReader interface {
	GetAPIKeyByHash(ctx context.Context, hash string) (store.APIKey, error)
	// TouchAPIKeys records last-used times in one batch.
	TouchAPIKeys(ctx context.Context, usedAt map[string]time.Time) error
}

// Auditor records security events (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, e store.AuditEvent)
}

// ChangeLog tells which keys changed recently (package revocation): the
// revocation log, held in memory.
type ChangeLog interface {
	// APIKeyChanged reports whether the key with this hex SHA-256 was
	// revoked or had its expiry moved recently, so a copy of its record
	// cached before the change may be stale.
	APIKeyChanged(hash string) bool
}

// VerifierOptions configure a Verifier. Zero durations and sizes take the
// defaults in brackets.
type VerifierOptions struct {
	Store KeyReader
	// Cache holds per-key rate limits and, with SharedCache, verified
	// records for the other replicas.
	Cache cache.Cache
	// Changes is the revocation log; its listener calls Forget for every
	// changed key. Nil: no key ever changes (tests of one replica).
	Changes ChangeLog
	// SharedCache keeps verified records in Cache (useful with Redis: a
	// replica's miss is then answered without SQL).
	SharedCache bool
	Audit       Auditor
	Logger      *slog.Logger

	CacheSize   int           // in-process entries [10000]
	CacheTTL    time.Duration // in-process trust of a verified key [30s]
	NegativeTTL time.Duration // in-process memory of unknown keys [5s]
	SharedTTL   time.Duration // shared-cache entries [5m]
	// QueryTimeout bounds the look-up of a key missing from the
	// in-process cache [1s].
	QueryTimeout time.Duration
	// StaleIfError is how long past CacheTTL a verified key is still
	// answered from the in-process cache while the store cannot be read
	// [5m]. A key that changed meanwhile is not (Forget drops it).
	StaleIfError time.Duration
	// LastUsedFlush is the period of the batched last_used_at writes [10s].
	LastUsedFlush time.Duration
	// MaxPendingTouches bounds the keys waiting for a last-used write
	// [10000]; more are dropped until the next flush.
	MaxPendingTouches int
	// RejectAuditInterval is the least time between two audit events for
	// the use of one revoked or expired key [1m].
	RejectAuditInterval time.Duration
	Now                 func() time.Time
}

func (o *VerifierOptions) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 10000
	}
	if o.MaxPendingTouches <= 0 {
		o.MaxPendingTouches = 10000
	}
	def(&o.CacheTTL, 30*time.Second)
	def(&o.NegativeTTL, 5*time.Second)
	def(&o.SharedTTL, 5*time.Minute)
	def(&o.LastUsedFlush, 10*time.Second)
	def(&o.QueryTimeout, time.Second)
	def(&o.StaleIfError, 5*time.Minute)
	def(&o.RejectAuditInterval, time.Minute)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// entry is one verified key in the in-process cache.
type entry struct {
	key      Key
	loadedAt int64  // coarse clock when fetched
	expires  int64  // ExpiresAt in Unix nanoseconds; 0: never
	refused  string // why the key is refused for good ("revoked", "mismatch"); "" when usable
	// done, when set, marks no key: the audit writer closes it once every
	// rejection queued before it is written (flushAudit).
	done      chan struct{}
	rlKey     string // rate-limit counter name, when the key has a limit
	lastUsed  atomic.Int64
	queued    atomic.Bool // waiting in the last-used batch
	lastAudit atomic.Int64
}

// Verifier answers "is this key valid, for whom, with what scopes?": the
// one code path behind the api_key header, introspection and forward-auth.
//
// A key goes Parse (format and checksum: a typo is refused without any
// look-up) → in-process LRU with TTL → shared cache (optional) → SQL.
// Unknown keys are remembered briefly in a separate bounded LRU, so a flood
// of them cannot evict the good ones. Revoke and Roll write the key's hash
// to the revocation log before changing it; every replica's log follower
// calls Forget (at once through pub/sub, within the log's poll interval
// otherwise), and while the entry is in force no replica uses a
// shared-cache copy of the key. While the store cannot be read, a key
// verified before keeps its last good answer for StaleIfError.
type Verifier struct {
	o   VerifierOptions
	lru *shardedLRU[*entry]
	neg *shardedLRU[int64] // unknown key hash → remembered until (coarse clock)
	// clock is a coarse clock (Unix nanoseconds, updated every
	// clockTick): reading the real clock costs as much as the rest of a
	// cache hit on some virtual machines. It dates cache entries and
	// last-used times; key expiry is checked against the real clock.
	clock atomic.Int64

	// mu orders cache fills against invalidations: a fill that began
	// before an invalidation (gen changed) is not stored.
	mu     sync.Mutex
	gen    atomic.Uint64
	flight singleflight.Group

	touches touchBatch
	rejects chan *entry

	lookups   atomic.Uint64
	malformed atomic.Uint64
	stale     atomic.Uint64
	lastWarn  atomic.Int64 // coarse time of the last backend warning logged

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewVerifier returns a started Verifier. Close stops it and flushes
// last-used times.
func NewVerifier(ctx context.Context, o VerifierOptions) (*Verifier, error) {
	o.defaults()
	if o.Store == nil || o.Cache == nil {
		return nil, errors.New("apikey: a verifier needs a store and a cache")
	}
	v := &Verifier{o: o, rejects: make(chan *entry, 64)}
	v.lru = newShardedLRU[*entry](o.CacheSize)
	v.neg = newShardedLRU[int64](max(o.CacheSize/4, 256))
	v.clock.Store(o.Now().UnixNano())
	v.touches.max = o.MaxPendingTouches
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	v.cancel = cancel
	v.wg.Add(3)
	go func() { defer v.wg.Done(); v.clockLoop(runCtx) }()
	go func() { defer v.wg.Done(); v.flushLoop(runCtx) }()
	go func() { defer v.wg.Done(); v.auditLoop(runCtx) }()
	return v, nil
}

// Close stops the background work and writes the pending last-used times.
func (v *Verifier) Close() error {
	v.closeOnce.Do(func() {
		v.cancel()
		v.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v.flush(ctx)
	})
	return nil
}

// Verify checks raw and returns what the key grants. It returns ErrInvalid
// for a key that is malformed, unknown, revoked, expired or inconsistent
// (never saying which), *RateLimitError when the key's own rate limit is
// spent, and another error only when the store cannot answer.
func (v *Verifier) Verify(ctx context.Context, raw string) (Key, error) {
	return v.verify(ctx, raw, true)
}

// Inspect is Verify without counting against the key's rate limit
// (introspection: the answer is about the key, not a use of it).
func (v *Verifier) Inspect(ctx context.Context, raw string) (Key, error) {
	return v.verify(ctx, raw, false)
}

func (v *Verifier) verify(ctx context.Context, raw string, limit bool) (Key, error) {
	p, err := Parse(raw)
	if err != nil {
		v.malformed.Add(1)
		return Key{}, ErrInvalid
	}
	sum := hashKey(raw)
	now := v.clock.Load()
	var e *entry
	cached, hit := v.lru.Get(sum)
	if hit && now-cached.loadedAt < int64(v.o.CacheTTL) {
		e = cached
	} else if until, ok := v.neg.Get(sum); ok && now < until {
		return Key{}, ErrInvalid
	}
	if e == nil {
		if e, err = v.load(ctx, sum, p); err != nil {
			if !errors.Is(err, ErrInvalid) && hit && now-cached.loadedAt < int64(v.o.CacheTTL+v.o.StaleIfError) {
				// The store is failing: the last good answer stands (a
				// change to the key would have dropped it).
				v.stale.Add(1)
				v.warn(ctx, "apikey: store unavailable, answering from the last verified records", err)
				e = cached
			} else {
				return Key{}, err
			}
		}
	}
	if e.refused != "" || (e.expires != 0 && v.o.Now().UnixNano() >= e.expires) {
		v.rejected(e, now)
		return Key{}, ErrInvalid
	}
	if limit && e.rlKey != "" {
		if err := v.allow(ctx, e); err != nil {
			return Key{}, err
		}
	}
	v.touch(e, now)
	return e.key, nil
}

const clockTick = 100 * time.Millisecond

func (v *Verifier) clockLoop(ctx context.Context) {
	t := time.NewTicker(clockTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			v.clock.Store(v.o.Now().UnixNano())
		}
	}
}

// hashKey is the SHA-256 of a key without allocating.
func hashKey(raw string) [32]byte {
	var b [keyLen]byte
	n := copy(b[:], raw)
	return sha256.Sum256(b[:n])
}

// errUnknown: no key has this hash (remembered briefly).
var errUnknown = errors.New("apikey: unknown key")

// load fetches a key missing from the in-process cache; concurrent loads
// of one key share one fetch.
func (v *Verifier) load(ctx context.Context, sum [32]byte, p Parsed) (*entry, error) {
	// The fetch outlives the first caller's cancellation: others wait on it.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.o.QueryTimeout)
	defer cancel()
	// Callers share a fetch only within one cache generation: a caller
	// that arrives after an invalidation (a revoke answered here) never
	// joins a fetch that began before it.
	gen := v.gen.Load()
	res, err, _ := v.flight.Do(string(sum[:])+strconv.FormatUint(gen, 36), func() (any, error) {
		rec, err := v.fetch(fctx, hex.EncodeToString(sum[:]))
		if errors.Is(err, errUnknown) {
			v.fill(gen, func() { v.neg.Add(sum, v.clock.Load()+int64(v.o.NegativeTTL)) })
			return nil, ErrInvalid
		}
		if err != nil {
			return nil, err
		}
		e := newEntry(rec, p)
		e.loadedAt = v.clock.Load()
		v.fill(gen, func() { v.lru.Add(sum, e) })
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*entry), nil
}

// fill stores into the in-process caches unless an invalidation happened
// since gen was read (the fetched record may predate it).
func (v *Verifier) fill(gen uint64, add func()) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gen.Load() == gen {
		add()
	}
}

// fetch reads the shared cache, then SQL (filling the shared cache). A
// key with an entry in force in the revocation log is read from SQL only:
// a shared copy may predate the change.
func (v *Verifier) fetch(ctx context.Context, hash string) (store.APIKey, error) {
	useShared := v.o.SharedCache && (v.o.Changes == nil || !v.o.Changes.APIKeyChanged(hash))
	if useShared {
		b, err := v.o.Cache.Get(ctx, sharedPrefix+hash)
		switch {
		case err == nil:
			if rec, derr := decodeShared(b); derr == nil {
				return rec, nil
			}
		case errors.Is(err, cache.ErrMiss):
		default:
			v.warn(ctx, "apikey: shared cache unavailable, reading SQL", err)
		}
	}
	v.lookups.Add(1)
	rec, err := v.o.Store.GetAPIKeyByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return store.APIKey{}, errUnknown
	}
	if err != nil {
		return store.APIKey{}, err
	}
	if useShared && rec.RevokedAt == nil && (rec.ExpiresAt == nil || v.o.Now().Before(*rec.ExpiresAt)) {
		if b, err := encodeShared(rec); err == nil {
			ttl := v.o.SharedTTL
			if rec.ExpiresAt != nil {
				ttl = min(ttl, rec.ExpiresAt.Sub(v.o.Now())+time.Second)
			}
			if err := v.o.Cache.Set(ctx, sharedPrefix+hash, b, ttl); err != nil {
				v.warn(ctx, "apikey: cannot fill the shared cache", err)
			}
		}
	}
	return rec, nil
}

func newEntry(rec store.APIKey, p Parsed) *entry {
	e := &entry{key: Key{
		ID: rec.ID, OrganisationID: rec.OrganisationID, Mode: rec.Mode, Type: rec.Type, Name: rec.Name,
		Scopes: rec.Scopes, Scope: strings.Join(rec.Scopes, " "), ExpiresAt: rec.ExpiresAt, RateLimit: rec.RateLimit,
		RateLimitPerMinute: rec.RateLimitPerMinute,
	}}
	if rec.ExpiresAt != nil {
		e.expires = rec.ExpiresAt.UnixNano()
	}
	switch {
	case rec.RevokedAt != nil:
		e.refused = "revoked"
	case rec.Mode != p.Mode || rec.Type != p.Type:
		// The key's text and its record disagree: never usable.
		e.refused = "mismatch"
	}
	if rec.RateLimit > 0 || rec.RateLimitPerMinute > 0 {
		e.rlKey = "apikeys:rl:" + rec.ID
	}
	return e
}

// allow spends one request of each of the key's limits: per second, then
// per minute (a request refused by the first does not count against the
// second).
func (v *Verifier) allow(ctx context.Context, e *entry) error {
	for _, l := range [...]struct {
		suffix string
		limit  cache.Limit
		on     bool
	}{
		{"", cache.PerSecond(e.key.RateLimit), e.key.RateLimit > 0},
		{":m", cache.PerMinute(e.key.RateLimitPerMinute), e.key.RateLimitPerMinute > 0},
	} {
		if !l.on {
			continue
		}
		res, err := v.o.Cache.Allow(ctx, e.rlKey+l.suffix, l.limit)
		if err != nil {
			// The limit protects the CRM, not the key: fail open.
			v.warn(ctx, "apikey: rate limit unavailable, not enforced", err)
			return nil
		}
		if !res.Allowed {
			return &RateLimitError{RetryAfter: res.RetryAfter}
		}
	}
	return nil
}

// warn logs a backend failure on the request path at most every 10 s:
// an outage must not flood the log.
func (v *Verifier) warn(ctx context.Context, msg string, err error) {
	now, last := v.clock.Load(), v.lastWarn.Load()
	if now-last < int64(10*time.Second) || !v.lastWarn.CompareAndSwap(last, now) {
		return
	}
	v.o.Logger.WarnContext(ctx, msg, "error", err)
}

// Forget drops the key with this hex hash from the in-process caches.
func (v *Verifier) Forget(hash string) {
	var sum [32]byte
	if len(hash) != 64 {
		return
	}
	if _, err := hex.Decode(sum[:], []byte(hash)); err != nil {
		return
	}
	v.forget(sum)
}

func (v *Verifier) forget(sum [32]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen.Add(1)
	v.lru.Remove(sum)
	v.neg.Remove(sum)
}

// VerifierStats are counters for tests and metrics.
type VerifierStats struct {
	Entries   int    // keys in the in-process cache
	Unknown   int    // unknown keys remembered
	Lookups   uint64 // SQL look-ups so far
	Malformed uint64 // keys refused by Parse so far
	Stale     uint64 // answers from a last good record while the store failed
}

// Stats returns the current counters.
func (v *Verifier) Stats() VerifierStats {
	return VerifierStats{Entries: v.lru.Len(), Unknown: v.neg.Len(), Lookups: v.lookups.Load(),
		Malformed: v.malformed.Load(), Stale: v.stale.Load()}
}

// flushAudit returns once every rejection queued so far is written.
func (v *Verifier) flushAudit(ctx context.Context) {
	m := &entry{done: make(chan struct{})}
	select {
	case v.rejects <- m:
	case <-ctx.Done():
		return
	}
	select {
	case <-m.done:
	case <-ctx.Done():
	}
}

// rejected notes the use of a revoked or expired key: at most one audit
// event per key and RejectAuditInterval (per replica, and across replicas
// through the cache), written off the request path.
func (v *Verifier) rejected(e *entry, now int64) {
	if v.o.Audit == nil || e.refused == "mismatch" {
		return
	}
	last := e.lastAudit.Load()
	if now-last < int64(v.o.RejectAuditInterval) || !e.lastAudit.CompareAndSwap(last, now) {
		return
	}
	select {
	case v.rejects <- e:
	default: // audit writer busy: skip rather than slow the request
	}
}

func (v *Verifier) auditLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-v.rejects:
			if e.done != nil {
				close(e.done)
				continue
			}
			ok, err := v.o.Cache.SetNX(ctx, "apikeys:rejected:"+e.key.ID, []byte("1"), v.o.RejectAuditInterval)
			if err == nil && !ok {
				continue // another replica recorded it
			}
			reason := e.refused
			if reason == "" {
				reason = "expired"
			}
			v.o.Audit.Record(ctx, store.AuditEvent{
				Action: audit.APIKeyRejected, Success: false,
				ActorKind: store.KindAPIKey, ActorID: e.key.ID, OrganisationID: e.key.OrganisationID,
				TargetKind: store.KindAPIKey, TargetID: e.key.ID,
				Details: map[string]string{"reason": reason, "mode": string(e.key.Mode)},
			})
		}
	}
}
