package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

// Advisory lock keys ("authd" followed by a counter), shared by every
// replica using the same PostgreSQL database.
const (
	migrateLockKey     int64 = 0x6175746864_01 // session lock around Migrate
	signingKeysLockKey int64 = 0x6175746864_02 // transaction lock in UpdateSigningKeys
	revocationsLockKey int64 = 0x6175746864_03 // transaction lock in AppendRevocations
)

const defaultConnectTimeout = 10 * time.Second

// openPostgres opens a pgx pool through database/sql. search_path and any
// other run-time parameter may be given as DSN query parameters.
func openPostgres(ctx context.Context, dsn string, maxOpen int, lg *slog.Logger) (*gorm.DB, error) {
	secrets, ok := dsnSecrets(dsn)
	if !ok {
		// The text of a DSN that is not a URL cannot be reliably redacted.
		return nil, errors.New("sqlstore: invalid postgres DSN: not a valid URL (DSN withheld from this message)")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, redacted(secrets, nil, "sqlstore: invalid postgres DSN: %v", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if maxOpen <= 0 {
		maxOpen = defaultMaxOpenConns
	}
	sqlDB := stdlib.OpenDB(*cfg)
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxOpen)
	sqlDB.SetConnMaxLifetime(30 * time.Minute) // follow fail-overs and DNS changes
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, redacted(secrets, store.ErrUnavailable, "sqlstore: connect to postgres: %w: %v", store.ErrUnavailable, err)
	}
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), gormConfig(lg))
	if err != nil {
		_ = sqlDB.Close()
		return nil, redacted(secrets, store.ErrUnavailable, "sqlstore: open postgres: %w: %v", store.ErrUnavailable, err)
	}
	return gdb, nil
}

// dsnSecrets returns the password values in a postgres URL DSN. ok is
// false when the DSN cannot be parsed, so its secrets are unknown.
func dsnSecrets(dsn string) (secrets []string, ok bool) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, false
	}
	if pw, set := u.User.Password(); set && pw != "" {
		secrets = append(secrets, pw)
	}
	for k, vs := range u.Query() {
		if strings.Contains(strings.ToLower(k), "password") {
			for _, v := range vs {
				if v != "" {
					secrets = append(secrets, v)
				}
			}
		}
	}
	return secrets, true
}

// redactedError carries a message known to be free of DSN secrets. It
// unwraps to sentinel only (if set): the driver's own error is dropped from
// the chain because its text may quote the DSN.
type redactedError struct {
	msg      string
	sentinel error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.sentinel }

// redacted formats a message (with %w for sentinel, if any) and masks every
// secret in it.
func redacted(secrets []string, sentinel error, format string, args ...any) error {
	msg := fmt.Errorf(format, args...).Error()
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return &redactedError{msg: msg, sentinel: sentinel}
}

// pgCode returns the SQLSTATE of a PostgreSQL error.
func pgCode(err error) (string, bool) {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code, true
	}
	return "", false
}
