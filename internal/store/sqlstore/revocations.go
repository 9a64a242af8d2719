package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

type revocationRow struct {
	Seq       int64     `gorm:"column:seq;primaryKey;autoIncrement"`
	Kind      string    `gorm:"column:kind"`
	Subject   string    `gorm:"column:subject"`
	At        time.Time `gorm:"column:at"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
}

func (revocationRow) TableName() string { return "revocations" }

func (r revocationRow) toStore() store.Revocation {
	return store.Revocation{Seq: r.Seq, Kind: r.Kind, Key: r.Subject, At: r.At.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
}

// AppendRevocations inserts the entries in one transaction. On
// PostgreSQL the transaction first takes an advisory lock, so sequence
// numbers are taken and committed one appender at a time: a reader never
// sees seq n+1 before seq n has committed. SQLite's single writer gives
// the same order.
func (s *Store) AppendRevocations(ctx context.Context, rs ...store.Revocation) ([]store.Revocation, error) {
	const op = "append revocations"
	out := make([]store.Revocation, 0, len(rs))
	if len(rs) == 0 {
		return out, nil
	}
	err := s.tx(ctx, true, func(tx *Store) error {
		db := tx.conn(ctx)
		if tx.dialect == dialectPostgres {
			if err := db.Exec("SELECT pg_advisory_xact_lock(?)", revocationsLockKey).Error; err != nil {
				return mapErr(op, err)
			}
		}
		for _, r := range rs {
			row := revocationRow{Kind: r.Kind, Subject: r.Key, At: orNow(r.At), ExpiresAt: ts(r.ExpiresAt)}
			if err := db.Create(&row).Error; err != nil {
				return mapErr(op, err)
			}
			out = append(out, row.toStore())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListRevocations returns entries after a sequence number, in order.
func (s *Store) ListRevocations(ctx context.Context, after int64, limit int) ([]store.Revocation, error) {
	if limit <= 0 || limit > maxRevocationBatch {
		limit = maxRevocationBatch
	}
	var rows []revocationRow
	if err := s.conn(ctx).Where("seq > ?", after).Order("seq").Limit(limit).Find(&rows).Error; err != nil {
		return nil, mapErr("list revocations", err)
	}
	out := make([]store.Revocation, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, nil
}

// maxRevocationBatch bounds one ListRevocations answer.
const maxRevocationBatch = 5000

// DeleteExpiredRevocations removes entries that expired before before.
func (s *Store) DeleteExpiredRevocations(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(db *gorm.DB) error {
		res := db.Where("expires_at < ?", ts(before)).Delete(&revocationRow{})
		n = res.RowsAffected
		return res.Error
	})
	return n, mapErr("delete expired revocations", err)
}
