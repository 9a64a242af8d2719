package identity_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/password"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/store/sqlstore"
)

// newService returns an identity service over a fresh, migrated SQLite
// store and an in-process cache, with cheap password hashing.
func newService(t *testing.T) (*identity.Service, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "identity.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := memcache.New(memcache.Options{})
	t.Cleanup(func() { _ = c.Close() })
	h := password.New(password.Params{MemoryKiB: 1024, Iterations: 1})
	return identity.New(st, c, h, audit.New(st, nil), identity.Config{AccountAttemptsPerHour: 1000, IPAttemptsPerMinute: 1000}, nil), st
}
