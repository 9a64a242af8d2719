package sqlstore

import (
	"context"

	"github.com/authd/authd/internal/store"
)

// ListSigningKeys returns every signing key, oldest first (by CreatedAt,
// then SignsFrom, then kid).
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	var rows []signingKeyRow
	if err := s.conn(ctx).Order("created_at, signs_from, kid").Find(&rows).Error; err != nil {
		return nil, mapErr("list signing keys", err)
	}
	out := make([]store.SigningKey, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, nil
}

// UpdateSigningKeys runs fn over the current keys, then deletes the kids
// in del (unknown ones are ignored) and inserts add, all in one
// transaction. It is exclusive across replicas: on PostgreSQL the
// transaction first takes an advisory lock and only then reads the keys;
// SQLite transactions begin IMMEDIATE, holding the single write lock.
// fn's error is returned unchanged and nothing is written; adding a kid
// that exists is store.ErrAlreadyExists and nothing is written either.
func (s *Store) UpdateSigningKeys(ctx context.Context, fn func([]store.SigningKey) (add []store.SigningKey, del []string, err error)) error {
	return s.tx(ctx, true, func(tx *Store) error {
		db := tx.conn(ctx)
		if tx.dialect == dialectPostgres {
			if err := db.Exec("SELECT pg_advisory_xact_lock(?)", signingKeysLockKey).Error; err != nil {
				return mapErr("lock signing keys", err)
			}
		}
		keys, err := tx.ListSigningKeys(ctx)
		if err != nil {
			return err
		}
		add, del, err := fn(keys)
		if err != nil {
			return err
		}
		if len(del) > 0 {
			if err := db.Where("kid IN ?", del).Delete(&signingKeyRow{}).Error; err != nil {
				return mapErr("delete signing keys", err)
			}
		}
		if len(add) > 0 {
			rows := make([]signingKeyRow, len(add))
			for i, k := range add {
				rows[i] = signingKeyToRow(k)
			}
			if err := db.Create(&rows).Error; err != nil {
				return mapErr("add signing keys", err)
			}
		}
		return nil
	})
}
