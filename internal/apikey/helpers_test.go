package apikey

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/revocation"
	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
)

// memStore is an in-memory API-key store. It embeds store.Store so it can
// be handed to Tx callbacks; only the API-key methods are implemented.
type memStore struct {
	store.Store
	mu      sync.Mutex
	keys    map[string]store.APIKey
	lookups int
	touched map[string]time.Time
	// onLookup runs inside GetAPIKeyByHash (after the read): tests use it
	// to race an invalidation against a fill.
	onLookup   func()
	down       bool
	failUpdate error
	log        []store.Revocation
}

// The revocation log, in memory.

func (m *memStore) AppendRevocations(_ context.Context, rs ...store.Revocation) ([]store.Revocation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return nil, store.ErrUnavailable
	}
	out := make([]store.Revocation, len(rs))
	for i, r := range rs {
		r.Seq = int64(len(m.log) + 1)
		m.log = append(m.log, r)
		out[i] = r
	}
	return out, nil
}

func (m *memStore) ListRevocations(_ context.Context, after int64, limit int) ([]store.Revocation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return nil, store.ErrUnavailable
	}
	var out []store.Revocation
	for _, r := range m.log {
		if r.Seq > after && (limit <= 0 || len(out) < limit) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memStore) DeleteExpiredRevocations(context.Context, time.Time) (int64, error) { return 0, nil }

func newMemStore() *memStore {
	return &memStore{keys: map[string]store.APIKey{}, touched: map[string]time.Time{}}
}

func clone(k store.APIKey) store.APIKey {
	k.Scopes = slices.Clone(k.Scopes)
	return k
}

func (m *memStore) Tx(ctx context.Context, fn func(store.Store) error) error {
	m.mu.Lock()
	saved := maps.Clone(m.keys)
	m.mu.Unlock()
	if err := fn(m); err != nil {
		m.mu.Lock()
		m.keys = saved
		m.mu.Unlock()
		return err
	}
	return nil
}

func (m *memStore) CreateAPIKey(_ context.Context, k store.APIKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.keys {
		if x.ID == k.ID || x.Hash == k.Hash {
			return store.ErrAlreadyExists
		}
	}
	m.keys[k.ID] = clone(k)
	return nil
}

func (m *memStore) GetAPIKey(_ context.Context, id string) (store.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return store.APIKey{}, store.ErrNotFound
	}
	return clone(k), nil
}

func (m *memStore) GetAPIKeyByHash(_ context.Context, hash string) (store.APIKey, error) {
	m.mu.Lock()
	m.lookups++
	down := m.down
	var found *store.APIKey
	for _, k := range m.keys {
		if k.Hash == hash {
			c := clone(k)
			found = &c
		}
	}
	hook := m.onLookup
	m.mu.Unlock()
	if hook != nil {
		hook()
	}
	if down {
		return store.APIKey{}, store.ErrUnavailable
	}
	if found == nil {
		return store.APIKey{}, store.ErrNotFound
	}
	return *found, nil
}

func (m *memStore) ListAPIKeys(_ context.Context, org string, mode store.Mode, _ store.Page) ([]store.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.APIKey
	for _, k := range m.keys {
		if k.OrganisationID == org && (mode == "" || k.Mode == mode) {
			out = append(out, clone(k))
		}
	}
	slices.SortFunc(out, func(a, b store.APIKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (m *memStore) UpdateAPIKey(_ context.Context, id string, fn func(store.APIKey) (store.APIKey, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return store.ErrNotFound
	}
	if m.failUpdate != nil {
		return m.failUpdate
	}
	k, err := fn(clone(k))
	if err != nil {
		return err
	}
	k.ID = id
	m.keys[id] = k
	return nil
}

func (m *memStore) TouchAPIKeys(_ context.Context, used map[string]time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, t := range used {
		m.touched[id] = t
		if k, ok := m.keys[id]; ok {
			k.LastUsedAt = &t
			m.keys[id] = k
		}
	}
	return nil
}

func (m *memStore) lookupCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lookups
}

// memAudit records audit events.
type memAudit struct {
	mu     sync.Mutex
	events []store.AuditEvent
}

func (a *memAudit) Record(_ context.Context, e store.AuditEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
}

func (a *memAudit) actions(action string) []store.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []store.AuditEvent
	for _, e := range a.events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is a store, a cache, a service and a verifier sharing them.
type fixture struct {
	st    *memStore
	cache cache.Cache
	audit *memAudit
	svc   *Service
	v     *Verifier
	revs  *revocation.Service // the revocation log as v's replica holds it
	box   *secretbox.Box
	clk   *clock.Fake // every verifier's and the service's clock
}

// advance moves the fixture's clock, and v's coarse clock at once (its
// ticker would catch up within 100ms).
func (f *fixture) advance(v *Verifier, d time.Duration) {
	f.clk.Advance(d)
	v.clock.Store(f.clk.Now().UnixNano())
}

func newFixture(t testing.TB, opts ...func(*VerifierOptions)) *fixture {
	t.Helper()
	f := &fixture{st: newMemStore(), cache: memcache.New(memcache.Options{}), audit: &memAudit{}, clk: clock.NewFake(time.Now())}
	t.Cleanup(func() { _ = f.cache.Close() })
	box, err := secretbox.New("unit-test-system-secret-0123456789abcdef", "api-keys")
	if err != nil {
		t.Fatal(err)
	}
	f.box = box
	f.v, f.revs = f.replica(t, f.cache, opts...)
	f.svc = f.service(f.revs)
	return f
}

// service is key management on a replica whose revocation log is revs.
func (f *fixture) service(revs *revocation.Service) *Service {
	return NewService(ServiceOptions{Store: f.st, Revocations: revs, Box: f.box, Audit: f.audit, Logger: discard, Now: f.clk.Now})
}

// replicaPoll is how often a replica reads the revocation log in tests.
const replicaPoll = 50 * time.Millisecond

// replica is another replica on the same store: its own revocation log
// (reached through ps) and verifier (using opts' cache, f.cache unless
// changed).
func (f *fixture) replica(t testing.TB, ps revocation.PubSub, opts ...func(*VerifierOptions)) (*Verifier, *revocation.Service) {
	t.Helper()
	revs := revocation.New(f.st, ps, revocation.Config{PollInterval: replicaPoll}, discard, f.clk.Now)
	o := VerifierOptions{Store: f.st, Cache: f.cache, Changes: revs, Audit: f.audit, Logger: discard, Now: f.clk.Now}
	for _, fn := range opts {
		fn(&o)
	}
	v, err := NewVerifier(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	revs.OnApply(func(r store.Revocation) {
		if r.Kind == store.RevokeAPIKey {
			v.Forget(r.Key)
		}
	})
	if err := revs.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	revs.Start(ctx)
	t.Cleanup(func() { cancel(); _ = v.Close() })
	return v, revs
}

// newVerifier is another replica's verifier on the same store and cache.
func (f *fixture) newVerifier(t testing.TB, opts ...func(*VerifierOptions)) *Verifier {
	t.Helper()
	v, _ := f.replica(t, f.cache, opts...)
	return v
}

var (
	admin = Actor{Kind: store.KindUser, ID: "user-1"}
	biz   = Scope{OrganisationID: "biz", Mode: store.ModeLive}
)

func (f *fixture) create(t testing.TB, typ string, mode store.Mode, scopes ...string) Info {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{ScopeContactsRegister}
	}
	in, err := f.svc.Create(context.Background(), admin, CreateParams{OrganisationID: "biz", Mode: mode, Type: typ, Name: "test key", Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// eventually polls cond for up to d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}
