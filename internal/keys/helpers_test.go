package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/store"
)

const testSecret = "test-system-secret-0123456789abcdef"

// fakeStore is an in-memory Store: UpdateSigningKeys holds one mutex, like
// the advisory lock of the SQL store.
type fakeStore struct {
	mu      sync.Mutex
	keys    []store.SigningKey
	lists   atomic.Int64
	updates atomic.Int64
}

var _ Store = (*fakeStore)(nil)

func copyKey(k store.SigningKey) store.SigningKey {
	k.Private = bytes.Clone(k.Private)
	k.PublicJWK = bytes.Clone(k.PublicJWK)
	return k
}

func (f *fakeStore) snapshot() []store.SigningKey {
	out := make([]store.SigningKey, 0, len(f.keys))
	for _, k := range f.keys {
		out = append(out, copyKey(k))
	}
	slices.SortStableFunc(out, func(a, b store.SigningKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

func (f *fakeStore) ListSigningKeys(context.Context) ([]store.SigningKey, error) {
	f.lists.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snapshot(), nil
}

func (f *fakeStore) UpdateSigningKeys(_ context.Context, fn func([]store.SigningKey) ([]store.SigningKey, []string, error)) error {
	f.updates.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	add, del, err := fn(f.snapshot())
	if err != nil {
		return err
	}
	f.keys = slices.DeleteFunc(f.keys, func(k store.SigningKey) bool { return slices.Contains(del, k.KID) })
	for _, k := range add {
		if slices.ContainsFunc(f.keys, func(o store.SigningKey) bool { return o.KID == k.KID }) {
			return fmt.Errorf("kid %s: %w", k.KID, store.ErrAlreadyExists)
		}
		f.keys = append(f.keys, copyKey(k))
	}
	return nil
}

func (f *fakeStore) kids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, k := range f.snapshot() {
		out = append(out, k.KID)
	}
	return out
}

func (f *fakeStore) get(kid string) (store.SigningKey, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keys {
		if k.KID == kid {
			return copyKey(k), true
		}
	}
	return store.SigningKey{}, false
}

// newClock is an injected clock the tests move.
func newClock() *clock.Fake { return clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

func testConfig() Config {
	return Config{
		Algorithm:      ES256,
		PublishAhead:   time.Hour,
		MaxTokenTTL:    15 * time.Minute,
		JWKSMaxAge:     5 * time.Minute,
		ReloadInterval: time.Minute,
	}
}

// grace is MaxTokenTTL + Leeway of testConfig.
const grace = 16 * time.Minute

// newManager builds a Manager on st without Init.
func newManager(t testing.TB, st Store, clk *clock.Fake, cfg Config) *Manager {
	t.Helper()
	m, err := New(st, testSecret, cfg, slog.New(slog.DiscardHandler), clk.Now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// initManager builds a Manager on st and runs Init.
func initManager(t testing.TB, st Store, clk *clock.Fake, cfg Config) *Manager {
	t.Helper()
	m := newManager(t, st, clk, cfg)
	if err := m.Init(context.Background()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return m
}

func mustSign(t testing.TB, m *Manager) (token, kid string) {
	t.Helper()
	tok, err := m.Sign([]byte(`{"sub":"u1","exp":1}`), "at+jwt")
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	_, h, err := m.Verify(tok)
	if err != nil {
		t.Fatalf("Verify of a fresh token: %v", err)
	}
	return tok, h.KID
}

func activeKID(t testing.TB, m *Manager) string {
	t.Helper()
	kid, _, _, err := m.Current()
	if err != nil {
		t.Fatalf("Current: %v", err)
	}
	return kid
}

// jwksKIDs lists the kids of the manager's JWKS.
func jwksKIDs(t testing.TB, m *Manager) []string {
	t.Helper()
	body, _ := m.JWKS()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, body)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KID)
	}
	return out
}

func bg() context.Context { return context.Background() }
