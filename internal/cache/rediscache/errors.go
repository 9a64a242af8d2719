package rediscache

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/authd/authd/internal/cache"
)

var (
	errNegTTL   = errors.New("rediscache: negative ttl")
	errBadLimit = errors.New("rediscache: invalid limit: Rate, Burst and Period must be > 0")
	errClosed   = fmt.Errorf("%w: rediscache: closed", cache.ErrUnavailable)
)

// mapErr turns a go-redis error into the cache contract: redis.Nil is
// cache.ErrMiss; a reply error about the data or the command (WRONGTYPE,
// "not an integer", ...) is returned as is, wrapped with op; anything else
// (network, timeout, closed client, a server that cannot serve right now)
// wraps cache.ErrUnavailable. Keys never appear in the message.
func mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return cache.ErrMiss
	case isDataError(err):
		return fmt.Errorf("rediscache: %s: %w", op, err)
	default:
		return fmt.Errorf("%w: rediscache: %s: %w", cache.ErrUnavailable, op, err)
	}
}

// isDataError reports whether err is a reply from a working server that
// rejected this particular command.
func isDataError(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	unavailable := redis.IsLoadingError(err) || redis.IsReadOnlyError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err) ||
		redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) ||
		redis.IsAuthError(err) || redis.IsPermissionError(err) ||
		redis.IsOOMError(err) || redis.IsNoReplicasError(err) ||
		redis.HasErrorPrefix(err, "BUSY")
	return !unavailable
}
