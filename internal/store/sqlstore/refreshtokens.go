package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

// CreateRefreshToken stores t; a taken hash is store.ErrAlreadyExists.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	row := refreshTokenToRow(t)
	return mapErr("create refresh token", s.write(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }))
}

// GetRefreshToken returns the token whose hash is hash.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (store.RefreshToken, error) {
	var row refreshTokenRow
	if err := s.conn(ctx).Where("hash = ?", hash).Take(&row).Error; err != nil {
		return store.RefreshToken{}, mapErr("get refresh token", err)
	}
	t, err := row.toStore()
	return t, mapErr("get refresh token", err)
}

// RotateRefreshToken marks the parent used and records child.Hash as its
// child, then creates child, in one transaction. The parent is claimed by
// a single conditional UPDATE (… WHERE used_at IS NULL AND revoked_at IS
// NULL): on PostgreSQL a concurrent rotation waits for the row lock and
// then finds the condition false; SQLite's single writer serialises them.
// Exactly one of several concurrent rotations therefore succeeds; the
// others get store.ErrConflict, as does rotating a used or revoked parent.
// A missing parent is store.ErrNotFound; a taken child hash is
// store.ErrAlreadyExists, and the parent is then left unused.
//
// child.ParentHash is set to parentHash; the caller supplies every other
// field (FamilyID, FamilyExpiresAt, … of the parent's family). A zero
// usedAt means now.
func (s *Store) RotateRefreshToken(ctx context.Context, parentHash string, usedAt time.Time, child store.RefreshToken) error {
	const op = "rotate refresh token"
	child.ParentHash = parentHash
	row := refreshTokenToRow(child)
	used := orNow(usedAt)
	if s.dialect == dialectPostgres && !s.inTx {
		return s.rotatePostgres(ctx, parentHash, used, row)
	}
	if s.dialect == dialectSQLite && !s.inTx {
		return s.rotateSQLite(ctx, parentHash, used, row)
	}
	return s.tx(ctx, true, func(tx *Store) error {
		db := tx.conn(ctx)
		res := db.Exec(`UPDATE refresh_tokens SET used_at = ?, child_hash = ?
			WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL`, used, row.Hash, parentHash)
		if res.Error != nil {
			return mapErr(op, res.Error)
		}
		if res.RowsAffected == 0 {
			var exists bool
			if err := db.Raw("SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE hash = ?)", parentHash).Scan(&exists).Error; err != nil {
				return mapErr(op, err)
			}
			if exists {
				return fmt.Errorf("%s: parent already used or revoked: %w", op, store.ErrConflict)
			}
			return mapErr(op, gorm.ErrRecordNotFound)
		}
		return mapErr(op, db.Create(&row).Error)
	})
}

// RevokeRefreshFamily sets revoked_at of every token of the family that
// is not revoked yet; an unknown family is not an error.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	_, err := s.revokeRefresh(ctx, "revoke refresh family", "family_id = ?", orNow(at), familyID)
	return err
}

// RevokeRefreshTokensOf sets revoked_at of every token of the subject
// (every family: the tokens of a family share their subject) that is not
// revoked yet; a subject without tokens is not an error.
func (s *Store) RevokeRefreshTokensOf(ctx context.Context, subjectKind, subjectID string, at time.Time) error {
	_, err := s.revokeRefresh(ctx, "revoke refresh tokens of subject", "subject_kind = ? AND subject_id = ?", orNow(at), subjectKind, subjectID)
	return err
}

// RevokeRefreshFamilies sets revoked_at of every token of the subject's
// live families but sel.Except, and returns those families' ids (in no
// particular order).
func (s *Store) RevokeRefreshFamilies(ctx context.Context, sel store.SubjectSessions, at time.Time) ([]string, error) {
	where, args := "subject_kind = ? AND subject_id = ?", []any{sel.Kind, sel.ID}
	if sel.Org != "" {
		where, args = where+" AND organisation_id = ? AND mode = ?", append(args, sel.Org, string(sel.Mode))
	}
	if sel.Except != "" {
		where, args = where+" AND family_id <> ?", append(args, sel.Except)
	}
	if sel.Family != "" {
		where, args = where+" AND family_id = ?", append(args, sel.Family)
	}
	return s.revokeRefresh(ctx, "revoke refresh families", where, orNow(at), args...)
}

// ListRefreshSessions returns the subject's live families, each described
// by its current token (the one neither rotated nor revoked), newest
// sign-in first. The subject index narrows the read to the subject's
// tokens.
func (s *Store) ListRefreshSessions(ctx context.Context, sel store.SubjectSessions, now time.Time) ([]store.RefreshSession, error) {
	q := s.conn(ctx).Where("subject_kind = ? AND subject_id = ? AND used_at IS NULL AND revoked_at IS NULL AND family_expires_at > ?",
		sel.Kind, sel.ID, ts(now))
	if sel.Org != "" {
		q = q.Where("organisation_id = ? AND mode = ?", sel.Org, string(sel.Mode))
	}
	var rows []refreshTokenRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, mapErr("list refresh sessions", err)
	}
	out := make([]store.RefreshSession, 0, len(rows))
	for _, r := range rows {
		created := r.CreatedAt.UTC()
		if r.FamilyCreatedAt != nil {
			created = r.FamilyCreatedAt.UTC()
		}
		out = append(out, store.RefreshSession{FamilyID: r.FamilyID, ClientID: r.ClientID, OrganisationID: r.OrganisationID,
			Mode: store.Mode(r.Mode), CreatedAt: created, LastUsedAt: r.CreatedAt.UTC(), ExpiresAt: r.FamilyExpiresAt.UTC(),
			IP: r.IP, UserAgent: r.UserAgent})
	}
	slices.SortFunc(out, func(a, b store.RefreshSession) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.FamilyID, b.FamilyID)
	})
	return out, nil
}

// RevokeRefreshTokensOfClient sets revoked_at of every token issued to the
// client that is not revoked yet; a client without tokens is not an
// error. Deleting a client is rare: the statement reads the table without
// an index on client_id, which every refresh would otherwise pay for.
func (s *Store) RevokeRefreshTokensOfClient(ctx context.Context, clientID string, at time.Time) error {
	_, err := s.revokeRefresh(ctx, "revoke refresh tokens of client", "client_id = ?", orNow(at), clientID)
	return err
}

// revokeRefresh revokes the live tokens matching where, and every token of
// their families, and returns the families' ids.
//
// On PostgreSQL a rotation running meanwhile inserts a child that one
// UPDATE's snapshot cannot see, and that child could rotate on. So the
// UPDATE repeats, in one transaction, until it finds nothing left: every
// token it revoked stays row-locked until commit, so a rotation of one of
// them waits and then finds it revoked; a rotation already holding its
// parent's lock is waited for by the UPDATE, whose next round revokes its
// child. When a round finds nothing, no token of those families can be
// rotated any more. SQLite's single writer serialises the two already.
func (s *Store) revokeRefresh(ctx context.Context, op, where string, at time.Time, args ...any) ([]string, error) {
	var families []string
	err := s.tx(ctx, true, func(tx *Store) error {
		db := tx.conn(ctx)
		if err := db.Model(&refreshTokenRow{}).Distinct("family_id").Where(where+" AND revoked_at IS NULL", args...).
			Pluck("family_id", &families).Error; err != nil {
			return err
		}
		for start := 0; start < len(families); start += 500 {
			batch := families[start:min(start+500, len(families))]
			for range maxRevokeRounds {
				res := db.Exec("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id IN ? AND revoked_at IS NULL", at, batch)
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected == 0 || s.dialect != dialectPostgres {
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	return families, nil
}

// maxRevokeRounds bounds revokeRefresh's rounds; each round stops every
// rotation it finds running, so two or three suffice.
const maxRevokeRounds = 20

// DeleteExpiredRefreshTokens deletes the tokens whose family expired
// strictly before before, and returns how many it deleted.
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(db *gorm.DB) error {
		res := db.Where("family_expires_at < ?", ts(before)).Delete(&refreshTokenRow{})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, mapErr("delete expired refresh tokens", err)
	}
	return n, nil
}

// rotatePostgres claims the parent and inserts the child in one statement
// (a data-modifying CTE): one round trip instead of four, atomic like the
// transaction it replaces. The UPDATE takes the parent's row lock, so a
// concurrent rotation waits and then finds the parent used.
func (s *Store) rotatePostgres(ctx context.Context, parentHash string, used time.Time, row refreshTokenRow) error {
	const op = "rotate refresh token"
	res := s.conn(ctx).Exec(`WITH claimed AS (
		UPDATE refresh_tokens SET used_at = ?, child_hash = ?
		WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL
		RETURNING hash)
	INSERT INTO refresh_tokens (hash, family_id, parent_hash, child_hash, subject_kind, subject_id, client_id,
		organisation_id, home_org, mode, scopes, audience, created_at, family_expires_at, used_at, revoked_at,
		family_created_at, ip, user_agent)
	SELECT ?, ?, claimed.hash, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM claimed`,
		used, row.Hash, parentHash,
		row.Hash, row.FamilyID, row.ChildHash, row.SubjectKind, row.SubjectID, row.ClientID,
		row.OrganisationID, row.HomeOrg, row.Mode, row.Scopes, row.Audience, row.CreatedAt, row.FamilyExpiresAt, row.UsedAt, row.RevokedAt,
		row.FamilyCreatedAt, row.IP, row.UserAgent)
	if res.Error != nil {
		return mapErr(op, res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	return s.rotateRefused(ctx, op, parentHash)
}

// rotateSQLite inserts the child marked claim_parent: the trigger of
// migration 0003 claims the parent in the same statement, or aborts it.
func (s *Store) rotateSQLite(ctx context.Context, parentHash string, used time.Time, row refreshTokenRow) error {
	const op = "rotate refresh token"
	err := s.conn(ctx).Exec(`INSERT INTO refresh_tokens (hash, family_id, parent_hash, child_hash, subject_kind, subject_id,
		client_id, organisation_id, home_org, mode, scopes, audience, created_at, family_expires_at, used_at, revoked_at,
		family_created_at, ip, user_agent, claim_parent, parent_used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
		row.Hash, row.FamilyID, parentHash, row.ChildHash, row.SubjectKind, row.SubjectID,
		row.ClientID, row.OrganisationID, row.HomeOrg, row.Mode, row.Scopes, row.Audience, row.CreatedAt, row.FamilyExpiresAt,
		row.UsedAt, row.RevokedAt, row.FamilyCreatedAt, row.IP, row.UserAgent, used).Error
	if err == nil {
		return nil
	}
	if !strings.Contains(err.Error(), "authd_refresh_parent_not_claimable") {
		return mapErr(op, err)
	}
	return s.rotateRefused(ctx, op, parentHash)
}

// rotateRefused tells why a parent could not be claimed: ErrConflict when
// it exists (used or revoked), ErrNotFound when it does not.
func (s *Store) rotateRefused(ctx context.Context, op, parentHash string) error {
	var exists bool
	if err := s.conn(ctx).Raw("SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE hash = ?)", parentHash).Scan(&exists).Error; err != nil {
		return mapErr(op, err)
	}
	if exists {
		return fmt.Errorf("%s: parent already used or revoked: %w", op, store.ErrConflict)
	}
	return mapErr(op, gorm.ErrRecordNotFound)
}
