package sqlstore

import (
	"context"

	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

// IsEmpty reports whether no organisation exists yet.
func (s *Store) IsEmpty(ctx context.Context) (bool, error) {
	var exists bool
	if err := s.conn(ctx).Raw("SELECT EXISTS (SELECT 1 FROM organisations)").Scan(&exists).Error; err != nil {
		return false, mapErr("is empty", err)
	}
	return !exists, nil
}

// CreateOrganisation stores o. A non-empty ParentID must name an existing
// organisation (else store.ErrNotFound).
func (s *Store) CreateOrganisation(ctx context.Context, o store.Organisation) error {
	row := organisationToRow(o)
	return mapErr("create organisation", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// GetOrganisation returns the organisation id.
func (s *Store) GetOrganisation(ctx context.Context, id string) (store.Organisation, error) {
	var row organisationRow
	if err := s.conn(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return store.Organisation{}, mapErr("get organisation", err)
	}
	return row.toStore(), nil
}

// ListOrganisations returns the children of parentID (the roots when
// parentID is empty), ordered by creation then id. A page size of 0 means
// 50; sizes are capped at 500.
func (s *Store) ListOrganisations(ctx context.Context, parentID string, p store.Page) ([]store.Organisation, error) {
	offset, limit := page(p)
	q := s.conn(ctx)
	if parentID == "" {
		q = q.Where("parent_id IS NULL")
	} else {
		q = q.Where("parent_id = ?", parentID)
	}
	var rows []organisationRow
	if err := q.Order("created_at, id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
		return nil, mapErr("list organisations", err)
	}
	out := make([]store.Organisation, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, nil
}
