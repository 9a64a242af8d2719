package otp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
)

func TestIssueAndVerify(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, r := range []Request{smsRequest(testPhone), emailRequest(testEmail)} {
			t.Run(string(r.Channel), func(t *testing.T) {
				e := newEnv(t, b, testConfig())
				ctx := context.Background()
				is, code := e.issue(t, r)
				if !validID(is.ID) {
					t.Errorf("id %q", is.ID)
				}
				if want := e.clock.Now().Add(5 * time.Minute); !is.ExpiresAt.Equal(want) {
					t.Errorf("expires %s, want %s", is.ExpiresAt, want)
				}
				m, _ := e.sender.Last()
				if m.Channel != string(r.Channel) || m.To != r.To || m.Purpose != string(r.Purpose) ||
					!m.ExpiresAt.Equal(is.ExpiresAt) || len(code) != 6 || !strings.Contains(m.Body, code) {
					t.Errorf("message %+v", m)
				}
				if (r.Channel == ChannelEmail) != (m.Subject != "") {
					t.Errorf("subject %q for %s", m.Subject, r.Channel)
				}
				v, err := e.svc.Verify(ctx, is.ID, code)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				want := Verified{BusinessID: r.BusinessID, Mode: r.Mode, Channel: r.Channel, To: r.To, Purpose: r.Purpose, Data: r.Data}
				if fmt.Sprint(v) != fmt.Sprint(want) {
					t.Errorf("Verified %+v, want %+v", v, want)
				}
				if _, err := e.svc.Verify(ctx, is.ID, code); !errors.Is(err, ErrExpired) {
					t.Errorf("second Verify: %v, want ErrExpired (single use)", err)
				}
			})
		}
	})
}

func TestVerifyUnknown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, testConfig())
		for _, id := range []string{"", "nope", newID(), strings.Repeat("A", 24), "../../../../etc/passwd..."} {
			if _, err := e.svc.Verify(context.Background(), id, "123456"); !errors.Is(err, ErrExpired) {
				t.Errorf("Verify(%q) = %v, want ErrExpired", id, err)
			}
		}
	})
}

// TestStorageHoldsOnlyHMAC inspects everything written to the cache: no
// code, destination, IP or Data in the clear, in keys or values; the
// record holds HMAC-SHA256(DeriveKey(secret, "otp"), id||code).
func TestStorageHoldsOnlyHMAC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.ResendCooldown, cfg.PerIdentifierPerHour, cfg.PerIPPerHour, cfg.PerAPIKeyPerMinute = time.Minute, 100, 100, 100
		cfg.SMSBudgetPerBusinessPerHour = 100
		e := newEnv(t, b, cfg)
		r := smsRequest(testPhone)
		is, code := e.issue(t, r)
		if _, err := e.svc.Verify(context.Background(), is.ID, "000000"); !errors.Is(err, ErrInvalidCode) && code != "000000" {
			t.Fatal(err)
		}
		keys, values := e.spy.written()
		secrets := []string{code, r.To, strings.TrimPrefix(r.To, "+"), r.IP, r.Data["contact_id"]}
		for _, k := range keys {
			for _, s := range secrets {
				if strings.Contains(k, s) {
					t.Errorf("cache key %q contains %q", k, s)
				}
			}
		}
		for _, v := range values {
			for _, s := range secrets {
				if bytes.Contains(v, []byte(s)) {
					t.Errorf("cache value contains %q in the clear", s)
				}
			}
		}
		raw, err := e.cache.Get(context.Background(), recordKey(is.ID))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := e.svc.open(is.ID, raw)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := secretbox.DeriveKey(testSecret, "otp", 32)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(is.ID + code))
		if !hmac.Equal(rec.Hash, mac.Sum(nil)) {
			t.Error("stored hash is not HMAC-SHA256(DeriveKey(secret, \"otp\"), id||code)")
		}
		if ttl, err := e.cache.TTL(context.Background(), recordKey(is.ID)); err != nil || ttl <= 0 || ttl > cfg.TTL {
			t.Errorf("record TTL %s (%v), want in (0, %s]", ttl, err, cfg.TTL)
		}
		// A record moved to another id does not open (sealed with its id).
		if _, err := e.svc.open(newID(), raw); err == nil {
			t.Error("record opened under another id")
		}
	})
}

func TestExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, testConfig())
		is, code := e.issue(t, smsRequest(testPhone))
		e.clock.Advance(5*time.Minute + time.Millisecond)
		if _, err := e.svc.Verify(context.Background(), is.ID, code); !errors.Is(err, ErrExpired) {
			t.Fatalf("after TTL: %v, want ErrExpired", err)
		}
		if _, err := e.cache.Get(context.Background(), recordKey(is.ID)); !errors.Is(err, cache.ErrMiss) {
			t.Errorf("expired record still cached: %v", err)
		}
		// Just before expiry it still works.
		is, code = e.issue(t, smsRequest("+447566224396"))
		e.clock.Advance(5*time.Minute - time.Second)
		if _, err := e.svc.Verify(context.Background(), is.ID, code); err != nil {
			t.Errorf("before TTL: %v", err)
		}
	})
}

func TestSingleUseConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.MaxAttempts = 20
		e := newEnv(t, b, cfg)
		for _, racers := range []int{2, 2, 2, 2, 2, 8, 16} {
			is, code := e.issue(t, smsRequest(testPhone))
			var wg sync.WaitGroup
			errs := make(chan error, racers)
			start := make(chan struct{})
			for range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := e.svc.Verify(context.Background(), is.ID, code)
					errs <- err
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			wins := 0
			for err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, ErrExpired):
					t.Errorf("loser got %v, want ErrExpired", err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d concurrent right answers: %d succeeded, want exactly 1", racers, wins)
			}
		}
	})
}

func TestAttemptLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.MaxAttempts = 3
		e := newEnv(t, b, cfg)
		ctx := context.Background()
		wrong := func(code string) string {
			if code == "000000" {
				return "000001"
			}
			return "000000"
		}
		t.Run("under the limit the right code works", func(t *testing.T) {
			is, code := e.issue(t, smsRequest(testPhone))
			for range 2 {
				if _, err := e.svc.Verify(ctx, is.ID, wrong(code)); !errors.Is(err, ErrInvalidCode) {
					t.Fatalf("wrong code: %v", err)
				}
			}
			if _, err := e.svc.Verify(ctx, is.ID, code); err != nil {
				t.Fatalf("right code on attempt 3: %v", err)
			}
		})
		t.Run("at the limit the code is dead", func(t *testing.T) {
			is, code := e.issue(t, smsRequest(testPhone))
			for i := range 3 {
				if _, err := e.svc.Verify(ctx, is.ID, wrong(code)); !errors.Is(err, ErrInvalidCode) {
					t.Fatalf("wrong code %d: %v, want ErrInvalidCode", i+1, err)
				}
			}
			if _, err := e.svc.Verify(ctx, is.ID, code); !errors.Is(err, ErrExpired) {
				t.Fatalf("right code after the limit: %v, want ErrExpired", err)
			}
			if _, err := e.cache.Get(ctx, recordKey(is.ID)); !errors.Is(err, cache.ErrMiss) {
				t.Errorf("dead record still stored: %v", err)
			}
		})
		t.Run("malformed codes count", func(t *testing.T) {
			is, code := e.issue(t, smsRequest(testPhone))
			for _, c := range []string{"", "12", "abcdef"} {
				if _, err := e.svc.Verify(ctx, is.ID, c); !errors.Is(err, ErrInvalidCode) {
					t.Fatalf("Verify(%q): %v", c, err)
				}
			}
			if _, err := e.svc.Verify(ctx, is.ID, code); !errors.Is(err, ErrExpired) {
				t.Fatalf("right code after 3 malformed: %v", err)
			}
		})
		t.Run("parallel guesses cannot exceed the limit", func(t *testing.T) {
			is, code := e.issue(t, smsRequest(testPhone))
			var wg sync.WaitGroup
			var mu sync.Mutex
			invalid, right := 0, 0
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					guess := fmt.Sprintf("%06d", i)
					if i == 39 {
						guess = code // the right one among them
					}
					_, err := e.svc.Verify(ctx, is.ID, guess)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						right++
					case errors.Is(err, ErrInvalidCode):
						invalid++
					}
				}()
			}
			wg.Wait()
			if invalid+right > cfg.MaxAttempts {
				t.Errorf("%d comparisons were made, limit %d", invalid+right, cfg.MaxAttempts)
			}
		})
	})
}

func TestNoEnumeration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, testConfig())
		e.svc.genCode = func(int) string { return "123456" }
		ctx := context.Background()
		known, err := e.svc.Issue(ctx, smsRequest(testPhone))
		if err != nil {
			t.Fatal(err)
		}
		r := smsRequest("+447566224396")
		r.Deliver = false
		unknown, err := e.svc.Issue(ctx, r)
		if err != nil {
			t.Fatalf("undelivered Issue: %v", err)
		}
		if e.sender.Calls() != 1 {
			t.Errorf("sender called %d times, want 1 (only the known contact)", e.sender.Calls())
		}
		if len(unknown.ID) != len(known.ID) || !validID(unknown.ID) || !unknown.ExpiresAt.Equal(known.ExpiresAt) {
			t.Errorf("answers differ: %+v vs %+v", unknown, known)
		}
		// The stored records look alike (same sealed length for the same
		// destination length).
		rk, _ := e.cache.Get(ctx, recordKey(known.ID))
		ru, _ := e.cache.Get(ctx, recordKey(unknown.ID))
		if len(rk) != len(ru) {
			t.Errorf("sealed records differ in length: %d vs %d", len(rk), len(ru))
		}
		// Even the code generated for it never verifies; it fails like a
		// wrong code, counts attempts and dies.
		for i := range 5 {
			if _, err := e.svc.Verify(ctx, unknown.ID, "123456"); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("attempt %d on a decoy: %v, want ErrInvalidCode", i+1, err)
			}
		}
		if _, err := e.svc.Verify(ctx, unknown.ID, "123456"); !errors.Is(err, ErrExpired) {
			t.Errorf("decoy after the limit: %v, want ErrExpired", err)
		}
		if _, err := e.svc.Verify(ctx, known.ID, "123456"); err != nil {
			t.Errorf("known contact's code: %v", err)
		}
	})
}

// TestNoEnumerationTiming: an undelivered request takes about as long as
// recent deliveries on its channel, with jitter, never more than
// SendTimeout.
func TestNoEnumerationTiming(t *testing.T) {
	cfg := testConfig()
	e := newEnv(t, backends()[0], cfg)
	e.svc.pacer = newPacer(defaultSendLatency, cfg.SendTimeout)
	const latency = 60 * time.Millisecond
	e.sender.SetDelay(latency)
	ctx := context.Background()
	for i := range 20 {
		r := smsRequest(fmt.Sprintf("+4477009002%02d", i))
		if _, err := e.svc.Issue(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if est := e.svc.pacer.estimate(ChannelSMS); est < latency || est > latency+20*time.Millisecond {
		t.Errorf("sms estimate %s, deliveries took %s", est, latency)
	}
	if est := e.svc.pacer.estimate(ChannelEmail); est != defaultSendLatency {
		t.Errorf("email estimate %s moved without email deliveries", est)
	}
	for i := range 5 {
		r := smsRequest(fmt.Sprintf("+4477009003%02d", i))
		r.Deliver = false
		start := time.Now()
		if _, err := e.svc.Issue(ctx, r); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < latency*7/10 || d > latency*2+50*time.Millisecond {
			t.Errorf("undelivered request took %s, deliveries take %s", d, latency)
		}
	}
	p := newPacer(time.Second, 50*time.Millisecond)
	for range 100 {
		if d := p.delay(ChannelSMS); d > 50*time.Millisecond {
			t.Fatalf("delay %s above the cap", d)
		}
	}
}

// TestNoEnumerationTimingCold: before the estimate has learnt a channel's
// latency (a fresh replica), a fast delivery waits as long as an
// undelivered request would, so neither stands out.
func TestNoEnumerationTimingCold(t *testing.T) {
	cfg := testConfig()
	e := newEnv(t, backends()[0], cfg)
	e.svc.pacer = newPacer(defaultSendLatency, cfg.SendTimeout)
	ctx := context.Background()
	for i, deliver := range []bool{false, true} { // the estimate moves after a delivery
		r := smsRequest(fmt.Sprintf("+4477009004%02d", i))
		r.Deliver = deliver
		start := time.Now()
		if _, err := e.svc.Issue(ctx, r); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < defaultSendLatency*7/10 {
			t.Errorf("deliver=%v took %s; a cold estimate is %s (±25 %%)", deliver, d, defaultSendLatency)
		}
	}
	if e.sender.Calls() != 1 {
		t.Fatalf("sender called %d times, want 1", e.sender.Calls())
	}
}

func TestDeliveryFailure(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.ResendCooldown = time.Minute
		e := newEnv(t, b, cfg)
		e.svc.genCode = func(int) string { return "123456" }
		ctx := context.Background()
		cause := errors.New("provider rejected +447566224395 (code 123456)")
		e.sender.Fail(cause)
		_, err := e.svc.Issue(ctx, smsRequest(testPhone))
		if !errors.Is(err, ErrDeliveryFailed) || !errors.Is(err, cause) {
			t.Fatalf("Issue: %v, want ErrDeliveryFailed wrapping the cause", err)
		}
		if s := err.Error(); strings.Contains(s, testPhone) || strings.Contains(s, "123456") {
			t.Errorf("error leaks the destination or code: %q", s)
		}
		// The code is not usable: its record is gone. The id never reached
		// the caller, so look for any record the spy saw written.
		keys, _ := e.spy.written()
		for _, k := range keys {
			if id, ok := strings.CutPrefix(k, "otp:c:"); ok {
				if _, err := e.svc.Verify(ctx, id, "123456"); !errors.Is(err, ErrExpired) {
					t.Errorf("code of a failed delivery: %v, want ErrExpired", err)
				}
			}
		}
		// Nothing was delivered, so no cooldown: the retry goes through.
		e.sender.Fail(nil)
		is, code := e.issue(t, smsRequest(testPhone))
		if _, err := e.svc.Verify(ctx, is.ID, code); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSendTimeoutBounded(t *testing.T) {
	cfg := testConfig()
	cfg.SendTimeout = 150 * time.Millisecond
	e := newEnv(t, backends()[0], cfg)
	e.sender.SetDelay(10 * time.Second)
	start := time.Now()
	_, err := e.svc.Issue(context.Background(), smsRequest(testPhone))
	if !errors.Is(err, ErrDeliveryFailed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Issue: %v", err)
	}
	if d := time.Since(start); d > cfg.SendTimeout+200*time.Millisecond {
		t.Errorf("Issue took %s, SendTimeout %s", d, cfg.SendTimeout)
	}
}

// TestLogsNeverHoldSecrets runs every path and checks the service's log:
// no code, no full destination, no Data; masked destinations instead.
func TestLogsNeverHoldSecrets(t *testing.T) {
	cfg := testConfig()
	cfg.ResendCooldown, cfg.MaxAttempts = time.Minute, 2
	e := newEnv(t, backends()[0], cfg)
	e.svc.genCode = func(int) string { return "987654" }
	ctx := context.Background()
	r := smsRequest(testPhone)
	is, _ := e.issue(t, r)
	_, _ = e.svc.Verify(ctx, is.ID, "000000")
	_, _ = e.svc.Verify(ctx, is.ID, "987654")
	_, _ = e.svc.Issue(ctx, r) // cooldown
	er := emailRequest(testEmail)
	er.Data = map[string]string{"password_hash": "argon2id-secret-hash"}
	e.sender.Fail(errors.New("smtp said no to jimmy@example.com about 987654"))
	_, _ = e.svc.Issue(ctx, er)
	e.sender.Fail(nil)
	is, _ = e.issue(t, er)
	_, _ = e.svc.Verify(ctx, is.ID, "987654")

	out := e.logs.String()
	for _, secret := range []string{"987654", testPhone, "7566224395", testEmail, "contact-secret-42", "argon2id-secret-hash"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
	for _, masked := range []string{"+44******4395", "j***@example.com", "otp issued", "otp rate limited", "otp delivery failed", "otp verified", "otp wrong code"} {
		if !strings.Contains(out, masked) {
			t.Errorf("log lacks %q", masked)
		}
	}
}

// TestLogSenderOnlyDevField: with the development sender the code appears
// in the log once, in dev_otp_code, and nowhere else.
func TestLogSenderOnlyDevField(t *testing.T) {
	logs := &syncBuffer{}
	logger := slogJSON(logs)
	c := backends()[0].open(t, newClock())
	svc, err := New(c, sender.NewLog(logger), testSecret, testConfig(), logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.genCode = func(int) string { return "555123" }
	if _, err := svc.Issue(context.Background(), smsRequest(testPhone)); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, line := range logs.lines(t) {
		for k, v := range line {
			s := fmt.Sprint(v)
			if strings.Contains(s, testPhone) {
				t.Errorf("field %s holds the full destination", k)
			}
			if strings.Contains(s, "555123") {
				if k != "dev_otp_code" || line["msg"] != sender.DevLogMessage || line["level"] != "INFO" {
					t.Errorf("code in field %s of %v", k, line)
				}
				found++
			}
		}
	}
	if found != 1 {
		t.Errorf("code found %d times, want once in dev_otp_code", found)
	}
}

func TestNewChecks(t *testing.T) {
	c := backends()[0].open(t, newClock())
	f := &sender.Fake{}
	for _, tc := range []struct {
		name   string
		c      cache.Cache
		s      sender.Sender
		secret string
		cfg    Config
	}{
		{"no cache", nil, f, testSecret, testConfig()},
		{"no sender", c, nil, testSecret, testConfig()},
		{"short secret", c, f, "short", testConfig()},
		{"code too short", c, f, testSecret, Config{CodeLength: 3}},
		{"code too long", c, f, testSecret, Config{CodeLength: 11}},
		{"negative cooldown", c, f, testSecret, Config{ResendCooldown: -time.Second}},
		{"negative limit", c, f, testSecret, Config{PerIPPerHour: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.c, tc.s, tc.secret, tc.cfg, nil, nil); err == nil {
				t.Error("New accepted it")
			}
		})
	}
	svc, err := New(c, f, testSecret, Config{}, nil, nil)
	if err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	if svc.cfg.CodeLength != 6 || svc.cfg.TTL != 5*time.Minute || svc.cfg.MaxAttempts != 5 || svc.cfg.SendTimeout != 5*time.Second {
		t.Errorf("defaults %+v", svc.cfg)
	}
}

func TestConfigFrom(t *testing.T) {
	d := config.Default().OTP
	d.SMSCountries = []string{"GB"}
	d.Templates = map[string]string{"sms.signin": "{{.Code}}"}
	c := ConfigFrom(d)
	if c.CodeLength != d.CodeLength || c.TTL != d.TTL || c.ResendCooldown != d.ResendCooldown || c.SendTimeout != d.SendTimeout ||
		c.MaxAttempts != d.MaxAttempts || c.PerIdentifierPerHour != d.PerIdentifierPerHour || c.PerIPPerHour != d.PerIPPerHour ||
		c.PerAPIKeyPerMinute != d.PerAPIKeyPerMinute || c.SMSBudgetPerBusinessPerHour != d.SMSBudgetPerBusinessPerHour ||
		len(c.SMSCountries) != 1 || c.Templates["sms.signin"] != "{{.Code}}" {
		t.Errorf("ConfigFrom = %+v", c)
	}
	if _, err := New(backends()[0].open(t, newClock()), &sender.Fake{}, testSecret, ConfigFrom(config.Default().OTP), nil, nil); err != nil {
		t.Errorf("New with the default configuration: %v", err)
	}
}

func TestModesKeptApart(t *testing.T) {
	e := newEnv(t, backends()[0], testConfig())
	r := smsRequest(testPhone)
	r.Mode = store.ModeTest
	is, code := e.issue(t, r)
	v, err := e.svc.Verify(context.Background(), is.ID, code)
	if err != nil || v.Mode != store.ModeTest || v.BusinessID != "biz-1" {
		t.Fatalf("Verified %+v, %v", v, err)
	}
}
