package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var integrationTests = []subtest{
	{"CreateGetRoundTrip", testIntegrationRoundTrip},
	{"GetMissing", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "biz")
		_, err := s.GetOTPIntegration(ctx(t), "biz", store.ModeLive)
		wantOnly(t, err, store.ErrNotFound, "GetOTPIntegration(none)")
	}},
	{"UnknownOrganisation", func(t *testing.T, s store.Store) {
		_, err := s.PutOTPIntegration(ctx(t), "nope", store.ModeLive, func(store.OTPIntegration, bool) (store.OTPIntegration, error) {
			return store.OTPIntegration{Sender: "webhook", Settings: []byte(`{}`)}, nil
		})
		wantOnly(t, err, store.ErrNotFound, "PutOTPIntegration(unknown organisation)")
	}},
	{"ModesAndOrganisationsAreSeparate", testIntegrationIsolation},
	{"ReplaceKeepsCreatedAt", testIntegrationReplace},
	{"FnErrorWritesNothing", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "biz")
		first := putIntegration(t, s, "biz", store.ModeLive, "webhook", `{"a":1}`)
		_, err := s.PutOTPIntegration(ctx(t), "biz", store.ModeLive, func(old store.OTPIntegration, found bool) (store.OTPIntegration, error) {
			old.Sender = "smtp"
			return old, errBoom
		})
		if err != errBoom { //nolint:errorlint // the very same error must come back
			t.Errorf("PutOTPIntegration returned %v, want fn's error unchanged", err)
		}
		got, err := s.GetOTPIntegration(ctx(t), "biz", store.ModeLive)
		must(t, err, "GetOTPIntegration")
		checkEqual(t, "integration after a failed fn", got, first)
		_, err = s.PutOTPIntegration(ctx(t), "biz", store.ModeTest, func(store.OTPIntegration, bool) (store.OTPIntegration, error) {
			return store.OTPIntegration{Sender: "smtp"}, errBoom
		})
		if err != errBoom { //nolint:errorlint // the very same error must come back
			t.Errorf("PutOTPIntegration(new) returned %v, want fn's error unchanged", err)
		}
		_, err = s.GetOTPIntegration(ctx(t), "biz", store.ModeTest)
		wantOnly(t, err, store.ErrNotFound, "GetOTPIntegration after a failed first put")
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "biz")
		putIntegration(t, s, "biz", store.ModeLive, "webhook", `{}`)
		putIntegration(t, s, "biz", store.ModeTest, "webhook", `{}`)
		must(t, s.DeleteOTPIntegration(ctx(t), "biz", store.ModeLive), "DeleteOTPIntegration")
		_, err := s.GetOTPIntegration(ctx(t), "biz", store.ModeLive)
		wantOnly(t, err, store.ErrNotFound, "GetOTPIntegration after delete")
		wantOnly(t, s.DeleteOTPIntegration(ctx(t), "biz", store.ModeLive), store.ErrNotFound, "DeleteOTPIntegration again")
		if _, err := s.GetOTPIntegration(ctx(t), "biz", store.ModeTest); err != nil {
			t.Errorf("deleting live removed test too: %v", err)
		}
		// A new one after a delete starts again at version 1.
		if got := putIntegration(t, s, "biz", store.ModeLive, "smtp", `{}`); got.Version != 1 {
			t.Errorf("version after delete and put = %d, want 1", got.Version)
		}
	}},
	{"InTx", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "biz")
		err := s.Tx(ctx(t), func(tx store.Store) error {
			putIntegration(t, tx, "biz", store.ModeLive, "webhook", `{}`)
			return errBoom
		})
		wantErr(t, err, errBoom, "Tx")
		_, err = s.GetOTPIntegration(ctx(t), "biz", store.ModeLive)
		wantOnly(t, err, store.ErrNotFound, "GetOTPIntegration after a rolled-back Tx")
	}},
	{"ConcurrentPutsLoseNothing", testConcurrentIntegrationPuts},
}

func putIntegration(t *testing.T, s store.Store, org string, mode store.Mode, sender, settings string) store.OTPIntegration {
	t.Helper()
	got, err := s.PutOTPIntegration(ctx(t), org, mode, func(old store.OTPIntegration, _ bool) (store.OTPIntegration, error) {
		return store.OTPIntegration{Sender: sender, Settings: []byte(settings), Sealed: []byte{0, 1, 2, 0xff},
			UpdatedBy: "user:u1", UpdatedAt: at(0)}, nil
	})
	must(t, err, "PutOTPIntegration")
	return got
}

func testIntegrationRoundTrip(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	var sawFound bool
	got, err := s.PutOTPIntegration(ctx(t), "biz", store.ModeLive, func(old store.OTPIntegration, found bool) (store.OTPIntegration, error) {
		sawFound = found
		return store.OTPIntegration{
			OrganisationID: "ignored", Mode: store.ModeTest, Version: 42, // the store's to set
			Sender: "webhook", Settings: []byte(`{"webhook_url":"https://gw.example/otp"}`),
			Sealed: bytes.Repeat([]byte{0xab, 0x00}, 40), UpdatedBy: "user:u1",
			CreatedAt: at(99 * time.Hour), UpdatedAt: at(time.Hour),
		}, nil
	})
	must(t, err, "PutOTPIntegration")
	if sawFound {
		t.Error("fn was told an integration exists before any was stored")
	}
	want := store.OTPIntegration{
		OrganisationID: "biz", Mode: store.ModeLive, Version: 1,
		Sender: "webhook", Settings: []byte(`{"webhook_url":"https://gw.example/otp"}`),
		Sealed: bytes.Repeat([]byte{0xab, 0x00}, 40), UpdatedBy: "user:u1", UpdatedAt: at(time.Hour),
	}
	want.CreatedAt = got.CreatedAt // the store's clock
	if got.CreatedAt.IsZero() {
		t.Error("CreatedAt not set")
	}
	checkEqual(t, "PutOTPIntegration result", got, want)
	checkUTC(t, "PutOTPIntegration result", got)
	read, err := s.GetOTPIntegration(ctx(t), "biz", store.ModeLive)
	must(t, err, "GetOTPIntegration")
	checkEqual(t, "GetOTPIntegration", read, want)
	checkUTC(t, "GetOTPIntegration", read)
}

func testIntegrationIsolation(t *testing.T, s store.Store) {
	seedOrg(t, s, "a")
	seedOrg(t, s, "b")
	putIntegration(t, s, "a", store.ModeLive, "webhook", `{"n":"a-live"}`)
	putIntegration(t, s, "a", store.ModeTest, "smtp", `{"n":"a-test"}`)
	putIntegration(t, s, "b", store.ModeLive, "twilio", `{"n":"b-live"}`)
	for _, tc := range []struct {
		org      string
		mode     store.Mode
		sender   string
		settings string
	}{{"a", store.ModeLive, "webhook", `{"n":"a-live"}`}, {"a", store.ModeTest, "smtp", `{"n":"a-test"}`}, {"b", store.ModeLive, "twilio", `{"n":"b-live"}`}} {
		got, err := s.GetOTPIntegration(ctx(t), tc.org, tc.mode)
		must(t, err, "GetOTPIntegration")
		if got.Sender != tc.sender || string(got.Settings) != tc.settings || got.OrganisationID != tc.org || got.Mode != tc.mode {
			t.Errorf("GetOTPIntegration(%s, %s) = %+v", tc.org, tc.mode, got)
		}
	}
	_, err := s.GetOTPIntegration(ctx(t), "b", store.ModeTest)
	wantOnly(t, err, store.ErrNotFound, "GetOTPIntegration(b, test)")
}

func testIntegrationReplace(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	first := putIntegration(t, s, "biz", store.ModeLive, "webhook", `{"v":1}`)
	var seen store.OTPIntegration
	got, err := s.PutOTPIntegration(ctx(t), "biz", store.ModeLive, func(old store.OTPIntegration, found bool) (store.OTPIntegration, error) {
		if !found {
			t.Error("fn was told nothing is stored")
		}
		seen = old
		old.Sender, old.Settings, old.Sealed, old.UpdatedBy, old.UpdatedAt = "smtp", []byte(`{"v":2}`), nil, "api_key:k1", at(2*time.Hour)
		old.CreatedAt = at(77 * time.Hour) // the store keeps the first
		return old, nil
	})
	must(t, err, "PutOTPIntegration(replace)")
	checkEqual(t, "fn's old integration", seen, first)
	want := store.OTPIntegration{OrganisationID: "biz", Mode: store.ModeLive, Sender: "smtp", Settings: []byte(`{"v":2}`),
		Version: 2, UpdatedBy: "api_key:k1", CreatedAt: first.CreatedAt, UpdatedAt: at(2 * time.Hour)}
	checkEqual(t, "replaced integration", got, want)
	read, err := s.GetOTPIntegration(ctx(t), "biz", store.ModeLive)
	must(t, err, "GetOTPIntegration")
	checkEqual(t, "GetOTPIntegration after replace", read, want)
}

// testConcurrentIntegrationPuts: puts are read-modify-write in one
// transaction, the first ones too: no update is lost.
func testConcurrentIntegrationPuts(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	const workers, rounds = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for range workers {
		wg.Go(func() {
			for range rounds {
				_, err := s.PutOTPIntegration(ctx(t), "biz", store.ModeLive, func(old store.OTPIntegration, _ bool) (store.OTPIntegration, error) {
					var n int
					if len(old.Settings) > 0 {
						if _, err := fmt.Sscan(string(old.Settings), &n); err != nil {
							return old, err
						}
					}
					old.Sender, old.Settings = "webhook", []byte(fmt.Sprint(n+1))
					return old, nil
				})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent put")
	}
	got, err := s.GetOTPIntegration(ctx(t), "biz", store.ModeLive)
	must(t, err, "GetOTPIntegration")
	if want := fmt.Sprint(workers * rounds); string(got.Settings) != want || got.Version != workers*rounds {
		t.Errorf("after %d puts: settings %s, version %d: updates were lost", workers*rounds, got.Settings, got.Version)
	}
}
