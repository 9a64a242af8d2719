package sqlstore

import (
	"context"

	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

// CreateClient stores c. A non-empty OrganisationID must name an existing
// organisation (else store.ErrNotFound).
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	row := clientToRow(c)
	return mapErr("create client", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// GetClient returns the client id.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	var row clientRow
	if err := s.conn(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return store.Client{}, mapErr("get client", err)
	}
	c, err := row.toStore()
	return c, mapErr("get client", err)
}

// ListClients returns a page of the clients, ordered by creation then id
// (a stable order: ids are unique), and how many there are. A page size
// of 0 means the default; sizes are capped.
func (s *Store) ListClients(ctx context.Context, p store.Page) ([]store.Client, int, error) {
	const op = "list clients"
	offset, limit := page(p)
	var total int64
	if err := s.conn(ctx).Model(&clientRow{}).Count(&total).Error; err != nil {
		return nil, 0, mapErr(op, err)
	}
	var rows []clientRow
	if err := s.conn(ctx).Order("created_at, id").Limit(limit).Offset(offset).Find(&rows).Error; err != nil {
		return nil, 0, mapErr(op, err)
	}
	out := make([]store.Client, len(rows))
	for i, r := range rows {
		c, err := r.toStore()
		if err != nil {
			return nil, 0, mapErr(op, err)
		}
		out[i] = c
	}
	return out, int(total), nil
}

// UpdateClient loads the client (locking its row on PostgreSQL), applies
// fn and saves the result in one transaction. fn's error is returned
// unchanged and nothing is written. The id cannot change.
func (s *Store) UpdateClient(ctx context.Context, id string, fn func(store.Client) (store.Client, error)) error {
	return s.tx(ctx, true, func(tx *Store) error {
		var row clientRow
		if err := tx.forUpdate(tx.conn(ctx)).Where("id = ?", id).Take(&row).Error; err != nil {
			return mapErr("update client", err)
		}
		old, err := row.toStore()
		if err != nil {
			return mapErr("update client", err)
		}
		c, err := fn(old)
		if err != nil {
			return err
		}
		c.ID = id
		next := clientToRow(c)
		return mapErr("update client", tx.write(ctx, func(db *gorm.DB) error {
			return db.Model(&next).Select("*").Updates(&next).Error
		}))
	})
}

// DeleteClient removes the client id; store.ErrNotFound when there is
// none.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return mapErr("delete client", s.write(ctx, func(db *gorm.DB) error {
		res := db.Where("id = ?", id).Delete(&clientRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	}))
}
