package integrations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/ident"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/store"
)

// TestMessage asks for a test message: Channel "sms" (To in E.164) or
// "email".
type TestMessage struct {
	Channel string
	To      string
}

// TestResult is a delivered test message.
type TestResult struct {
	ID      string
	Channel string
}

var testE164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// SendTest sends a test message through the business's configured sender
// in the caller's mode (read from the store, so a change is tested at
// once), at most Options.TestsPerHour an hour per business and mode. A
// provider's refusal is a *DeliveryError.
func (s *Service) SendTest(ctx context.Context, c Caller, m TestMessage) (TestResult, error) {
	k, a, err := s.authorize(ctx, c)
	if err != nil {
		return TestResult{}, err
	}
	to := m.To
	switch m.Channel {
	case sender.ChannelSMS:
		if !testE164.MatchString(to) {
			return TestResult{}, invalid("to", "to must be a phone number in E.164 form (+447700900123) for channel sms.")
		}
	case sender.ChannelEmail:
		e, err := ident.Email(to)
		if err != nil {
			return TestResult{}, invalid("to", "to must be an email address for channel email.")
		}
		to = e
	default:
		return TestResult{}, invalid("channel", "channel must be sms or email.")
	}
	row, err := s.o.Store.GetOTPIntegration(ctx, k.org, k.mode)
	if errors.Is(err, store.ErrNotFound) {
		return TestResult{}, ErrNotConfigured
	}
	if err != nil {
		return TestResult{}, err
	}
	d, err := s.build(row)
	if err != nil {
		return TestResult{}, fmt.Errorf("%w: %w", errBroken, err)
	}
	if d.Carries != nil && !d.Carries(otpChannel(m.Channel)) {
		return TestResult{}, invalid("channel", "The configured sender (%s) does not deliver %s.", row.Sender, m.Channel)
	}
	res, err := s.o.Cache.Allow(ctx, "integrations:test:"+k.org+":"+string(k.mode),
		cache.Limit{Rate: s.o.TestsPerHour, Burst: min(s.o.TestsPerHour, 5), Period: time.Hour})
	if err != nil {
		return TestResult{}, err
	}
	if !res.Allowed {
		return TestResult{}, &RateLimitedError{RetryAfter: res.RetryAfter}
	}
	msg := sender.Message{
		OTPID: "test_" + randomHex(12), Channel: m.Channel, To: to, Code: testCode(),
		ExpiresAt: s.o.Now().Add(5 * time.Minute), Purpose: "test",
		Subject: "Test message",
	}
	msg.Body = "This is a test of your one-time code delivery. Test code: " + msg.Code
	sctx, cancel := context.WithTimeout(ctx, s.o.SendTimeout)
	defer cancel()
	details := map[string]string{"mode": string(k.mode), "sender": row.Sender, "channel": m.Channel, "version": fmt.Sprint(row.Version)}
	if err := d.Sender.Send(sctx, msg); err != nil {
		reason := sender.Redact(err, msg).Error()
		details["error"] = truncate(reason, 300)
		s.record(ctx, a, k, ActionOTPTested, false, details)
		s.o.Logger.WarnContext(ctx, "integrations: test message not delivered", "organisation_id", k.org,
			"mode", string(k.mode), "channel", m.Channel, "to", sender.Mask(to), "error", reason)
		return TestResult{}, &DeliveryError{Reason: reason}
	}
	s.record(ctx, a, k, ActionOTPTested, true, details)
	return TestResult{ID: msg.OTPID, Channel: m.Channel}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func testCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1000000))
	return fmt.Sprintf("%06d", n.Int64())
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
