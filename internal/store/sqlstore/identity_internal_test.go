package sqlstore

import (
	"crypto/rand"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

// testDSNs returns a fresh SQLite database and, when
// AUTHD_TEST_POSTGRES_DSN is set, a fresh PostgreSQL schema (dropped at
// the end of the test).
func testDSNs(t *testing.T) []struct{ name, dsn string } {
	t.Helper()
	out := []struct{ name, dsn string }{{"SQLite", "sqlite://" + filepath.Join(t.TempDir(), "authd.db")}}
	base := os.Getenv("AUTHD_TEST_POSTGRES_DSN")
	if base == "" {
		return out
	}
	admin, err := Open(t.Context(), base, Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("Open admin: %v", err)
	}
	schema := "t_" + strings.ToLower(rand.Text()[:16])
	if err := admin.db.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if err := admin.db.Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return append(out, struct{ name, dsn string }{"PostgreSQL", u.String()})
}

func openDSN(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestIdentitySchema(t *testing.T) {
	for _, b := range testDSNs(t) {
		t.Run(b.name, func(t *testing.T) {
			s := openDSN(t, b.dsn)
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			m := s.db.Migrator()
			for _, table := range []string{"refresh_tokens", "audit_events", "contacts", "identities", "contact_organisations"} {
				if !m.HasTable(table) {
					t.Errorf("table %s missing", table)
				}
			}
			for _, tc := range []struct{ table, index string }{
				{"refresh_tokens", "idx_refresh_tokens_family"},
				{"refresh_tokens", "idx_refresh_tokens_subject"},
				{"refresh_tokens", "idx_refresh_tokens_family_expires"},
				{"audit_events", "idx_audit_events_organisation_at"},
				{"audit_events", "idx_audit_events_at"},
				{"contacts", "idx_contacts_code"},
				{"contacts", "idx_contacts_email"},
				{"contacts", "idx_contacts_phone"},
				{"identities", "idx_identities_contact"},
				{"contact_organisations", "idx_contact_organisations_organisation"},
			} {
				if !m.HasIndex(tc.table, tc.index) {
					t.Errorf("index %s on %s missing", tc.index, tc.table)
				}
			}
		})
	}
}

// TestUpgradeFrom0001 migrates a database holding data at 0001_initial
// to the latest schema.
func TestUpgradeFrom0001(t *testing.T) {
	for _, b := range testDSNs(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			s := openDSN(t, b.dsn)
			if err := newMigrator(s.conn(ctx)).MigrateTo("0001_initial"); err != nil {
				t.Fatalf("migrate to 0001: %v", err)
			}
			if s.db.Migrator().HasTable("contacts") {
				t.Fatalf("contacts exists at 0001")
			}
			if n, err := s.PendingMigrations(ctx); err != nil || n != len(migrations())-1 {
				t.Fatalf("PendingMigrations at 0001 = %d, %v; want %d", n, err, len(migrations())-1)
			}
			// Rows as the 0001 schema holds them (the live model has more
			// columns).
			created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			org := store.Organisation{ID: "biz", Name: "Biz", Type: store.OrgTypeBusiness, ParentID: "so", CreatedAt: created}
			for _, o := range []store.Organisation{{ID: "so", Name: "SO", Type: store.OrgTypeServiceOwner, CreatedAt: created}, org} {
				if err := s.conn(ctx).Exec(`INSERT INTO organisations (id, name, type, parent_id, created_at) VALUES (?, ?, ?, ?, ?)`,
					o.ID, o.Name, o.Type, nullString(o.ParentID), o.CreatedAt).Error; err != nil {
					t.Fatalf("insert at 0001: %v", err)
				}
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if n, err := s.PendingMigrations(ctx); err != nil || n != 0 {
				t.Errorf("PendingMigrations after Migrate = %d, %v; want 0", n, err)
			}
			if got, err := s.GetOrganisation(ctx, "biz"); err != nil || got != org {
				t.Errorf("organisation after the upgrade = %+v, %v; want %+v", got, err, org)
			}
			var depth int
			if err := s.conn(ctx).Raw(`SELECT depth FROM organisations WHERE id = ?`, "biz").Scan(&depth).Error; err != nil || depth != 1 {
				t.Errorf("depth of a business after the upgrade = %d, %v; want 1", depth, err)
			}
			if err := s.CreateContact(ctx, store.Contact{ID: "c1", BusinessID: "biz", Mode: store.ModeLive}); err != nil {
				t.Errorf("CreateContact after the upgrade: %v", err)
			}
		})
	}
}

// TestDeletingContactCascades: no Store method deletes a contact yet, but
// the schema already removes its identities and links with it.
func TestDeletingContactCascades(t *testing.T) {
	for _, b := range testDSNs(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			s := openDSN(t, b.dsn)
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			steps := []error{
				s.CreateOrganisation(ctx, store.Organisation{ID: "biz", Name: "Biz", Type: store.OrgTypeBusiness}),
				s.CreateContact(ctx, store.Contact{ID: "c1", BusinessID: "biz", Mode: store.ModeLive}),
				s.CreateContact(ctx, store.Contact{ID: "c1", BusinessID: "biz", Mode: store.ModeTest}),
				s.CreateIdentity(ctx, store.Identity{BusinessID: "biz", Mode: store.ModeLive, Provider: store.ProviderPhone, Subject: "+1", ContactID: "c1"}),
				s.CreateIdentity(ctx, store.Identity{BusinessID: "biz", Mode: store.ModeTest, Provider: store.ProviderPhone, Subject: "+1", ContactID: "c1"}),
				s.AddContactOrganisation(ctx, store.ContactOrganisation{BusinessID: "biz", Mode: store.ModeLive, ContactID: "c1", OrganisationID: "biz"}),
			}
			for i, err := range steps {
				if err != nil {
					t.Fatalf("seed step %d: %v", i, err)
				}
			}
			if err := s.db.Exec("DELETE FROM contacts WHERE business_id = 'biz' AND mode = 'live' AND id = 'c1'").Error; err != nil {
				t.Fatalf("delete contact: %v", err)
			}
			for _, table := range []string{"identities", "contact_organisations"} {
				var live, test int64
				s.db.Table(table).Where("mode = 'live'").Count(&live)
				s.db.Table(table).Where("mode = 'test'").Count(&test)
				if live != 0 {
					t.Errorf("%s: %d live rows left after deleting their contact", table, live)
				}
				if table == "identities" && test != 1 {
					t.Errorf("identities: %d test rows, want the other mode's 1 untouched", test)
				}
			}
		})
	}
}

// TestIdentityLookupsUseIndexes guards the hot paths of the identity
// tables against full scans (SQLite plans).
func TestIdentityLookupsUseIndexes(t *testing.T) {
	s := openTestSQLite(t, Options{})
	dry := func() *gorm.DB { return s.db.Session(&gorm.Session{DryRun: true}) }
	stmt := func(db *gorm.DB) (string, []any) { return db.Statement.SQL.String(), db.Statement.Vars }
	tests := []struct {
		name  string
		query func() (string, []any)
		index string
	}{
		{"FindContacts by email", func() (string, []any) {
			return stmt(dry().Where("business_id = ? AND mode = ?", "b", "live").Where("email = ?", "e").Order("created_at, id").Find(&[]contactRow{}))
		}, "idx_contacts_email"},
		{"FindContacts by phone", func() (string, []any) {
			return stmt(dry().Where("business_id = ? AND mode = ?", "b", "live").Where("phone_number = ?", "p").Order("created_at, id").Find(&[]contactRow{}))
		}, "idx_contacts_phone"},
		{"ListIdentities", func() (string, []any) {
			return stmt(dry().Where("business_id = ? AND mode = ? AND contact_id = ?", "b", "live", "c").Find(&[]identityRow{}))
		}, "idx_identities_contact"},
		{"RevokeRefreshFamily", func() (string, []any) {
			return "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL", []any{time.Now(), "f"}
		}, "idx_refresh_tokens_family"},
		{"RevokeRefreshTokensOf", func() (string, []any) {
			return "UPDATE refresh_tokens SET revoked_at = ? WHERE subject_kind = ? AND subject_id = ? AND revoked_at IS NULL", []any{time.Now(), "user", "u"}
		}, "idx_refresh_tokens_subject"},
		{"DeleteExpiredRefreshTokens", func() (string, []any) {
			return stmt(dry().Where("family_expires_at < ?", time.Now()).Delete(&refreshTokenRow{}))
		}, "idx_refresh_tokens_family_expires"},
		{"ListAuditEvents of an organisation", func() (string, []any) {
			return stmt(dry().Where("organisation_id IN ?", []string{"o"}).Order("at DESC, id DESC").Limit(50).Find(&[]auditEventRow{}))
		}, "idx_audit_events_organisation_at"},
		{"ListAuditEvents", func() (string, []any) {
			return stmt(dry().Order("at DESC, id DESC").Limit(50).Find(&[]auditEventRow{}))
		}, "idx_audit_events_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sql, vars := tc.query()
			var plan []struct{ Detail string }
			if err := s.db.Raw("EXPLAIN QUERY PLAN "+sql, vars...).Scan(&plan).Error; err != nil {
				t.Fatalf("EXPLAIN %s: %v", sql, err)
			}
			for _, p := range plan {
				if strings.Contains(p.Detail, "INDEX "+tc.index) {
					return
				}
			}
			t.Errorf("plan of %s = %+v, want it to use %s", sql, plan, tc.index)
		})
	}
}
