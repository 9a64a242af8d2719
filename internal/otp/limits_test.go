package otp

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestCooldown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.ResendCooldown = 30 * time.Second
		if b.realTime {
			cfg.ResendCooldown = time.Second
		}
		e := newEnv(t, b, cfg)
		ctx := context.Background()
		e.issue(t, smsRequest(testPhone))
		_, err := e.svc.Issue(ctx, smsRequest(testPhone))
		var rl *RateLimitedError
		if !errors.As(err, &rl) || rl.Limit != LimitCooldown || rl.RetryAfter <= 0 || rl.RetryAfter > cfg.ResendCooldown {
			t.Fatalf("resend: %v, want a cooldown with RetryAfter in (0, %s]", err, cfg.ResendCooldown)
		}
		if !errors.Is(err, ErrRateLimited) {
			t.Error("RateLimitedError does not match ErrRateLimited")
		}
		// Unknown contact: same answer.
		undelivered := smsRequest(testPhone)
		undelivered.Deliver = false
		if _, err := e.svc.Issue(ctx, undelivered); !errors.As(err, &rl) || rl.Limit != LimitCooldown {
			t.Errorf("undelivered resend: %v, want the cooldown too", err)
		}
		// Another destination is not affected; the same one in another
		// business is (the cooldown protects the person).
		e.issue(t, smsRequest("+447566224396"))
		other := smsRequest(testPhone)
		other.BusinessID = "biz-2"
		if _, err := e.svc.Issue(ctx, other); !errors.As(err, &rl) {
			t.Errorf("same phone, other business: %v, want the cooldown", err)
		}
		e.wait(cfg.ResendCooldown + 100*time.Millisecond)
		e.issue(t, smsRequest(testPhone))
	})
}

func TestRateLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   func(*Config)
		vary  func(r *Request, i int) // makes request i differ from the others but in the limited dimension
		limit string
	}{
		{name: "per identifier", cfg: func(c *Config) { c.PerIdentifierPerHour = 3 },
			vary:  func(r *Request, i int) { r.IP = fmt.Sprintf("198.51.100.%d", i); r.APIKeyID = fmt.Sprint("key-", i) },
			limit: LimitIdentifier},
		{name: "per ip", cfg: func(c *Config) { c.PerIPPerHour = 3 },
			vary:  func(r *Request, i int) { r.To = fmt.Sprintf("+4475662243%02d", i); r.APIKeyID = fmt.Sprint("key-", i) },
			limit: LimitIP},
		{name: "per api key", cfg: func(c *Config) { c.PerAPIKeyPerMinute = 3 },
			vary: func(r *Request, i int) {
				r.To = fmt.Sprintf("+4475662243%02d", i)
				r.IP = fmt.Sprintf("198.51.100.%d", i)
			},
			limit: LimitAPIKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				cfg := testConfig()
				tc.cfg(&cfg)
				e := newEnv(t, b, cfg)
				ctx := context.Background()
				for i := range 4 {
					r := smsRequest(testPhone)
					tc.vary(&r, i)
					r.Deliver = i%2 == 0 // known and unknown contacts count alike
					_, err := e.svc.Issue(ctx, r)
					if i < 3 {
						if err != nil {
							t.Fatalf("request %d: %v", i+1, err)
						}
						continue
					}
					var rl *RateLimitedError
					if !errors.As(err, &rl) || rl.Limit != tc.limit || rl.RetryAfter <= 0 {
						t.Fatalf("request 4: %v, want %s limit", err, tc.limit)
					}
				}
				// A request differing in the limited dimension passes.
				r := smsRequest("+447700900123")
				r.IP, r.APIKeyID = "192.0.2.1", "key-other"
				if _, err := e.svc.Issue(ctx, r); err != nil {
					t.Errorf("unrelated request: %v", err)
				}
			})
		})
	}
}

func TestSMSBudget(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.SMSBudgetPerBusinessPerHour = 2
		e := newEnv(t, b, cfg)
		ctx := context.Background()
		phone := func(i int) string { return fmt.Sprintf("+4477009001%02d", i) }
		// Undelivered requests do not spend the budget.
		for i := range 3 {
			r := smsRequest(phone(i))
			r.Deliver = false
			if _, err := e.svc.Issue(ctx, r); err != nil {
				t.Fatalf("undelivered %d: %v", i, err)
			}
		}
		e.issue(t, smsRequest(phone(10)))
		e.issue(t, smsRequest(phone(11)))
		var rl *RateLimitedError
		_, err := e.svc.Issue(ctx, smsRequest(phone(12)))
		if !errors.As(err, &rl) || rl.Limit != LimitSMSBudget || rl.RetryAfter <= 0 || rl.RetryAfter > time.Hour {
			t.Fatalf("over budget: %v", err)
		}
		// Once spent, unknown contacts are refused alike.
		r := smsRequest(phone(13))
		r.Deliver = false
		if _, err := e.svc.Issue(ctx, r); !errors.As(err, &rl) || rl.Limit != LimitSMSBudget {
			t.Errorf("undelivered over budget: %v", err)
		}
		// Email, and other businesses, are not affected.
		e.issue(t, emailRequest(testEmail))
		other := smsRequest(phone(14))
		other.BusinessID = "biz-2"
		e.issue(t, other)
		// The next hour has a fresh budget.
		e.clock.Advance(time.Hour)
		e.issue(t, smsRequest(phone(15)))
		// A failed send keeps its unit (providers bill attempts).
		e.sender.Fail(errors.New("provider down"))
		if _, err := e.svc.Issue(ctx, smsRequest(phone(16))); !errors.Is(err, ErrDeliveryFailed) {
			t.Fatalf("failing send: %v", err)
		}
		e.sender.Fail(nil)
		if _, err := e.svc.Issue(ctx, smsRequest(phone(17))); !errors.As(err, &rl) || rl.Limit != LimitSMSBudget {
			t.Errorf("after a failed send used the last unit: %v, want the budget limit", err)
		}
	})
}

func TestRegionAllowList(t *testing.T) {
	for _, tc := range []struct {
		name      string
		countries []string
		r         Request
		wantErr   error
	}{
		{name: "allowed", countries: []string{"GB", "FR"}, r: smsRequest(testPhone)},
		{name: "lower-case region accepted", countries: []string{"GB"}, r: func() Request { r := smsRequest(testPhone); r.Region = "gb"; return r }()},
		{name: "region outside the list", countries: []string{"FR"}, r: smsRequest(testPhone), wantErr: ErrRegionNotAllowed},
		{name: "number outside the list, region lies", countries: []string{"GB"},
			r: func() Request { r := smsRequest("+79161234567"); r.Region = "GB"; return r }(), wantErr: ErrRegionNotAllowed},
		{name: "no region given: the number decides", countries: []string{"GB"},
			r: func() Request { r := smsRequest(testPhone); r.Region = ""; return r }()},
		{name: "no region given, foreign number", countries: []string{"GB"},
			r: func() Request { r := smsRequest("+33612345678"); r.Region = ""; return r }(), wantErr: ErrRegionNotAllowed},
		{name: "undelivered refused alike", countries: []string{"FR"},
			r: func() Request { r := smsRequest(testPhone); r.Deliver = false; return r }(), wantErr: ErrRegionNotAllowed},
		{name: "empty list allows any", r: smsRequest("+79161234567")},
		{name: "email is not concerned", countries: []string{"FR"}, r: emailRequest(testEmail)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.SMSCountries = tc.countries
			e := newEnv(t, backends()[0], cfg)
			_, err := e.svc.Issue(context.Background(), tc.r)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Issue: %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && e.sender.Calls() != 0 {
				t.Error("sent anyway")
			}
		})
	}
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Request)
	}{
		{"no business", func(r *Request) { r.BusinessID = "" }},
		{"bad mode", func(r *Request) { r.Mode = "staging" }},
		{"bad purpose", func(r *Request) { r.Purpose = "reset" }},
		{"bad channel", func(r *Request) { r.Channel = "push" }},
		{"sms to an email", func(r *Request) { r.To = testEmail }},
		{"sms national format", func(r *Request) { r.To = "07566224395" }},
		{"sms with spaces", func(r *Request) { r.To = "+44 7566 224395" }},
		{"email to a phone", func(r *Request) { r.Channel = ChannelEmail; r.To = testPhone }},
		{"email upper case", func(r *Request) { r.Channel = ChannelEmail; r.To = "Jimmy@Example.com" }},
		{"email with space", func(r *Request) { r.Channel = ChannelEmail; r.To = "jimmy @example.com" }},
		{"email two ats", func(r *Request) { r.Channel = ChannelEmail; r.To = "a@b@example.com" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, backends()[0], testConfig())
			r := smsRequest(testPhone)
			tc.mod(&r)
			if _, err := e.svc.Issue(context.Background(), r); !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("Issue: %v, want ErrInvalidRequest", err)
			}
			if e.sender.Calls() != 0 {
				t.Error("sent anyway")
			}
		})
	}
}
