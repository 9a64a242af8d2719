// Package sqlstore implements store.Store on SQL databases through gorm:
// SQLite (the pure-Go modernc.org/sqlite driver through libtnb/sqlite, no cgo) for development and
// single-replica installs, PostgreSQL (pgx) for production.
//
// It owns everything database-specific: opening a DSN (Open), the gorm row
// types (unexported, converted to store values at the boundary), the
// versioned schema migrations (Migrate, run under a PostgreSQL advisory lock
// so replicas starting together do not race) and the translation of driver
// errors into store.ErrNotFound, store.ErrAlreadyExists and
// store.ErrUnavailable (store.ErrConflict is the answer of conditional
// writes such as RotateRefreshToken). No other package imports gorm.
//
// Conventions shared by every method:
//
//   - Timestamps are stored and returned in UTC with microsecond precision
//     (PostgreSQL's resolution); a zero CreatedAt is set to the current time.
//   - User emails are lower-cased on write and on look-up, and are unique.
//     Contact emails and the subjects of EMAIL identities are lower-cased
//     on write and on look-up too.
//   - Contacts, identities and contact organisations are keyed by
//     (business, mode, …): the same contact id may exist in another
//     business or mode, and no look-up crosses from one to another.
//   - Empty optional references (Organisation.ParentID, Client.OrganisationID)
//     are stored as NULL. References are foreign keys: creating a row that
//     points at a missing organisation or user fails with store.ErrNotFound.
//   - Inside Tx every operation that may fail half-way runs under a
//     savepoint, so an error (store.ErrAlreadyExists, say) leaves the
//     transaction usable on PostgreSQL exactly as on SQLite, and a nested
//     Tx whose fn fails rolls back only its own changes.
//   - SQL values are never logged: the gorm logger records failed and slow
//     statements without their arguments, at debug and warn level.
package sqlstore
