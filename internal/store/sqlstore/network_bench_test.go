package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

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
				{"service-owner/deep", "so-owner", store.Page{Offset: 90000, Size: 20}},
				{"business-admin/first", "biz-admin", store.Page{Size: 20}},
				{"business-admin/last", "biz-admin", store.Page{Offset: 980, Size: 20}},
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
		})
	}
}
