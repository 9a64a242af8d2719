package identity

import (
	"context"
	"log/slog"
	"time"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/password"
	"github.com/authd/authd/internal/store"
)

// Config tunes the identity rules.
type Config struct {
	// PasswordMinLength is the shortest password accepted for new
	// credentials (default 10).
	PasswordMinLength int
	// Per-account and per-IP limits on password checks.
	AccountAttemptsPerHour int // default 20
	IPAttemptsPerMinute    int // default 30
	// QueryTimeout bounds the reads of a user's rights on a cache miss
	// (default 1s); StaleIfError is how long the last good rights are used
	// while the store fails (default 5m, negative: never).
	QueryTimeout time.Duration
	StaleIfError time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service applies the identity rules over the store.
type Service struct {
	st     store.Store
	cache  cache.Cache
	hasher *password.Hasher
	audit  *audit.Recorder
	cfg    Config
	logger *slog.Logger
	now    func() time.Time
	// onDisable ends a disabled user's sessions (OnUserDisabled).
	onDisable func(ctx context.Context, userID string) error
	// onErase ends an erased contact's tokens (OnContactErased).
	onErase func(ctx context.Context, businessID string, mode store.Mode, id string) error
	authz   *authzCache
}

// New returns a Service.
func New(st store.Store, c cache.Cache, hasher *password.Hasher, rec *audit.Recorder, cfg Config, logger *slog.Logger) *Service {
	if cfg.PasswordMinLength == 0 {
		cfg.PasswordMinLength = 10
	}
	if cfg.AccountAttemptsPerHour == 0 {
		cfg.AccountAttemptsPerHour = 20
	}
	if cfg.IPAttemptsPerMinute == 0 {
		cfg.IPAttemptsPerMinute = 30
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{st: st, cache: c, hasher: hasher, audit: rec, cfg: cfg, logger: logger, now: clock.Or(cfg.Now), authz: newAuthzCache(cfg.QueryTimeout, cfg.StaleIfError, clock.Or(cfg.Now))}
}

// RoleIn returns the strongest grant userID has in orgID (ErrForbidden when
// none).
func (s *Service) RoleIn(ctx context.Context, userID, orgID string) (Grant, error) {
	ua, err := s.userAuthz(ctx, userID)
	if err != nil {
		return Grant{}, err
	}
	return roleIn(ctx, ua.memberships, orgID, s.organisation)
}
