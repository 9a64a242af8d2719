package otp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/ident"
	"github.com/authd/authd/internal/otp/sender"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// cleanupTimeout bounds the best-effort cache clean-up after a failure,
// which runs even when the request's context is done.
const cleanupTimeout = 2 * time.Second

// Issue creates a code for r.To and, when r.Deliver, sends it.
//
// In order: validation (ErrInvalidRequest, ErrRegionNotAllowed); the rate
// limits per destination (hour), client IP (hour) and API key (minute); the
// resend cooldown per destination; the business's hourly SMS budget — each
// a *RateLimitedError. All of them apply whether or not r.Deliver. Then
// the record is stored and, when r.Deliver, the code is sent with a context
// bounded by Config.SendTimeout; on failure the record is deleted and the
// error wraps ErrDeliveryFailed. When !r.Deliver nothing is sent: Issue
// waits about as long as recent deliveries on the channel took.
//
// The destination limits and cooldown are keyed by destination alone
// (across businesses and modes): they protect the person receiving the
// messages.
func (s *Service) Issue(ctx context.Context, r Request) (Issued, error) {
	if err := s.validate(r); err != nil {
		return Issued{}, err
	}
	rt, err := s.route(ctx, r)
	if err != nil {
		return Issued{}, err
	}
	if _, ok := rt.sender.(sender.Unconfigured); ok {
		// Before anything depends on the destination: every request fails
		// alike, so a missing sender tells nothing about who is known.
		return Issued{}, fmt.Errorf("%w: %w", ErrDeliveryFailed, sender.ErrUnconfigured)
	}
	dest := s.ident(string(r.Channel), r.To)
	if err := s.checkRateLimits(ctx, r, dest); err != nil {
		return Issued{}, s.limited(ctx, r, err)
	}
	cooldownKey := "otp:cd:" + dest
	if err := s.startCooldown(ctx, cooldownKey); err != nil {
		return Issued{}, s.limited(ctx, r, err)
	}
	// From here on a failure lifts the cooldown: nothing was delivered.
	fail := func(err error, keys ...string) (Issued, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if s.cfg.ResendCooldown > 0 {
			keys = append(keys, cooldownKey)
		}
		if len(keys) > 0 {
			if derr := s.cache.Del(cctx, keys...); derr != nil {
				s.logger.LogAttrs(ctx, slog.LevelWarn, "otp clean-up failed", slog.Any("error", derr))
			}
		}
		return Issued{}, err
	}
	if err := s.checkSMSBudget(ctx, r); err != nil {
		return fail(s.limited(ctx, r, err))
	}

	id := newID()
	code := s.genCode(s.cfg.CodeLength)
	subject, body, err := s.render(rt, r, code)
	if err != nil {
		return fail(err)
	}
	now := s.now()
	expires := now.Add(s.cfg.TTL).UTC().Truncate(time.Millisecond)
	rec := record{
		BusinessID: r.BusinessID, Mode: r.Mode, Channel: r.Channel, To: r.To, Purpose: r.Purpose,
		Data: maps.Clone(r.Data), ExpiresAt: expires.UnixMilli(), Hash: s.codeHash(id, code),
	}
	if !r.Deliver {
		rec.Decoy = 1
	}
	sealed, err := s.seal(id, rec)
	if err != nil {
		return fail(err)
	}
	if err := s.cache.Set(ctx, recordKey(id), sealed, expires.Sub(now)); err != nil {
		return fail(fmt.Errorf("otp: storing code: %w", err))
	}

	sctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	defer cancel()
	// Both answers take at least floor, drawn the same way whether or not
	// anything is sent (recent deliveries' average ±25 %): a delivery
	// faster than that waits out the rest, so a cold estimate or a fast
	// channel does not tell a known destination from an unknown one. The
	// delay is capped at SendTimeout already; waiting on ctx (not sctx)
	// keeps the wait from ever "timing out" on its own.
	floor := rt.pacer.delay(rt.pace)
	start := time.Now()
	var sendErr error
	if r.Deliver {
		sendErr = rt.sender.Send(sctx, sender.Message{
			OTPID: id, Channel: string(r.Channel), To: r.To, Code: code, ExpiresAt: expires,
			Purpose: string(r.Purpose), Subject: subject, Body: body,
		})
		if sendErr == nil {
			rt.pacer.observe(rt.pace, time.Since(start))
		}
	}
	switch {
	case !r.Deliver:
		sendErr = sleep(ctx, floor)
	case sendErr == nil:
		// Delivered: a cancelled wait changes nothing about the code.
		_ = sleep(ctx, floor-time.Since(start))
	}
	if sendErr != nil {
		cause := sender.Redact(sendErr, sender.Message{To: r.To, Code: code})
		s.logger.LogAttrs(ctx, slog.LevelWarn, "otp delivery failed", s.attrs(r, id, slog.Any("error", cause))...)
		return fail(fmt.Errorf("%w: %w", ErrDeliveryFailed, cause), recordKey(id))
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "otp issued", s.attrs(r, id, slog.Bool("sent", r.Deliver))...)
	return Issued{ID: id, ExpiresAt: expires}, nil
}

// attrs are the loggable facts of a request: never the code, the full
// destination or Data.
func (s *Service) attrs(r Request, id string, extra ...slog.Attr) []slog.Attr {
	a := []slog.Attr{
		slog.String("otp_id", id),
		slog.String("business_id", r.BusinessID),
		slog.String("mode", string(r.Mode)),
		slog.String("channel", string(r.Channel)),
		slog.String("to", sender.Mask(r.To)),
		slog.String("purpose", string(r.Purpose)),
	}
	return append(a, extra...)
}

// limited logs a rate-limit refusal and returns err unchanged.
func (s *Service) limited(ctx context.Context, r Request, err error) error {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		s.logger.LogAttrs(ctx, slog.LevelInfo, "otp rate limited", s.attrs(r, "",
			slog.String("limit", rl.Limit), slog.Duration("retry_after", rl.RetryAfter),
			slog.String("ip", r.IP), slog.String("api_key_id", r.APIKeyID))...)
	}
	return err
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

// validate checks the request's shape and the SMS region allow-list.
func (s *Service) validate(r Request) error {
	switch {
	case r.BusinessID == "":
		return invalid("business id is required")
	case !r.Mode.Valid():
		return invalid("mode %q must be live or test", r.Mode)
	case !r.Purpose.valid():
		return invalid("purpose %q is unknown", r.Purpose)
	}
	switch r.Channel {
	case ChannelSMS:
		if !e164.MatchString(r.To) {
			return invalid("sms destination must be an E.164 number")
		}
		if s.regions != nil && !s.regionAllowed(r) {
			return ErrRegionNotAllowed
		}
	case ChannelEmail:
		if !validEmail(r.To) {
			return invalid("email destination must be a lower-case address")
		}
	default:
		return invalid("channel %q must be sms or email", r.Channel)
	}
	return nil
}

// regionAllowed requires both the caller's Region (when given) and the
// region the number itself belongs to to be on the allow-list.
func (s *Service) regionAllowed(r Request) bool {
	if r.Region != "" && !s.regions[strings.ToUpper(r.Region)] {
		return false
	}
	n, err := phonenumbers.Parse(r.To, "")
	if err != nil {
		return false
	}
	return s.regions[phonenumbers.GetRegionCodeForNumber(n)]
}

// validEmail checks that the caller validated the address: v is an
// address in its normal form (ident.Email), as identity stores it.
func validEmail(v string) bool {
	e, err := ident.Email(v)
	return err == nil && e == v
}

// checkRateLimits counts the request against each configured limit.
func (s *Service) checkRateLimits(ctx context.Context, r Request, dest string) error {
	type lim struct {
		name, key string
		limit     cache.Limit
		on        bool
	}
	for _, l := range []lim{
		{LimitIdentifier, "otp:rl:to:" + dest, cache.PerHour(s.cfg.PerIdentifierPerHour), s.cfg.PerIdentifierPerHour > 0},
		{LimitIP, "otp:rl:ip:" + s.ident("ip", r.IP), cache.PerHour(s.cfg.PerIPPerHour), s.cfg.PerIPPerHour > 0 && r.IP != ""},
		{LimitAPIKey, "otp:rl:key:" + r.APIKeyID, cache.PerMinute(s.cfg.PerAPIKeyPerMinute), s.cfg.PerAPIKeyPerMinute > 0 && r.APIKeyID != ""},
	} {
		if !l.on {
			continue
		}
		res, err := s.cache.Allow(ctx, l.key, l.limit)
		if err != nil {
			return fmt.Errorf("otp: rate limit %s: %w", l.name, err)
		}
		if !res.Allowed {
			return &RateLimitedError{RetryAfter: res.RetryAfter, Limit: l.name}
		}
	}
	return nil
}

// startCooldown claims the destination's resend cooldown.
func (s *Service) startCooldown(ctx context.Context, key string) error {
	if s.cfg.ResendCooldown <= 0 {
		return nil
	}
	ok, err := s.cache.SetNX(ctx, key, []byte{'1'}, s.cfg.ResendCooldown)
	if err != nil {
		return fmt.Errorf("otp: resend cooldown: %w", err)
	}
	if ok {
		return nil
	}
	left, err := s.cache.TTL(ctx, key)
	if err != nil || left <= 0 {
		// Expired in between (or no expiry, which we never set): ask for
		// a short wait rather than racing.
		left = time.Second
	}
	return &RateLimitedError{RetryAfter: left, Limit: LimitCooldown}
}

// checkSMSBudget enforces the business's hourly SMS budget in fixed
// windows of the injected clock. A delivered SMS reserves one unit before
// it is sent (so concurrent requests cannot overshoot; a failed send keeps
// its unit, as providers bill attempts); an undelivered request only reads
// the count, so it is refused exactly when a delivered one would be.
func (s *Service) checkSMSBudget(ctx context.Context, r Request) error {
	budget := s.cfg.SMSBudgetPerBusinessPerHour
	if r.Channel != ChannelSMS || budget <= 0 {
		return nil
	}
	now := s.now()
	window := now.Unix() / 3600
	left := time.Unix((window+1)*3600, 0).Sub(now)
	key := "otp:sms:" + r.BusinessID + ":" + strconv.FormatInt(window, 10)
	var n int64
	if r.Deliver {
		var err error
		if n, err = s.cache.Incr(ctx, key, left+time.Minute); err != nil {
			return fmt.Errorf("otp: sms budget: %w", err)
		}
		n-- // the count before this one
	} else {
		v, err := s.cache.Get(ctx, key)
		switch {
		case errors.Is(err, cache.ErrMiss):
		case err != nil:
			return fmt.Errorf("otp: sms budget: %w", err)
		default:
			if n, err = strconv.ParseInt(string(v), 10, 64); err != nil {
				return fmt.Errorf("otp: sms budget: %w", err)
			}
		}
	}
	if n >= int64(budget) {
		return &RateLimitedError{RetryAfter: left, Limit: LimitSMSBudget}
	}
	return nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
