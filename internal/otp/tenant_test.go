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

// TestVerifyForOtherPurpose: a caller completing other flows gets
// ErrExpired and burns no attempt; a caller of the code's purpose still
// succeeds.
func TestVerifyForOtherPurpose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, testConfig())
		ctx := context.Background()
		req := smsRequest("+447566224395")
		req.Purpose = PurposePasswordReset
		is, code := e.issue(t, req)
		for i := 0; i < e.svc.cfg.MaxAttempts+2; i++ {
			if _, err := e.svc.Verify(ctx, is.ID, code, PurposeSignIn, PurposeRegister); !errors.Is(err, ErrExpired) {
				t.Fatalf("another flow: %v", err)
			}
			if _, err := e.svc.VerifyFor(ctx, is.ID, "000000", "biz-1", store.ModeLive, PurposeUserPasswordReset); !errors.Is(err, ErrExpired) {
				t.Fatalf("another flow of the tenant: %v", err)
			}
		}
		v, err := e.svc.VerifyFor(ctx, is.ID, code, "biz-1", store.ModeLive, PurposeSignIn, PurposePasswordReset)
		if err != nil || v.Purpose != PurposePasswordReset {
			t.Fatalf("the code's own flow after other flows' attempts: %+v %v", v, err)
		}
	})
}
