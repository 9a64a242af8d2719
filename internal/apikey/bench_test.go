package apikey_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver, for the benchmark's schema

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/store/sqlstore"
)

// benchEnv is a verifier over a real sqlstore (SQLite in a temp dir, or
// PostgreSQL when AUTHD_TEST_POSTGRES_DSN is set and AUTHD_BENCH_POSTGRES=1)
// holding n secret keys.
func benchEnv(b *testing.B, cacheSize, n int) (*apikey.Verifier, []string) {
	b.Helper()
	ctx := context.Background()
	dsn := "sqlite://" + filepath.Join(b.TempDir(), "bench.db")
	if pg := os.Getenv("AUTHD_TEST_POSTGRES_DSN"); pg != "" && os.Getenv("AUTHD_BENCH_POSTGRES") == "1" {
		dsn = postgresSchema(b, pg)
	}
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	org := "bench-" + time.Now().Format("150405.000000000")
	if err := st.CreateOrganisation(ctx, store.Organisation{ID: org, Name: "Bench", Type: store.OrgTypeBusiness, CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	c := memcache.New(memcache.Options{})
	b.Cleanup(func() { _ = c.Close() })
	box, _ := secretbox.New("bench-system-secret-0123456789abcdefghij", "api-keys")
	svc := apikey.NewService(apikey.ServiceOptions{Store: st, Box: box})
	keys := make([]string, n)
	for i := range keys {
		in, err := svc.Create(ctx, apikey.Actor{Kind: store.KindSystem, ID: "bench"}, apikey.CreateParams{
			OrganisationID: org, Mode: store.ModeLive, Type: store.APIKeySecret, Name: "bench", Scopes: []string{"*"}})
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = in.Key
	}
	v, err := apikey.NewVerifier(ctx, apikey.VerifierOptions{Store: st, Cache: c, CacheSize: cacheSize, LastUsedFlush: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = v.Close() })
	return v, keys
}

// postgresSchema creates an empty schema, dropped at the end, and returns
// a DSN selecting it.
func postgresSchema(b *testing.B, base string) string {
	db, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	schema := "bench_apikey_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "_")
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// BenchmarkVerifyCacheHit: the key is in the in-process cache (the
// steady state of a busy key).
func BenchmarkVerifyCacheHit(b *testing.B) {
	v, keys := benchEnv(b, 100, 1)
	ctx := context.Background()
	if _, err := v.Verify(ctx, keys[0]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, keys[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCacheHitParallel: many goroutines verifying a set of hot
// keys at once (lock contention in the LRU).
func BenchmarkVerifyCacheHitParallel(b *testing.B) {
	v, keys := benchEnv(b, 100, 16)
	ctx := context.Background()
	for _, k := range keys {
		if _, err := v.Verify(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(ctx, keys[i%len(keys)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkVerifyCacheMiss: every verification reads SQL (an in-process
// cache of one entry and two keys taken in turn).
func BenchmarkVerifyCacheMiss(b *testing.B) {
	v, keys := benchEnv(b, 1, 2)
	ctx := context.Background()
	before := v.Stats().Lookups
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := v.Verify(ctx, keys[i&1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if got := v.Stats().Lookups - before; got < uint64(i) {
		b.Fatalf("%d look-ups for %d verifications: not all misses", got, i)
	}
}

// BenchmarkVerifyMalformed: a typo is refused by the checksum alone.
func BenchmarkVerifyMalformed(b *testing.B) {
	v, keys := benchEnv(b, 100, 1)
	typo := []byte(keys[0])
	typo[12] ^= 1
	bad := string(typo)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, bad); err == nil {
			b.Fatal("typo accepted")
		}
	}
}
