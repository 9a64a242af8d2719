package otp

import (
	"context"
	"errors"
	"testing"

	"github.com/authd/authd/internal/store"
)

// TestVerifyForOtherTenant: a caller bound to another business or mode gets
// ErrExpired and burns no attempt; the rightful caller still succeeds.
func TestVerifyForOtherTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, testConfig())
		ctx := context.Background()
		is, code := e.issue(t, smsRequest("+447566224395"))
		for i := 0; i < e.svc.cfg.MaxAttempts+2; i++ {
			for _, other := range []struct {
				biz  string
				mode store.Mode
			}{{"biz-2", store.ModeLive}, {"biz-1", store.ModeTest}} {
				if _, err := e.svc.VerifyFor(ctx, is.ID, "000000", other.biz, other.mode); !errors.Is(err, ErrExpired) {
					t.Fatalf("foreign tenant: %v", err)
				}
			}
		}
		v, err := e.svc.VerifyFor(ctx, is.ID, code, "biz-1", store.ModeLive)
		if err != nil || v.BusinessID != "biz-1" {
			t.Fatalf("rightful tenant after foreign attempts: %+v %v", v, err)
		}
	})
}
