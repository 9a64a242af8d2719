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

// ListClients returns every client, ordered by creation then id.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	var rows []clientRow
	if err := s.conn(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, mapErr("list clients", err)
	}
	out := make([]store.Client, len(rows))
	for i, r := range rows {
		c, err := r.toStore()
		if err != nil {
			return nil, mapErr("list clients", err)
		}
		out[i] = c
	}
	return out, nil
}
