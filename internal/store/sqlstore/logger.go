package sqlstore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// gormLogger reports failed statements at debug level (the caller gets
// the error and decides) and slow ones at warn level. Statements are logged
// with their placeholders only: values can be secrets (hashes, sealed keys,
// emails).
type gormLogger struct {
	log  *slog.Logger
	slow time.Duration
}

var (
	_ logger.Interface  = gormLogger{}
	_ gorm.ParamsFilter = gormLogger{}
)

func newGormLogger(lg *slog.Logger) gormLogger { return gormLogger{log: lg, slow: slowStatement} }

func (l gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l gormLogger) Info(context.Context, string, ...any) {}

func (l gormLogger) Warn(ctx context.Context, msg string, _ ...any) {
	l.log.WarnContext(ctx, "sqlstore: gorm: "+msg)
}

func (l gormLogger) Error(ctx context.Context, msg string, _ ...any) {
	l.log.ErrorContext(ctx, "sqlstore: gorm: "+msg)
}

func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
		if l.log.Enabled(ctx, slog.LevelDebug) {
			sql, _ := fc()
			l.log.DebugContext(ctx, "sqlstore: statement failed", "sql", sql, "elapsed", elapsed, "error", err)
		}
	case elapsed > l.slow:
		sql, rows := fc()
		l.log.WarnContext(ctx, "sqlstore: slow statement", "sql", sql, "rows", rows, "elapsed", elapsed)
	}
}

// ParamsFilter drops the statement's arguments before gorm renders it.
func (gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
