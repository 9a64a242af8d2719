package sqlstore

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

// Every contact, identity and contact organisation belongs to one
// (business, mode): the business id and mode lead every key and every
// query, so one tenant's or mode's rows are never seen from another.

// errFindContactsArgs is FindContacts' answer to a call breaking its
// contract; it is a programming error, not a store condition.
var errFindContactsArgs = errors.New("sqlstore: find contacts: exactly one of email and phone must be non-empty")

// CreateContact stores c with its email lower-cased; a zero UpdatedAt is
// set to CreatedAt. The business must exist (else store.ErrNotFound). A
// taken id, or a taken non-empty code, in the same business and mode is
// store.ErrAlreadyExists.
func (s *Store) CreateContact(ctx context.Context, c store.Contact) error {
	row := contactToRow(c)
	return mapErr("create contact", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// GetContact returns contact id of the business in mode.
func (s *Store) GetContact(ctx context.Context, businessID string, mode store.Mode, id string) (store.Contact, error) {
	var row contactRow
	err := s.conn(ctx).Where("business_id = ? AND mode = ? AND id = ?", businessID, string(mode), id).Take(&row).Error
	if err != nil {
		return store.Contact{}, mapErr("get contact", err)
	}
	return row.toStore(), nil
}

// UpdateContact loads the contact (locking its row on PostgreSQL),
// applies fn and saves the result in one transaction. fn's error is
// returned unchanged and nothing is written. The key (business, mode, id)
// cannot change; the email is lower-cased; when fn leaves UpdatedAt as it
// was, it is set to the current time. A code taken by another contact is
// store.ErrAlreadyExists.
func (s *Store) UpdateContact(ctx context.Context, businessID string, mode store.Mode, id string, fn func(store.Contact) (store.Contact, error)) error {
	return s.tx(ctx, true, func(tx *Store) error {
		var row contactRow
		err := tx.forUpdate(tx.conn(ctx)).Where("business_id = ? AND mode = ? AND id = ?", businessID, string(mode), id).Take(&row).Error
		if err != nil {
			return mapErr("update contact", err)
		}
		old := row.toStore()
		c, err := fn(old)
		if err != nil {
			return err
		}
		c.BusinessID, c.Mode, c.ID = businessID, mode, id
		if c.UpdatedAt.Equal(old.UpdatedAt) {
			c.UpdatedAt = now()
		}
		next := contactToRow(c)
		return mapErr("update contact", tx.write(ctx, func(db *gorm.DB) error {
			return db.Model(&next).Select("*").Omit("business_id", "mode", "id").Updates(&next).Error
		}))
	})
}

// FindContacts returns the contacts of the business in mode whose email
// (compared lower-cased) or phone number is the one given, ordered by
// creation then id; none is not an error. Exactly one of email and phone
// must be non-empty, else FindContacts fails with an error matching no
// store sentinel.
func (s *Store) FindContacts(ctx context.Context, businessID string, mode store.Mode, email, phone string) ([]store.Contact, error) {
	if (email == "") == (phone == "") {
		return nil, errFindContactsArgs
	}
	q := s.conn(ctx).Where("business_id = ? AND mode = ?", businessID, string(mode))
	if email != "" {
		q = q.Where("email = ?", normEmail(email))
	} else {
		q = q.Where("phone_number = ?", phone)
	}
	var rows []contactRow
	if err := q.Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, mapErr("find contacts", err)
	}
	out := make([]store.Contact, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, nil
}

// ListContacts returns a page of the contacts of the business in mode
// whose code, email (compared lower-cased) and phone number equal the
// non-empty fields of f, ordered by creation then id, and how many match.
// A page size of 0 means 50; sizes are capped at 500.
func (s *Store) ListContacts(ctx context.Context, businessID string, mode store.Mode, f store.ContactFilter, p store.Page) ([]store.Contact, int, error) {
	const op = "list contacts"
	q := s.conn(ctx).Model(&contactRow{}).Where("business_id = ? AND mode = ?", businessID, string(mode))
	if f.Code != "" {
		q = q.Where("code = ?", f.Code)
	}
	if f.Email != "" {
		q = q.Where("email = ?", normEmail(f.Email))
	}
	if f.Phone != "" {
		q = q.Where("phone_number = ?", f.Phone)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, mapErr(op, err)
	}
	offset, limit := page(p)
	var rows []contactRow
	if err := q.Order("created_at, id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
		return nil, 0, mapErr(op, err)
	}
	out := make([]store.Contact, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, int(total), nil
}

// DeleteContact removes the contact, its identities, its organisation
// links and its refresh tokens in one transaction (the rows are deleted
// explicitly rather than left to ON DELETE CASCADE, which SQLite honours
// only with foreign keys switched on).
func (s *Store) DeleteContact(ctx context.Context, businessID string, mode store.Mode, id string) error {
	const op = "delete contact"
	return s.tx(ctx, true, func(tx *Store) error {
		db := tx.conn(ctx)
		var row contactRow
		if err := tx.forUpdate(db).Where("business_id = ? AND mode = ? AND id = ?", businessID, string(mode), id).Take(&row).Error; err != nil {
			return mapErr(op, err)
		}
		key := []any{businessID, string(mode), id}
		for _, q := range []string{
			"DELETE FROM identities WHERE business_id = ? AND mode = ? AND contact_id = ?",
			"DELETE FROM contact_organisations WHERE business_id = ? AND mode = ? AND contact_id = ?",
			"DELETE FROM refresh_tokens WHERE organisation_id = ? AND mode = ? AND subject_id = ? AND subject_kind = '" + store.KindContact + "'",
			"DELETE FROM contacts WHERE business_id = ? AND mode = ? AND id = ?",
		} {
			if err := db.Exec(q, key...).Error; err != nil {
				return mapErr(op, err)
			}
		}
		return nil
	})
}

// CreateIdentity stores i, with the subject of an EMAIL identity
// lower-cased. The contact must exist in the same business and mode (else
// store.ErrNotFound); a taken (business, mode, provider, subject) is
// store.ErrAlreadyExists.
func (s *Store) CreateIdentity(ctx context.Context, i store.Identity) error {
	row := identityToRow(i)
	return mapErr("create identity", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// GetIdentity returns the identity; an EMAIL subject is compared
// lower-cased, other subjects exactly.
func (s *Store) GetIdentity(ctx context.Context, businessID string, mode store.Mode, provider, subject string) (store.Identity, error) {
	var row identityRow
	if err := s.identityQuery(s.conn(ctx), businessID, mode, provider, subject).Take(&row).Error; err != nil {
		return store.Identity{}, mapErr("get identity", err)
	}
	return row.toStore(), nil
}

func (s *Store) identityQuery(db *gorm.DB, businessID string, mode store.Mode, provider, subject string) *gorm.DB {
	return db.Where("business_id = ? AND mode = ? AND provider = ? AND subject = ?",
		businessID, string(mode), provider, normSubject(provider, subject))
}

// ListIdentities returns the identities of a contact, ordered by creation,
// provider, then subject; none is not an error.
func (s *Store) ListIdentities(ctx context.Context, businessID string, mode store.Mode, contactID string) ([]store.Identity, error) {
	var rows []identityRow
	err := s.conn(ctx).Where("business_id = ? AND mode = ? AND contact_id = ?", businessID, string(mode), contactID).
		Order("created_at, provider, subject").Find(&rows).Error
	if err != nil {
		return nil, mapErr("list identities", err)
	}
	out := make([]store.Identity, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, nil
}

// UpdateIdentity loads the identity (locking its row on PostgreSQL),
// applies fn and saves the result in one transaction. fn's error is
// returned unchanged and nothing is written. The key (business, mode,
// provider, subject) cannot change; moving the identity to a contact that
// does not exist is store.ErrNotFound.
func (s *Store) UpdateIdentity(ctx context.Context, businessID string, mode store.Mode, provider, subject string, fn func(store.Identity) (store.Identity, error)) error {
	return s.tx(ctx, true, func(tx *Store) error {
		var row identityRow
		if err := tx.identityQuery(tx.forUpdate(tx.conn(ctx)), businessID, mode, provider, subject).Take(&row).Error; err != nil {
			return mapErr("update identity", err)
		}
		i, err := fn(row.toStore())
		if err != nil {
			return err
		}
		i.BusinessID, i.Mode, i.Provider, i.Subject = row.BusinessID, store.Mode(row.Mode), row.Provider, row.Subject
		next := identityToRow(i)
		return mapErr("update identity", tx.write(ctx, func(db *gorm.DB) error {
			return db.Model(&next).Select("*").Omit("business_id", "mode", "provider", "subject").Updates(&next).Error
		}))
	})
}

// AddContactOrganisation stores co. The contact (in co's business and
// mode) and the organisation must exist (else store.ErrNotFound); a second
// link of the same contact to the same organisation is
// store.ErrAlreadyExists.
func (s *Store) AddContactOrganisation(ctx context.Context, co store.ContactOrganisation) error {
	row := contactOrganisationToRow(co)
	return mapErr("add contact organisation", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// ListContactOrganisations returns the organisations a contact is linked
// to, ordered by creation then organisation id; none is not an error.
func (s *Store) ListContactOrganisations(ctx context.Context, businessID string, mode store.Mode, contactID string) ([]store.ContactOrganisation, error) {
	var rows []contactOrganisationRow
	err := s.conn(ctx).Where("business_id = ? AND mode = ? AND contact_id = ?", businessID, string(mode), contactID).
		Order("created_at, organisation_id").Find(&rows).Error
	if err != nil {
		return nil, mapErr("list contact organisations", err)
	}
	out := make([]store.ContactOrganisation, len(rows))
	for i, r := range rows {
		out[i] = r.toStore()
	}
	return out, nil
}
