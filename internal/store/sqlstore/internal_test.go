package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

func openTestSQLite(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "authd.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestSQLitePragmas(t *testing.T) {
	s := openTestSQLite(t, Options{MaxOpenConns: 8})
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"}, // NORMAL
	}
	for _, tc := range tests {
		t.Run(tc.pragma, func(t *testing.T) {
			var got string
			if err := s.db.Raw("PRAGMA " + tc.pragma).Scan(&got).Error; err != nil {
				t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
			}
		})
	}
	if n := s.sqlDB.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("SQLite pool allows %d connections, want 1", n)
	}
}

func TestMigrationTableHoldsEachIDOnce(t *testing.T) {
	s := openTestSQLite(t, Options{})
	for range 2 {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	var ids []string
	if err := s.db.Table(migrationsTable).Order("id").Pluck("id", &ids).Error; err != nil {
		t.Fatalf("read %s: %v", migrationsTable, err)
	}
	var want []string
	for _, m := range migrations() {
		want = append(want, m.ID)
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("%s holds %q, want %q", migrationsTable, ids, want)
	}
}

func TestInitialSchemaIndexes(t *testing.T) {
	s := openTestSQLite(t, Options{})
	m := s.db.Migrator()
	for _, tc := range []struct{ table, index string }{
		{"users", "idx_users_email"},
		{"api_keys", "idx_api_keys_hash"},
		{"api_keys", "idx_api_keys_organisation_mode"},
		{"organisations", "idx_organisations_parent"},
		{"memberships", "idx_memberships_organisation"},
	} {
		if !m.HasIndex(tc.table, tc.index) {
			t.Errorf("index %s on %s missing", tc.index, tc.table)
		}
	}
	for _, table := range []string{"organisations", "users", "memberships", "clients", "api_keys", "signing_keys", migrationsTable} {
		if !m.HasTable(table) {
			t.Errorf("table %s missing", table)
		}
	}
}

func TestMapErr(t *testing.T) {
	already := fmt.Errorf("get user: %w", store.ErrNotFound)
	tests := []struct {
		name  string
		in    error
		want  []error // errors.Is targets
		avoid []error // must not match
	}{
		{"record not found", gorm.ErrRecordNotFound, []error{store.ErrNotFound}, []error{store.ErrUnavailable}},
		{"postgres unique violation", &pgconn.PgError{Code: "23505"}, []error{store.ErrAlreadyExists}, []error{store.ErrUnavailable}},
		{"postgres foreign key violation", &pgconn.PgError{Code: "23503"}, []error{store.ErrNotFound}, []error{store.ErrUnavailable}},
		{"postgres admin shutdown", &pgconn.PgError{Code: "57P01"}, []error{store.ErrUnavailable}, []error{store.ErrNotFound}},
		{"postgres connection failure", &pgconn.PgError{Code: "08006"}, []error{store.ErrUnavailable}, nil},
		{"gorm duplicated key", gorm.ErrDuplicatedKey, []error{store.ErrAlreadyExists}, nil},
		{"database closed", errors.New("sql: database is closed"), []error{store.ErrUnavailable}, nil},
		{"connection done", sql.ErrConnDone, []error{store.ErrUnavailable, sql.ErrConnDone}, nil},
		{"deadline", context.DeadlineExceeded, []error{store.ErrUnavailable, context.DeadlineExceeded}, nil},
		{"wrapped deadline", fmt.Errorf("query: %w", context.Canceled), []error{store.ErrUnavailable, context.Canceled}, nil},
		{"already mapped", already, []error{store.ErrNotFound}, []error{store.ErrUnavailable}},
		{"conflict", fmt.Errorf("rotate: %w", store.ErrConflict), []error{store.ErrConflict}, []error{store.ErrUnavailable}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mapErr("op", tc.in)
			for _, w := range tc.want {
				if !errors.Is(got, w) {
					t.Errorf("mapErr(%v) = %v, want it to match %v", tc.in, got, w)
				}
			}
			for _, a := range tc.avoid {
				if errors.Is(got, a) {
					t.Errorf("mapErr(%v) = %v, must not match %v", tc.in, got, a)
				}
			}
		})
	}
	if mapErr("op", nil) != nil {
		t.Errorf("mapErr(nil) != nil")
	}
	if got := mapErr("op", already); got != already { //nolint:errorlint // identity expected
		t.Errorf("mapErr changed an already mapped error: %v", got)
	}
}

// TestLogsHoldNoValues makes a statement fail with a secret value in it
// and checks the debug log names the failure but not the value.
func TestLogsHoldNoValues(t *testing.T) {
	var buf bytes.Buffer
	lg := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := openTestSQLite(t, Options{Logger: lg})
	ctx := t.Context()
	const secret = "s3cr3t-hash-value"
	if err := s.CreateOrganisation(ctx, store.Organisation{ID: "biz", Name: "Biz", Type: store.OrgTypeBusiness}); err != nil {
		t.Fatal(err)
	}
	k := store.APIKey{ID: "k1", OrganisationID: "biz", Mode: store.ModeLive, Hash: secret, Sealed: []byte(secret)}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	k.ID = "k2"
	if err := s.CreateAPIKey(ctx, k); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("duplicate hash: %v", err)
	}
	out := buf.String()
	if !strings.Contains(out, "statement failed") || !strings.Contains(out, "INSERT INTO") {
		t.Errorf("the failed statement was not logged:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("log reveals a value:\n%s", out)
	}
}

// TestHashLookupUsesIndex guards the API key look-up path (every request
// carrying an api_key header) against a full table scan.
func TestHashLookupUsesIndex(t *testing.T) {
	s := openTestSQLite(t, Options{})
	stmt := s.db.Session(&gorm.Session{DryRun: true}).Where("hash = ?", "h").Take(&apiKeyRow{}).Statement
	var plan []struct{ Detail string }
	if err := s.db.Raw("EXPLAIN QUERY PLAN "+stmt.SQL.String(), stmt.Vars...).Scan(&plan).Error; err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	if len(plan) == 0 || !strings.Contains(plan[0].Detail, "USING INDEX idx_api_keys_hash") {
		t.Errorf("GetAPIKeyByHash plan = %+v, want a search using idx_api_keys_hash", plan)
	}
}
