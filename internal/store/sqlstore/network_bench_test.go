package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/password"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/store/sqlstore"
)

// seedNetwork makes a network of 1 service owner, businesses × merchants
// organisations below it, with users: "so-owner" (owner of the service
// owner) and "biz-admin" (admin of the first business).
func seedNetwork(b *testing.B, s *sqlstore.Store, businesses, merchants int) {
	b.Helper()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateOrganisation(ctx, store.Organisation{ID: "so", Name: "SO", Type: store.OrgTypeServiceOwner, CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	for i := range businesses { // one transaction per business
		biz := fmt.Sprintf("b%04d", i)
		err := s.Tx(ctx, func(tx store.Store) error {
			if err := tx.CreateOrganisation(ctx, store.Organisation{ID: biz, Name: "Business " + biz, Type: store.OrgTypeBusiness, ParentID: "so", CreatedAt: now}); err != nil {
				return err
			}
			for j := range merchants {
				id := fmt.Sprintf("%s-m%04d", biz, j)
				if err := tx.CreateOrganisation(ctx, store.Organisation{ID: id, Name: "Merchant " + id, Type: store.OrgTypeMerchant, ParentID: biz, CreatedAt: now}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	err := s.Tx(ctx, func(tx store.Store) error {
		for _, u := range []struct{ id, org, role string }{{"so-owner", "so", "owner"}, {"biz-admin", "b0000", "admin"}} {
			if err := tx.CreateUser(ctx, store.User{ID: u.id, Email: u.id + "@example.com", CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			if err := tx.CreateMembership(ctx, store.Membership{UserID: u.id, OrganisationID: u.org, Role: u.role, IsDefault: true, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkActingOrganisations pages the organisations a user may act
// for in a network of 100 000 (AUTHD_BENCH_NETWORK sets businesses ×
// merchants as "100x999"): the service owner's owner (every organisation)
// and a business admin (its 1 000), first and a deep page.
func BenchmarkActingOrganisations(b *testing.B) {
	shape := os.Getenv("AUTHD_BENCH_NETWORK")
	if shape == "" {
		shape = "100x999"
	}
	var businesses, merchants int
	if _, err := fmt.Sscanf(shape, "%dx%d", &businesses, &merchants); err != nil {
		b.Fatal(err)
	}
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			dsn := sqliteDSN(b)
			if db == "postgres" {
				if os.Getenv(postgresEnv) == "" {
					b.Skip("AUTHD_TEST_POSTGRES_DSN not set")
				}
				dsn = postgresSchemaDSN(b)
			}
			s := openMigrated(b, dsn)
			start := time.Now()
			seedNetwork(b, s, businesses, merchants)
			b.Logf("%s: seeded %d organisations in %v", db, 1+businesses*(merchants+1), time.Since(start))
			if db == "postgres" {
				// What autovacuum does after a bulk load: fresh planner statistics.
				pg, err := sql.Open("pgx", dsn)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := pg.Exec("ANALYZE"); err != nil {
					b.Fatal(err)
				}
				_ = pg.Close()
			}
			for _, tc := range []struct {
				name, user string
				page       store.Page
			}{
				{"service-owner/first", "so-owner", store.Page{Size: 20}},
				{"service-owner/deep", "so-owner", store.Page{Offset: (1 + businesses*(merchants+1)) * 9 / 10, Size: 20}},
				{"business-admin/first", "biz-admin", store.Page{Size: 20}},
				{"business-admin/last", "biz-admin", store.Page{Offset: max(0, merchants+1-20), Size: 20}},
			} {
				b.Run(tc.name, func(b *testing.B) {
					ctx := context.Background()
					for b.Loop() {
						list, total, err := s.ListActingOrganisations(ctx, tc.user, tc.page)
						if err != nil || total == 0 || len(list) == 0 {
							b.Fatalf("%d organisations of %d: %v", len(list), total, err)
						}
					}
				})
			}
			benchSignInViews(b, s, merchants)
		})
	}
}

// benchSignInViews measures what a sign-in or a switch reads beyond the
// password or the token: the rights check and the auth response's profile
// of a user acting for a merchant deep in the network, with cold caches
// (a fresh identity service each time: a replica's first request for
// that user). Run with a small network and the 100 000 to compare.
func benchSignInViews(b *testing.B, s *sqlstore.Store, merchants int) {
	mc := memcache.New(memcache.Options{})
	b.Cleanup(func() { _ = mc.Close() })
	hasher := password.New(password.Params{MemoryKiB: 1024, Iterations: 1})
	rec := audit.New(s, nil)
	merchant := func(biz int) string { return fmt.Sprintf("b%04d-m%04d", biz, merchants/2) }
	for _, tc := range []struct{ name, user, home, org string }{
		{"switch/service-owner-into-merchant", "so-owner", "so", merchant(0)},
		{"switch/business-admin-into-merchant", "biz-admin", "b0000", merchant(0)},
		{"signin/business-admin", "biz-admin", "", "b0000"},
		{"signin/service-owner", "so-owner", "", "so"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				id := identity.New(s, mc, hasher, rec, identity.Config{}, nil)
				g, err := id.RoleIn(ctx, tc.user, tc.org)
				if err != nil || g.Role == "" {
					b.Fatalf("rights of %s in %s: %+v %v", tc.user, tc.org, g, err)
				}
				p, err := id.Profile(ctx, tc.user, tc.org, tc.home)
				if err != nil || p.Current.ID != tc.org {
					b.Fatalf("profile of %s in %s: %v", tc.user, tc.org, err)
				}
			}
		})
	}
}
