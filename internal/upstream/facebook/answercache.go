package facebook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/authd/authd/internal/cache"
)

// cachedAnswer is what the answer cache holds for one access token: a
// verified profile, or the reason it was refused. Never the token.
type cachedAnswer struct {
	V     int    `json:"v"`
	Until int64  `json:"until"` // Unix milliseconds; checked against the injected clock
	OK    bool   `json:"ok"`
	Why   string `json:"why,omitempty"`
	ID    string `json:"id,omitempty"`
	First string `json:"first_name,omitempty"`
	Last  string `json:"last_name,omitempty"`
	Email string `json:"email,omitempty"`
	Pic   string `json:"picture,omitempty"`
}

const cachedAnswerVersion = 1

// cached returns the remembered answer for key; ok is false when there
// is none. A cache
// that cannot answer is logged and treated as a miss.
func (c *Client) cached(ctx context.Context, key string) (Profile, bool, error) {
	if c.cache == nil {
		return Profile{}, false, nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheOpTimeout)
	defer cancel()
	raw, err := c.cache.Get(cctx, key)
	if err != nil {
		if !errors.Is(err, cache.ErrMiss) {
			c.logger.LogAttrs(ctx, slog.LevelWarn, "facebook answer cache unavailable; asking Facebook", slog.String("error", err.Error()))
		}
		return Profile{}, false, nil
	}
	var a cachedAnswer
	if json.Unmarshal(raw, &a) != nil || a.V != cachedAnswerVersion || c.now().UnixMilli() >= a.Until {
		return Profile{}, false, nil
	}
	if !a.OK {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "facebook access token refused (cached)", slog.String("token_id", key[len(key)-12:]))
		return Profile{}, true, invalid(a.Why + " (remembered)")
	}
	return Profile{ID: a.ID, FirstName: a.First, LastName: a.Last, Email: a.Email, PictureURL: a.Pic}, true, nil
}

// remember stores the outcome of a Graph round trip: a profile for
// min(CacheTTL, time left on the token), a refusal for InvalidTTL, an
// outage not at all. Less than a second left is not worth keeping.
func (c *Client) remember(ctx context.Context, key string, p Profile, expiry time.Time, err error) {
	if c.cache == nil {
		return
	}
	now := c.now()
	var ttl time.Duration
	a := cachedAnswer{V: cachedAnswerVersion}
	switch {
	case err == nil:
		ttl = c.cfg.CacheTTL
		if !expiry.IsZero() {
			ttl = min(ttl, expiry.Sub(now))
		}
		a.OK, a.ID, a.First, a.Last, a.Email, a.Pic = true, p.ID, p.FirstName, p.LastName, p.Email, p.PictureURL
	case errors.Is(err, ErrInvalidToken):
		ttl = c.cfg.InvalidTTL
		a.Why = strings.TrimPrefix(err.Error(), ErrInvalidToken.Error()+": ")
	default:
		return
	}
	if ttl < time.Second { // also keeps a sub-millisecond TTL from meaning "no expiry" to a backend
		return
	}
	a.Until = now.Add(ttl).UnixMilli()
	raw, _ := json.Marshal(a)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheOpTimeout)
	defer cancel()
	if err := c.cache.Set(cctx, key, raw, ttl); err != nil {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "facebook answer cache unavailable; answer not kept", slog.String("error", err.Error()))
	}
}
