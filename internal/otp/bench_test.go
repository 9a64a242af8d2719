package otp

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkIssue measures issuing a code with every limit on (rate
// limits, cooldown, SMS budget), delivery excluded (sender.Fake answers at
// once).
func BenchmarkIssue(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			cfg := testConfig()
			cfg.PerIdentifierPerHour, cfg.PerIPPerHour, cfg.PerAPIKeyPerMinute = 1<<30, 1<<30, 1<<30
			cfg.SMSBudgetPerBusinessPerHour = 1 << 30
			cfg.ResendCooldown = 30e9
			e := newEnv(b, be, cfg)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				r := smsRequest(fmt.Sprintf("+4477009%05d", i%100000))
				r.Data = nil
				if i >= 100000 {
					r.BusinessID = fmt.Sprint("biz-", i/100000) // fresh cooldowns
					r.To = fmt.Sprintf("+4478%09d", i)
				}
				if _, err := e.svc.Issue(ctx, r); err != nil {
					b.Fatal(err)
				}
				if i%1024 == 0 {
					e.sender.Reset() // keep memory flat
				}
			}
		})
	}
}

// BenchmarkVerify measures verifying (and consuming) a right code.
func BenchmarkVerify(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be, testConfig())
			ctx := context.Background()
			const pool = 4096
			type issued struct{ id, code string }
			fill := func() []issued {
				out := make([]issued, pool)
				for i := range out {
					r := smsRequest(fmt.Sprintf("+4477009%05d", i))
					r.Data = nil
					is, code := e.issue(b, r)
					out[i] = issued{is.ID, code}
				}
				e.sender.Reset()
				return out
			}
			codes := fill()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if i > 0 && i%pool == 0 {
					b.StopTimer()
					codes = fill()
					b.StartTimer()
				}
				c := codes[i%pool]
				if _, err := e.svc.Verify(ctx, c.id, c.code); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
