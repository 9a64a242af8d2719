package sqlstore

import (
	"context"

	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

// CreateAuditEvent stores e; a zero At means now and a taken id is
// store.ErrAlreadyExists. OrganisationID is not a reference: events
// outlive what they name.
func (s *Store) CreateAuditEvent(ctx context.Context, e store.AuditEvent) error {
	row := auditEventToRow(e)
	return mapErr("create audit event", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// ListAuditEvents returns the events matching f, newest first (by At,
// then id, both descending). An empty OrganisationIDs, Action or ActorID
// does not filter. A page size of 0 means 50; sizes are capped at 500.
func (s *Store) ListAuditEvents(ctx context.Context, f store.AuditFilter, p store.Page) ([]store.AuditEvent, error) {
	offset, limit := page(p)
	q := s.conn(ctx)
	if len(f.OrganisationIDs) > 0 {
		q = q.Where("organisation_id IN ?", f.OrganisationIDs)
	}
	if f.Subtree != "" {
		q = q.Where(`organisation_id IN (WITH RECURSIVE sub(id) AS (
			SELECT id FROM organisations WHERE id = ?
			UNION ALL
			SELECT o.id FROM organisations o JOIN sub ON o.parent_id = sub.id) SELECT id FROM sub)`, f.Subtree)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ActorID != "" {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	var rows []auditEventRow
	if err := q.Order("at DESC, id DESC").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
		return nil, mapErr("list audit events", err)
	}
	out := make([]store.AuditEvent, len(rows))
	for i, r := range rows {
		e, err := r.toStore()
		if err != nil {
			return nil, mapErr("list audit events", err)
		}
		out[i] = e
	}
	return out, nil
}
