package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver, to create test schemas

	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/store/sqlstore"
	"github.com/authd/authd/internal/store/storetest"
)

const postgresEnv = "AUTHD_TEST_POSTGRES_DSN"

// openMigrated opens dsn, migrates it and closes it at the end of the test.
func openMigrated(t testing.TB, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func sqliteDSN(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "authd.db")
}

func newSQLite(t *testing.T) store.Store { return openMigrated(t, sqliteDSN(t)) }

// postgresBaseDSN returns the test server's DSN or skips the test.
func postgresBaseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skipf("%s not set, skipping PostgreSQL conformance tests", postgresEnv)
	}
	return dsn
}

// postgresSchemaDSN creates an empty schema for this test, dropped at the
// end, and returns a DSN whose search_path selects it.
func postgresSchemaDSN(t testing.TB) string {
	t.Helper()
	base := postgresBaseDSN(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	schema := "t_" + strings.ToLower(rand.Text()[:16])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func newPostgres(t *testing.T) store.Store { return openMigrated(t, postgresSchemaDSN(t)) }

// backends lists the databases the tests below run on; dsn returns a
// fresh, empty database (PostgreSQL skips without AUTHD_TEST_POSTGRES_DSN).
var backends = []struct {
	name string
	dsn  func(testing.TB) string
}{
	{"SQLite", sqliteDSN},
	{"PostgreSQL", postgresSchemaDSN},
}

func TestSQLiteConformance(t *testing.T) {
	storetest.RunTests(t, newSQLite)
}

func TestPostgresConformance(t *testing.T) {
	postgresBaseDSN(t)
	storetest.RunTests(t, newPostgres)
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openMigrated(t, b.dsn(t))
			seed := store.Organisation{ID: "root", Name: "Root", Type: store.OrgTypeServiceOwner}
			if err := s.CreateOrganisation(t.Context(), seed); err != nil {
				t.Fatalf("CreateOrganisation: %v", err)
			}
			start := time.Now()
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			elapsed := time.Since(start)
			t.Logf("Migrate with nothing pending took %v", elapsed)
			if elapsed > 250*time.Millisecond {
				t.Errorf("Migrate with nothing pending took %v, want a few milliseconds", elapsed)
			}
			n, err := s.PendingMigrations(t.Context())
			if err != nil || n != 0 {
				t.Errorf("PendingMigrations = %d, %v; want 0, nil", n, err)
			}
			if _, err := s.GetOrganisation(t.Context(), "root"); err != nil {
				t.Errorf("data lost by the second Migrate: %v", err)
			}
		})
	}
}

func TestPendingMigrationsOnFreshDatabase(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, err := sqlstore.Open(t.Context(), b.dsn(t), sqlstore.Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			n, err := s.PendingMigrations(t.Context())
			if err != nil || n < 1 {
				t.Fatalf("PendingMigrations on a fresh database = %d, %v; want >= 1, nil", n, err)
			}
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if n, err := s.PendingMigrations(t.Context()); err != nil || n != 0 {
				t.Errorf("PendingMigrations after Migrate = %d, %v; want 0, nil", n, err)
			}
		})
	}
}

// TestConcurrentMigrate starts several replicas on one fresh database at
// once: all succeed (the advisory lock serialises them) and the schema is
// usable.
func TestConcurrentMigrate(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			const replicas = 3
			stores := make([]*sqlstore.Store, replicas)
			for i := range stores {
				s, err := sqlstore.Open(t.Context(), dsn, sqlstore.Options{MaxOpenConns: 2})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				t.Cleanup(func() { _ = s.Close() })
				stores[i] = s
			}
			var wg sync.WaitGroup
			errs := make([]error, replicas)
			for i, s := range stores {
				wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("replica %d: Migrate: %v", i, err)
				}
			}
			for i, s := range stores {
				if n, err := s.PendingMigrations(t.Context()); err != nil || n != 0 {
					t.Errorf("replica %d: PendingMigrations = %d, %v; want 0, nil", i, n, err)
				}
			}
			org := store.Organisation{ID: "root", Name: "Root", Type: store.OrgTypeServiceOwner}
			if err := stores[0].CreateOrganisation(t.Context(), org); err != nil {
				t.Fatalf("CreateOrganisation: %v", err)
			}
			if _, err := stores[replicas-1].GetOrganisation(t.Context(), "root"); err != nil {
				t.Errorf("GetOrganisation from another replica: %v", err)
			}
		})
	}
}

// TestSigningKeysExclusiveAcrossReplicas rotates from two Stores (two
// pools, as two replicas would) on one database at once.
func TestSigningKeysExclusiveAcrossReplicas(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			replicas := []*sqlstore.Store{openMigrated(t, dsn), openMigrated(t, dsn)}
			now := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, len(replicas))
			for i, s := range replicas {
				wg.Go(func() {
					errs[i] = s.UpdateSigningKeys(t.Context(), func(cur []store.SigningKey) ([]store.SigningKey, []string, error) {
						for _, k := range cur {
							if k.SignsFrom.After(now) {
								return nil, nil, nil
							}
						}
						time.Sleep(100 * time.Millisecond)
						kid := fmt.Sprintf("replica-%d", i)
						return []store.SigningKey{{KID: kid, Algorithm: "ES256", CreatedAt: now, SignsFrom: now.Add(time.Hour)}}, nil, nil
					})
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("replica %d: UpdateSigningKeys: %v", i, err)
				}
			}
			keys, err := replicas[0].ListSigningKeys(t.Context())
			if err != nil {
				t.Fatalf("ListSigningKeys: %v", err)
			}
			if len(keys) != 1 {
				t.Errorf("two replicas rotating at once stored %d keys, want 1: %+v", len(keys), keys)
			}
		})
	}
}

func TestReferencesMustExist(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openMigrated(t, b.dsn(t))
			ctx := t.Context()
			if err := s.CreateOrganisation(ctx, store.Organisation{ID: "root", Name: "Root", Type: store.OrgTypeServiceOwner}); err != nil {
				t.Fatalf("CreateOrganisation: %v", err)
			}
			if err := s.CreateUser(ctx, store.User{ID: "u1", Email: "u1@example.com"}); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			tests := []struct {
				name string
				call func() error
			}{
				{"organisation with unknown parent", func() error {
					return s.CreateOrganisation(ctx, store.Organisation{ID: "o", Name: "O", Type: store.OrgTypeBusiness, ParentID: "nope"})
				}},
				{"membership of unknown user", func() error {
					return s.CreateMembership(ctx, store.Membership{UserID: "nope", OrganisationID: "root", Role: "owner"})
				}},
				{"membership in unknown organisation", func() error {
					return s.CreateMembership(ctx, store.Membership{UserID: "u1", OrganisationID: "nope", Role: "owner"})
				}},
				{"api key of unknown organisation", func() error {
					return s.CreateAPIKey(ctx, store.APIKey{ID: "k", OrganisationID: "nope", Mode: store.ModeLive, Hash: "h"})
				}},
				{"client bound to unknown organisation", func() error {
					return s.CreateClient(ctx, store.Client{ID: "c", OrganisationID: "nope", Mode: store.ModeLive})
				}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					if err := tc.call(); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("got %v, want ErrNotFound", err)
					}
				})
			}
		})
	}
}

// TestListAPIKeysEveryMode: an empty mode lists both modes (a sqlstore
// extension of the contract, for back-office listings).
func TestListAPIKeysEveryMode(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openMigrated(t, b.dsn(t))
			ctx := t.Context()
			if err := s.CreateOrganisation(ctx, store.Organisation{ID: "biz", Name: "Biz", Type: store.OrgTypeBusiness}); err != nil {
				t.Fatal(err)
			}
			created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			for i, mode := range []store.Mode{store.ModeTest, store.ModeLive} {
				k := store.APIKey{ID: string(mode), OrganisationID: "biz", Mode: mode, Hash: string(mode), CreatedAt: created.Add(time.Duration(i) * time.Hour)}
				if err := s.CreateAPIKey(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.ListAPIKeys(ctx, "biz", "", store.Page{})
			if err != nil {
				t.Fatalf("ListAPIKeys: %v", err)
			}
			if len(got) != 2 || got[0].ID != "test" || got[1].ID != "live" {
				t.Errorf("ListAPIKeys(every mode) = %+v, want test then live", got)
			}
		})
	}
}

func TestPageSizeDefaultAndCap(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openMigrated(t, b.dsn(t))
			ctx := t.Context()
			created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			err := s.Tx(ctx, func(tx store.Store) error {
				if err := tx.CreateOrganisation(ctx, store.Organisation{ID: "root", Name: "Root", Type: store.OrgTypeServiceOwner, CreatedAt: created}); err != nil {
					return err
				}
				for i := range 501 {
					o := store.Organisation{ID: fmt.Sprintf("o%04d", i), Name: "O", Type: store.OrgTypeMerchant, ParentID: "root", CreatedAt: created}
					if err := tx.CreateOrganisation(ctx, o); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("seed: %v", err)
			}
			tests := []struct {
				name string
				page store.Page
				want int
			}{
				{"size 0 means 50", store.Page{}, 50},
				{"negative size means 50", store.Page{Size: -1}, 50},
				{"size capped at 500", store.Page{Size: 1000}, 500},
				{"size 500", store.Page{Size: 500}, 500},
				{"negative offset is 0", store.Page{Offset: -5, Size: 3}, 3},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					got, err := s.ListOrganisations(ctx, "root", tc.page)
					if err != nil {
						t.Fatalf("ListOrganisations: %v", err)
					}
					if len(got) != tc.want {
						t.Errorf("got %d organisations, want %d", len(got), tc.want)
					}
					if len(got) > 0 && got[0].ID != "o0000" {
						t.Errorf("first organisation %q, want o0000", got[0].ID)
					}
				})
			}
		})
	}
}

func TestOpenBadDSN(t *testing.T) {
	const secret = "hunter2"
	tests := []struct {
		name    string
		dsn     string
		mention string // the error must mention this
	}{
		{"empty", "", "DSN"},
		{"no scheme", "user:" + secret + "@localhost/db", "DSN"},
		{"unknown scheme", "mysql://root:" + secret + "@db:3306/authd", `"mysql"`},
		{"unknown scheme upper case", "MySQL://root:" + secret + "@db/authd", `"mysql"`},
		{"sqlite without path", "sqlite://", "path"},
		{"postgres not a URL", "postgres://u:" + secret + "@[::1/db", "DSN"},
		{"postgres bad port", "postgres://u:" + secret + "@localhost:notaport/db", "DSN"},
		{"postgres bad sslmode", "postgres://u:" + secret + "@localhost/db?sslmode=bogus", "DSN"},
		{"postgres password parameter", "postgresql://u@localhost/db?password=" + secret + "&sslmode=bogus", "DSN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlstore.Open(t.Context(), tc.dsn, sqlstore.Options{})
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%s) succeeded, want an error", tc.name)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
			checkNoSecret(t, err, secret)
		})
	}
}

// checkNoSecret fails if secret appears anywhere in err's chain.
func checkNoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if strings.Contains(e.Error(), secret) {
			t.Errorf("error chain reveals the password: %q", e.Error())
		}
		switch u := e.(type) { //nolint:errorlint // walking the chain by hand
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
}

func TestOpenUnreachablePostgres(t *testing.T) {
	const secret = "secretpw"
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := sqlstore.Open(ctx, "postgres://u:"+secret+"@127.0.0.1:1/db?connect_timeout=1&sslmode=disable", sqlstore.Options{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open(unreachable) = %v, want an error wrapping ErrUnavailable", err)
	}
	checkNoSecret(t, err, secret)
	t.Logf("error: %v", err)
}

func TestPostgresWrongPassword(t *testing.T) {
	base := postgresBaseDSN(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "definitely-wrong-pw"
	u.User = url.UserPassword(u.User.Username(), secret)
	_, err = sqlstore.Open(t.Context(), u.String(), sqlstore.Options{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open(wrong password) = %v, want an error wrapping ErrUnavailable", err)
	}
	checkNoSecret(t, err, secret)
}

func TestSQLiteDSNForms(t *testing.T) {
	t.Run("creates parent directories", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "a", "b", "authd.db")
		openMigrated(t, "sqlite://"+path)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("database file not created: %v", err)
		}
	})
	t.Run("relative path", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		openMigrated(t, "sqlite://./data/authd.db")
		if _, err := os.Stat(filepath.Join(dir, "data", "authd.db")); err != nil {
			t.Errorf("database file not created under the working directory: %v", err)
		}
	})
	t.Run("memory", func(t *testing.T) {
		s := openMigrated(t, "sqlite://:memory:")
		if err := s.CreateOrganisation(t.Context(), store.Organisation{ID: "root", Name: "Root", Type: store.OrgTypeServiceOwner}); err != nil {
			t.Fatalf("CreateOrganisation: %v", err)
		}
		if _, err := s.GetOrganisation(t.Context(), "root"); err != nil {
			t.Errorf("GetOrganisation: %v", err)
		}
	})
	t.Run("data survives reopening", func(t *testing.T) {
		dsn := sqliteDSN(t)
		s := openMigrated(t, dsn)
		if err := s.CreateOrganisation(t.Context(), store.Organisation{ID: "root", Name: "Root", Type: store.OrgTypeServiceOwner}); err != nil {
			t.Fatalf("CreateOrganisation: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s2 := openMigrated(t, dsn)
		if _, err := s2.GetOrganisation(t.Context(), "root"); err != nil {
			t.Errorf("GetOrganisation after reopening: %v", err)
		}
	})
}

func TestContextDeadlineIsUnavailable(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openMigrated(t, b.dsn(t))
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			_, err := s.GetOrganisation(ctx, "root")
			if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.Canceled) {
				t.Errorf("GetOrganisation with a cancelled context = %v, want ErrUnavailable wrapping context.Canceled", err)
			}
		})
	}
}

func BenchmarkGetAPIKeyByHash(b *testing.B) {
	s := openMigrated(b, sqliteDSN(b))
	ctx := context.Background()
	if err := s.CreateOrganisation(ctx, store.Organisation{ID: "biz", Name: "Biz", Type: store.OrgTypeBusiness}); err != nil {
		b.Fatal(err)
	}
	const n = 2000
	hashes := make([]string, n)
	err := s.Tx(ctx, func(tx store.Store) error {
		for i := range n {
			hashes[i] = hex.EncodeToString([]byte(fmt.Sprintf("key-%028d", i)))
			k := store.APIKey{
				ID: fmt.Sprintf("k%d", i), OrganisationID: "biz", Mode: store.ModeLive, Type: store.APIKeySecret,
				Hash: hashes[i], Scopes: []string{"contacts:read"},
			}
			if err := tx.CreateAPIKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.GetAPIKeyByHash(ctx, hashes[i%n]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
