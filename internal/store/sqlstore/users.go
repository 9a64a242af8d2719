package sqlstore

import (
	"context"

	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

// CreateUser stores u with its email lower-cased. A zero UpdatedAt is set
// to CreatedAt.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	row := userToRow(u)
	return mapErr("create user", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// GetUser returns the user id.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	var row userRow
	if err := s.conn(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return store.User{}, mapErr("get user", err)
	}
	return row.toStore(), nil
}

// GetUsers returns the users with these ids in one query.
func (s *Store) GetUsers(ctx context.Context, ids []string) ([]store.User, error) {
	if len(ids) == 0 {
		return []store.User{}, nil
	}
	var rows []userRow
	if err := s.conn(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, mapErr("get users", err)
	}
	out := make([]store.User, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, nil
}

// GetUserByEmail returns the user whose email is email, compared
// lower-cased.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	var row userRow
	if err := s.conn(ctx).Where("email = ?", normEmail(email)).Take(&row).Error; err != nil {
		return store.User{}, mapErr("get user by email", err)
	}
	return row.toStore(), nil
}

// UpdateUser loads the user (locking its row on PostgreSQL), applies fn
// and saves the result in one transaction. fn's error is returned
// unchanged and nothing is written. The id cannot change; when fn leaves
// UpdatedAt as it was, it is set to the current time.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) error {
	return s.tx(ctx, true, func(tx *Store) error {
		var row userRow
		if err := tx.forUpdate(tx.conn(ctx)).Where("id = ?", id).Take(&row).Error; err != nil {
			return mapErr("update user", err)
		}
		old := row.toStore()
		u, err := fn(old)
		if err != nil {
			return err
		}
		u.ID = id
		if u.UpdatedAt.Equal(old.UpdatedAt) {
			u.UpdatedAt = now()
		}
		next := userToRow(u)
		return mapErr("update user", tx.write(ctx, func(db *gorm.DB) error {
			return db.Model(&next).Select("*").Updates(&next).Error
		}))
	})
}

// ListUsers returns users ordered by creation then id. A page size of 0
// means 50; sizes are capped at 500.
func (s *Store) ListUsers(ctx context.Context, p store.Page) ([]store.User, error) {
	offset, limit := page(p)
	var rows []userRow
	if err := s.conn(ctx).Order("created_at, id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
		return nil, mapErr("list users", err)
	}
	out := make([]store.User, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, nil
}

// CreateMembership stores m. The user and the organisation must exist
// (else store.ErrNotFound); a second membership of the same user in the
// same organisation is store.ErrAlreadyExists.
func (s *Store) CreateMembership(ctx context.Context, m store.Membership) error {
	row := membershipToRow(m)
	return mapErr("create membership", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// ListMemberships returns the memberships of userID, ordered by creation
// then organisation id; none is not an error.
func (s *Store) ListMemberships(ctx context.Context, userID string) ([]store.Membership, error) {
	var rows []membershipRow
	if err := s.conn(ctx).Where("user_id = ?", userID).Order("created_at, organisation_id").Find(&rows).Error; err != nil {
		return nil, mapErr("list memberships", err)
	}
	out := make([]store.Membership, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, nil
}

// ListOrganisationMembers returns the memberships held in organisationID,
// ordered by creation then user id; none is not an error. A page size of
// 0 means 50; sizes are capped at 500.
func (s *Store) ListOrganisationMembers(ctx context.Context, organisationID string, p store.Page) ([]store.Membership, error) {
	offset, limit := page(p)
	var rows []membershipRow
	err := s.conn(ctx).Where("organisation_id = ?", organisationID).
		Order("created_at, user_id").Offset(offset).Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, mapErr("list organisation members", err)
	}
	out := make([]store.Membership, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, nil
}

// DeleteMembership removes a membership; store.ErrNotFound if there is
// none.
func (s *Store) DeleteMembership(ctx context.Context, userID, organisationID string) error {
	var n int64
	err := s.write(ctx, func(db *gorm.DB) error {
		res := db.Where("user_id = ? AND organisation_id = ?", userID, organisationID).Delete(&membershipRow{})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return mapErr("delete membership", err)
	}
	if n == 0 {
		return mapErr("delete membership", gorm.ErrRecordNotFound)
	}
	return nil
}
