package sqlstore

import (
	"context"
	"errors"
	"strconv"
	"time"

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
	if row.ParentID != nil {
		// A parent never moves, so its depth read here stays true.
		var parent organisationRow
		if err := s.conn(ctx).Select("depth").Where("id = ?", *row.ParentID).Take(&parent).Error; err == nil {
			row.Depth = parent.Depth + 1
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return mapErr("create organisation", err)
		} // an unknown parent: the insert's foreign key refuses it
	}
	return mapErr("create organisation", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// ListActingOrganisations pages through the organisations a user may act
// for, in the database: every membership's organisation and everything
// below it (a recursive query on both SQLite and PostgreSQL), each with the
// strongest role on its path, ordered by depth in the network, name and
// id; it also returns how many there are. A user whose strongest
// membership is on the root acts for every organisation: that case reads
// the organisations table directly (its depth index), so a network of any
// size pages alike.
func (s *Store) ListActingOrganisations(ctx context.Context, userID string, p store.Page) ([]store.ActingOrganisation, int, error) {
	const op = "list acting organisations"
	offset, limit := page(p)
	var root struct {
		Role string `gorm:"column:role"`
	}
	err := s.conn(ctx).Raw(`SELECT m.role FROM memberships m JOIN organisations o ON o.id = m.organisation_id
		WHERE m.user_id = ? AND o.parent_id IS NULL`, userID).Scan(&root).Error
	if err != nil {
		return nil, 0, mapErr(op, err)
	}
	var strongest struct {
		N int `gorm:"column:n"`
	}
	if err := s.conn(ctx).Raw(`SELECT COALESCE(MAX(`+roleRank+`), 0) AS n FROM memberships WHERE user_id = ?`, userID).Scan(&strongest).Error; err != nil {
		return nil, 0, mapErr(op, err)
	}
	type actingRow struct {
		ID        string    `gorm:"column:id"`
		Name      string    `gorm:"column:name"`
		Type      string    `gorm:"column:type"`
		ParentID  *string   `gorm:"column:parent_id"`
		Depth     int       `gorm:"column:depth"`
		CreatedAt time.Time `gorm:"column:created_at"`
		Strength  int       `gorm:"column:strength"`
	}
	var rows []actingRow
	var total int64
	if root.Role != "" && rank(root.Role) >= strongest.N {
		q := s.conn(ctx).Table("organisations")
		if err := q.Count(&total).Error; err != nil {
			return nil, 0, mapErr(op, err)
		}
		err = s.conn(ctx).Raw(`SELECT id, name, type, parent_id, depth, created_at, `+strconv.Itoa(rank(root.Role))+` AS strength
			FROM organisations ORDER BY depth, name, id LIMIT ? OFFSET ?`, limit, offset).Scan(&rows).Error
	} else {
		const sub = `WITH RECURSIVE sub(id, strength) AS (
			SELECT organisation_id, ` + roleRank + ` FROM memberships WHERE user_id = ?
			UNION ALL
			SELECT o.id, sub.strength FROM organisations o JOIN sub ON o.parent_id = sub.id
		), best AS (SELECT id, MAX(strength) AS strength FROM sub GROUP BY id) `
		if err := s.conn(ctx).Raw(sub+`SELECT COUNT(*) FROM best`, userID).Scan(&total).Error; err != nil {
			return nil, 0, mapErr(op, err)
		}
		err = s.conn(ctx).Raw(sub+`SELECT o.id, o.name, o.type, o.parent_id, o.depth, o.created_at, best.strength
			FROM best JOIN organisations o ON o.id = best.id
			ORDER BY o.depth, o.name, o.id LIMIT ? OFFSET ?`, userID, limit, offset).Scan(&rows).Error
	}
	if err != nil {
		return nil, 0, mapErr(op, err)
	}
	out := make([]store.ActingOrganisation, len(rows))
	for i, r := range rows {
		o := organisationRow{ID: r.ID, Name: r.Name, Type: r.Type, ParentID: r.ParentID, CreatedAt: r.CreatedAt}
		out[i] = store.ActingOrganisation{Organisation: o.toStore(), Role: roleName(r.Strength)}
	}
	return out, int(total), nil
}

// roleRank orders roles in SQL: owner 3, admin 2, member 1.
const roleRank = `CASE role WHEN 'owner' THEN 3 WHEN 'admin' THEN 2 ELSE 1 END`

func rank(role string) int {
	switch role {
	case "owner":
		return 3
	case "admin":
		return 2
	}
	return 1
}

func roleName(n int) string {
	switch n {
	case 3:
		return "owner"
	case 2:
		return "admin"
	}
	return "member"
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
