package otp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/store"
)

// Verify checks code against the OTP id and, when right, consumes it and
// returns what it was issued for. A code issued for a purpose not among
// purposes (when any are given: the flows the caller completes) is
// ErrExpired, and the attempt is neither counted nor the code spent, so a
// flow that cannot use a code cannot burn it. Checking the business and
// mode is the caller's job (or VerifyFor's).
//
//   - unknown, expired, already used or dead id: ErrExpired;
//   - wrong code: ErrInvalidCode, and the attempt is counted. The attempt
//     that reaches Config.MaxAttempts also returns ErrInvalidCode and kills
//     the code: every later call, with the right code too, gets ErrExpired.
//
// Every attempt is counted before the comparison, so parallel guesses
// cannot exceed MaxAttempts; the comparison is constant-time; a right code
// is taken with an atomic GetDel, so of two concurrent right answers
// exactly one succeeds (the other gets ErrExpired).
func (s *Service) Verify(ctx context.Context, id, code string, purposes ...Purpose) (Verified, error) {
	return s.verify(ctx, id, code, "", "", purposes)
}

// VerifyFor is Verify for a caller bound to one business and mode (a
// self-service API key): a code issued for another tenant is ErrExpired,
// and the attempt is not counted, so a foreign key cannot burn it.
func (s *Service) VerifyFor(ctx context.Context, id, code, businessID string, mode store.Mode, purposes ...Purpose) (Verified, error) {
	return s.verify(ctx, id, code, businessID, mode, purposes)
}

func (s *Service) verify(ctx context.Context, id, code, businessID string, mode store.Mode, purposes []Purpose) (Verified, error) {
	if !validID(id) {
		return Verified{}, ErrExpired
	}
	key := recordKey(id)
	sealed, err := s.cache.Get(ctx, key)
	if errors.Is(err, cache.ErrMiss) {
		return Verified{}, ErrExpired
	}
	if err != nil {
		return Verified{}, fmt.Errorf("otp: reading code: %w", err)
	}
	rec, err := s.open(id, sealed)
	if err != nil {
		return Verified{}, err
	}
	if businessID != "" && (rec.BusinessID != businessID || rec.Mode != mode) {
		return Verified{}, ErrExpired
	}
	if len(purposes) > 0 && !slices.Contains(purposes, rec.Purpose) {
		return Verified{}, ErrExpired
	}
	now := s.now()
	left := rec.expiresAt().Sub(now)
	if left <= 0 {
		_ = s.cache.Del(ctx, key)
		return Verified{}, ErrExpired
	}
	n, err := s.cache.Incr(ctx, attemptsKey(id), left+time.Second)
	if err != nil {
		return Verified{}, fmt.Errorf("otp: counting attempt: %w", err)
	}
	if n > int64(s.cfg.MaxAttempts) {
		_ = s.cache.Del(ctx, key)
		return Verified{}, ErrExpired
	}
	right := hmac.Equal(s.codeHash(id, code), rec.Hash)
	if !right || rec.Decoy != 0 {
		if n >= int64(s.cfg.MaxAttempts) {
			if err := s.cache.Del(ctx, key); err != nil {
				return Verified{}, fmt.Errorf("otp: retiring code: %w", err)
			}
		}
		s.logger.LogAttrs(ctx, slog.LevelInfo, "otp wrong code",
			slog.String("otp_id", id), slog.Int64("attempt", n), slog.Int("max_attempts", s.cfg.MaxAttempts))
		return Verified{}, ErrInvalidCode
	}
	taken, err := s.cache.GetDel(ctx, key)
	if errors.Is(err, cache.ErrMiss) || (err == nil && !bytes.Equal(taken, sealed)) {
		return Verified{}, ErrExpired // a concurrent right answer won
	}
	if err != nil {
		return Verified{}, fmt.Errorf("otp: consuming code: %w", err)
	}
	// The attempt counter is left to expire with the record's lifetime:
	// resetting it here would give a caller that read the record before it
	// was consumed a fresh count, and so more comparisons than MaxAttempts.
	s.logger.LogAttrs(ctx, slog.LevelInfo, "otp verified",
		slog.String("otp_id", id), slog.String("business_id", rec.BusinessID), slog.String("purpose", string(rec.Purpose)))
	return Verified{
		BusinessID: rec.BusinessID, Mode: rec.Mode, Channel: rec.Channel, To: rec.To,
		Purpose: rec.Purpose, Data: rec.Data,
	}, nil
}
