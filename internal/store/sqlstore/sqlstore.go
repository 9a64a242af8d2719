package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/authd/authd/internal/store"
)

var _ store.Store = (*Store)(nil)

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// MaxOpenConns caps the PostgreSQL connection pool (default 10).
	// SQLite always uses a single connection: it has a single writer.
	MaxOpenConns int
	// Logger receives failed statements (debug) and slow statements (warn),
	// never with their arguments. Nil discards everything.
	Logger *slog.Logger
}

const (
	defaultMaxOpenConns = 10
	slowStatement       = 200 * time.Millisecond
	defaultPageSize     = 50
	maxPageSize         = 500
)

type dialect int

const (
	dialectSQLite dialect = iota + 1
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// Store is a store.Store backed by SQLite or PostgreSQL. It is safe for
// concurrent use. A Store handed to a Tx callback is bound to that
// transaction; it must not be used after the callback returns.
type Store struct {
	db      *gorm.DB // the pool, or the open transaction for a bound Store
	sqlDB   *sql.DB
	dialect dialect
	log     *slog.Logger
	closer  *closer

	// inTx is set on a Store bound to a transaction.
	inTx bool
	// private is set when the transaction belongs to a single Store
	// operation (UpdateUser, TouchAPIKeys, ...): any error aborts it as a
	// whole, so single statements need no savepoint.
	private bool
}

type closer struct {
	once sync.Once
	err  error
}

var lockingForUpdate = clause.Locking{Strength: clause.LockingStrengthUpdate}

var schemeRE = regexp.MustCompile(`^[a-z][a-z0-9+.\-]*$`)

// Open connects to the database named by dsn and checks it is reachable.
// It does not migrate: call Migrate.
//
// DSN forms:
//
//	sqlite:///abs/path/file.db   sqlite://./relative/file.db   sqlite://:memory:
//	postgres://user:pass@host:5432/db?sslmode=disable   (or postgresql://)
//
// A SQLite file's parent directory is created if missing. Errors never
// contain the DSN's password; failing to reach the database wraps
// store.ErrUnavailable.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	scheme, rest, ok := strings.Cut(dsn, "://")
	scheme = strings.ToLower(scheme)
	if !ok || !schemeRE.MatchString(scheme) {
		return nil, errors.New("sqlstore: invalid database DSN: want sqlite://PATH or postgres://… (DSN withheld from this message)")
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	var (
		gdb *gorm.DB
		d   dialect
		err error
	)
	switch scheme {
	case "sqlite":
		d = dialectSQLite
		gdb, err = openSQLite(ctx, rest, lg)
	case "postgres", "postgresql":
		d = dialectPostgres
		gdb, err = openPostgres(ctx, dsn, opts.MaxOpenConns, lg)
	default:
		return nil, fmt.Errorf("sqlstore: unsupported database DSN scheme %q: want sqlite, postgres or postgresql", scheme)
	}
	if err != nil {
		return nil, err
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	return &Store{db: gdb, sqlDB: sqlDB, dialect: d, log: lg, closer: &closer{}}, nil
}

func gormConfig(lg *slog.Logger) *gorm.Config {
	return &gorm.Config{
		Logger:                 newGormLogger(lg),
		SkipDefaultTransaction: true, // single statements are atomic already
		DisableAutomaticPing:   true, // Open pings with its context
		NowFunc:                now,
	}
}

// now is the store's clock: UTC, microsecond precision.
func now() time.Time { return ts(time.Now()) }

// ts normalises a timestamp for storage.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// nonZero is &t, or nil for the zero time (stored as NULL).
func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// derefUTC is *t in UTC, or the zero time for NULL.
func derefUTC(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return ts(t)
}

// Dialect names the database behind s: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.String() }

// conn returns the gorm handle for one call.
func (s *Store) conn(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

func (s *Store) bind(tx *gorm.DB, private bool) *Store {
	c := *s
	c.db = tx
	c.inTx = true
	c.private = private
	return &c
}

// Tx runs fn inside one transaction. fn's error is returned unchanged and
// nothing fn wrote is kept. Called on a Store bound to a transaction, Tx
// reuses that transaction under a savepoint: a failing nested fn undoes
// only its own changes.
//
// fn must use only the Store it is handed: on SQLite the transaction holds
// the single connection, so a call through the outer Store would wait for
// it until ctx ends.
func (s *Store) Tx(ctx context.Context, fn func(store.Store) error) error {
	return s.tx(ctx, false, func(tx *Store) error { return fn(tx) })
}

// tx runs fn in a transaction (or a savepoint of the current one). private
// marks a transaction used by one Store operation only.
func (s *Store) tx(ctx context.Context, private bool, fn func(*Store) error) error {
	var fnErr error
	body := func(tx *gorm.DB) error {
		fnErr = fn(s.bind(tx, private))
		return fnErr
	}
	var err error
	if s.inTx {
		err = s.conn(ctx).Transaction(body) // SAVEPOINT … RELEASE / ROLLBACK TO
	} else {
		var opts []*sql.TxOptions
		if s.dialect == dialectPostgres {
			// Each statement sees what committed before it: required by
			// UpdateSigningKeys, which reads after taking its lock.
			opts = append(opts, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		}
		err = s.conn(ctx).Transaction(body, opts...)
	}
	if fnErr != nil {
		return fnErr
	}
	return mapErr("transaction", err)
}

// write runs one statement that may fail (a create, say). In a
// transaction shared with other work on PostgreSQL it runs under a
// savepoint, because there a failed statement aborts the whole
// transaction while SQLite only undoes the statement.
func (s *Store) write(ctx context.Context, fn func(*gorm.DB) error) error {
	if s.inTx && !s.private && s.dialect == dialectPostgres {
		return s.conn(ctx).Transaction(fn)
	}
	return fn(s.conn(ctx))
}

// forUpdate locks the selected rows until the transaction ends on
// PostgreSQL; SQLite transactions are already exclusive (BEGIN IMMEDIATE).
func (s *Store) forUpdate(db *gorm.DB) *gorm.DB {
	if s.dialect == dialectPostgres {
		return db.Clauses(lockingForUpdate)
	}
	return db
}

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if s.inTx {
		return mapErr("ping", s.conn(ctx).Exec("SELECT 1").Error)
	}
	return mapErr("ping", s.sqlDB.PingContext(ctx))
}

// Close closes the connection pool. Later calls return the first result;
// on a Store bound to a transaction Close does nothing.
func (s *Store) Close() error {
	if s.inTx {
		return nil
	}
	s.closer.once.Do(func() { s.closer.err = s.sqlDB.Close() })
	return s.closer.err
}

// page turns a store.Page into an offset and a limit.
func page(p store.Page) (offset, limit int) {
	offset, limit = max(p.Offset, 0), p.Size
	switch {
	case limit <= 0:
		limit = defaultPageSize
	case limit > maxPageSize:
		limit = maxPageSize
	}
	return offset, limit
}
