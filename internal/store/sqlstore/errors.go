package sqlstore

import (
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authd/authd/internal/store"
)

// PostgreSQL SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
)

// mapErr turns a driver or gorm error from operation op into the store
// sentinels callers test with errors.Is:
//
//   - no row: store.ErrNotFound;
//   - a unique or primary-key violation: store.ErrAlreadyExists;
//   - a foreign-key violation (the referenced organisation or user does
//     not exist): store.ErrNotFound;
//   - anything else (connection refused or lost, database closed, context
//     cancelled or timed out, lock timeouts, server shutting down, …):
//     an error wrapping store.ErrUnavailable and the cause, so logs keep
//     the cause and errors.Is(err, context.DeadlineExceeded) still works.
//
// Errors already carrying a store sentinel (store.ErrConflict included)
// pass through unchanged. Driver
// messages quote neither SQL values nor the DSN.
func mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrAlreadyExists),
		errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrUnavailable):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	case isUniqueViolation(err):
		return fmt.Errorf("%s: %w", op, store.ErrAlreadyExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("%s: referenced record: %w", op, store.ErrNotFound)
	case isDataException(err):
		return fmt.Errorf("%s: %w", op, store.ErrInvalidValue)
	default:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, store.ErrUnavailable, err)
	}
}

func isUniqueViolation(err error) bool {
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	if code, ok := pgCode(err); ok {
		return code == pgUniqueViolation
	}
	return errors.Is(err, gorm.ErrDuplicatedKey)
}

// isDataException: PostgreSQL refused a value (SQLSTATE class 22, e.g.
// 22021, a NUL byte or invalid UTF-8 in text).
func isDataException(err error) bool {
	code, ok := pgCode(err)
	return ok && strings.HasPrefix(code, "22")
}

func isForeignKeyViolation(err error) bool {
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	if code, ok := pgCode(err); ok {
		return code == pgForeignKeyViolation
	}
	return errors.Is(err, gorm.ErrForeignKeyViolated)
}
