package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/libtnb/sqlite"
	"gorm.io/gorm"
	gosqlite "modernc.org/sqlite"
)

// sqlitePragmas run on every new connection: WAL lets readers work
// beside the writer, busy_timeout waits for another process's write lock
// instead of failing at once, foreign_keys enforces the references.
var sqlitePragmas = []string{
	"busy_timeout(5000)",
	"journal_mode(WAL)",
	"synchronous(NORMAL)",
	"foreign_keys(1)",
}

// openSQLite opens the database at rest, the part of a sqlite:// DSN after
// the scheme: "/abs/path.db", "./rel/path.db" or ":memory:", optionally
// followed by "?" and extra driver parameters.
func openSQLite(ctx context.Context, rest string, lg *slog.Logger) (*gorm.DB, error) {
	path, rawQuery, _ := strings.Cut(rest, "?")
	if path == "" {
		return nil, errors.New("sqlstore: sqlite DSN has no path (want sqlite:///abs/file.db, sqlite://./rel/file.db or sqlite://:memory:)")
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sqlite DSN: invalid query parameters: %w", err)
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("sqlstore: sqlite: create database directory: %w", err)
		}
	}
	query["_pragma"] = append(sqlitePragmas[:len(sqlitePragmas):len(sqlitePragmas)], query["_pragma"]...)
	// Every write transaction takes the write lock when it begins, so
	// read-then-write transactions (UpdateUser, UpdateSigningKeys) are
	// exclusive even across processes sharing the file.
	query.Set("_txlock", "immediate")

	sqlDB, err := sql.Open(sqlite.DriverName, path+"?"+query.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sqlite: %w", err)
	}
	// One connection: SQLite has one writer, and ":memory:" databases live
	// and die with their connection.
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, mapErr("open sqlite database", err)
	}
	// The driver keeps a prepared statement compiled, so preparing each
	// distinct statement once saves SQLite's parse on every execution (a
	// fifth of a refresh). Statements are per connection, and there is one.
	cfg := gormConfig(lg)
	cfg.PrepareStmt = true
	cfg.PrepareStmtMaxSize = 512
	gdb, err := gorm.Open(&sqlite.Dialector{Conn: sqlDB}, cfg)
	if err != nil {
		_ = sqlDB.Close()
		return nil, mapErr("open sqlite database", err)
	}
	return gdb, nil
}

// sqliteCode returns the extended result code of a SQLite error.
func sqliteCode(err error) (int, bool) {
	var e *gosqlite.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}
