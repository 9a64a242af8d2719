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
}

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
	box   *secretbox.Box
}

func newFixture(t testing.TB, opts ...func(*VerifierOptions)) *fixture {
	t.Helper()
	f := &fixture{st: newMemStore(), cache: memcache.New(memcache.Options{}), audit: &memAudit{}}
	t.Cleanup(func() { _ = f.cache.Close() })
	box, err := secretbox.New("unit-test-system-secret-0123456789abcdef", "api-keys")
	if err != nil {
		t.Fatal(err)
	}
	f.box = box
	f.v = f.newVerifier(t, opts...)
	f.svc = NewService(ServiceOptions{Store: f.st, Cache: f.cache, Box: box, Audit: f.audit, Local: f.v, Logger: discard})
	return f
}

// newVerifier is another replica's verifier on the same store and cache.
func (f *fixture) newVerifier(t testing.TB, opts ...func(*VerifierOptions)) *Verifier {
	t.Helper()
	o := VerifierOptions{Store: f.st, Cache: f.cache, Audit: f.audit, Logger: discard, EpochPoll: 50 * time.Millisecond}
	for _, fn := range opts {
		fn(&o)
	}
	v, err := NewVerifier(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
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
