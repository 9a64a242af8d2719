package sqlstore

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

// CreateAPIKey stores k. The organisation must exist (else
// store.ErrNotFound); a taken id or hash is store.ErrAlreadyExists.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	row := apiKeyToRow(k)
	return mapErr("create api key", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// GetAPIKey returns the key id.
func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	return s.getAPIKey(ctx, "get api key", s.conn(ctx).Where("id = ?", id))
}

// GetAPIKeyByHash returns the key whose hash is hash (a unique index).
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	return s.getAPIKey(ctx, "get api key by hash", s.conn(ctx).Where("hash = ?", hash))
}

func (s *Store) getAPIKey(_ context.Context, op string, q *gorm.DB) (store.APIKey, error) {
	var row apiKeyRow
	if err := q.Take(&row).Error; err != nil {
		return store.APIKey{}, mapErr(op, err)
	}
	k, err := row.toStore()
	return k, mapErr(op, err)
}

// ListAPIKeys returns the keys of an organisation in one mode (every mode
// when mode is empty), revoked and expired ones included, ordered by
// creation then id. A page size of 0 means 50; sizes are capped at 500.
func (s *Store) ListAPIKeys(ctx context.Context, organisationID string, mode store.Mode, p store.Page) ([]store.APIKey, error) {
	offset, limit := page(p)
	q := s.conn(ctx).Where("organisation_id = ?", organisationID)
	if mode != "" {
		q = q.Where("mode = ?", string(mode))
	}
	var rows []apiKeyRow
	if err := q.Order("created_at, id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
		return nil, mapErr("list api keys", err)
	}
	out := make([]store.APIKey, len(rows))
	for i, r := range rows {
		k, err := r.toStore()
		if err != nil {
			return nil, mapErr("list api keys", err)
		}
		out[i] = k
	}
	return out, nil
}

// UpdateAPIKey loads the key (locking its row on PostgreSQL), applies fn
// and saves the result in one transaction. fn's error is returned
// unchanged and nothing is written. The id cannot change.
func (s *Store) UpdateAPIKey(ctx context.Context, id string, fn func(store.APIKey) (store.APIKey, error)) error {
	return s.tx(ctx, true, func(tx *Store) error {
		var row apiKeyRow
		if err := tx.forUpdate(tx.conn(ctx)).Where("id = ?", id).Take(&row).Error; err != nil {
			return mapErr("update api key", err)
		}
		old, err := row.toStore()
		if err != nil {
			return mapErr("update api key", err)
		}
		k, err := fn(old)
		if err != nil {
			return err
		}
		k.ID = id
		next := apiKeyToRow(k)
		return mapErr("update api key", tx.write(ctx, func(db *gorm.DB) error {
			return db.Model(&next).Select("*").Updates(&next).Error
		}))
	})
}

// TouchAPIKeys sets last_used_at of each key to its time unless the stored
// time is later already: last_used_at never moves backwards. Unknown ids
// and zero times are ignored. One transaction; on PostgreSQL two
// statements whatever the number of keys.
func (s *Store) TouchAPIKeys(ctx context.Context, usedAt map[string]time.Time) error {
	type touch struct {
		ID string    `json:"id"`
		T  time.Time `json:"t"`
	}
	touches := make([]touch, 0, len(usedAt))
	for id, t := range usedAt {
		if !t.IsZero() {
			touches = append(touches, touch{ID: id, T: ts(t)})
		}
	}
	if len(touches) == 0 {
		return nil
	}
	// Rows are locked in id order, so concurrent batches cannot deadlock.
	slices.SortFunc(touches, func(a, b touch) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	err := s.tx(ctx, true, func(tx *Store) error {
		db := tx.conn(ctx)
		if tx.dialect == dialectPostgres {
			batch, err := json.Marshal(touches)
			if err != nil {
				return err
			}
			if err := db.Exec(`SELECT k.id FROM api_keys k
				WHERE k.id IN (SELECT x.id FROM jsonb_to_recordset(?::jsonb) AS x(id text, t timestamptz))
				ORDER BY k.id FOR UPDATE`, string(batch)).Error; err != nil {
				return err
			}
			return db.Exec(`UPDATE api_keys AS k SET last_used_at = x.t
				FROM jsonb_to_recordset(?::jsonb) AS x(id text, t timestamptz)
				WHERE k.id = x.id AND (k.last_used_at IS NULL OR k.last_used_at < x.t)`, string(batch)).Error
		}
		for _, t := range touches {
			if err := db.Exec(`UPDATE api_keys SET last_used_at = ?
				WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, t.T, t.ID, t.T).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr("touch api keys", err)
}
