package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var apiKeyTests = []subtest{
	{"CreateGetRoundTrip", testAPIKeyRoundTrip},
	{"GetMissing", func(t *testing.T, s store.Store) {
		_, err := s.GetAPIKey(ctx(t), "nope")
		wantErr(t, err, store.ErrNotFound, "GetAPIKey(missing)")
		_, err = s.GetAPIKeyByHash(ctx(t), "nope")
		wantErr(t, err, store.ErrNotFound, "GetAPIKeyByHash(missing)")
	}},
	{"Duplicates", testAPIKeyDuplicates},
	{"ListFilterOrderPages", testListAPIKeys},
	{"Update", testUpdateAPIKey},
	{"UpdateFnErrorWritesNothing", func(t *testing.T, s store.Store) {
		seedOrg(t, s, "biz")
		want := mkKey("k1", "biz", store.ModeLive, base)
		must(t, s.CreateAPIKey(ctx(t), want), "CreateAPIKey")
		err := s.UpdateAPIKey(ctx(t), "k1", func(k store.APIKey) (store.APIKey, error) {
			k.RevokedAt = ptr(at(time.Hour))
			return k, errBoom
		})
		if err != errBoom { //nolint:errorlint // the very same error must come back
			t.Errorf("UpdateAPIKey returned %v, want fn's error unchanged", err)
		}
		got, err := s.GetAPIKey(ctx(t), "k1")
		must(t, err, "GetAPIKey")
		checkEqual(t, "key after failed fn", got, want)
	}},
	{"UpdateMissing", func(t *testing.T, s store.Store) {
		called := false
		err := s.UpdateAPIKey(ctx(t), "nope", func(k store.APIKey) (store.APIKey, error) { called = true; return k, nil })
		wantErr(t, err, store.ErrNotFound, "UpdateAPIKey(missing)")
		if called {
			t.Errorf("UpdateAPIKey(missing) called fn")
		}
	}},
}

func testAPIKeyRoundTrip(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	keys := []store.APIKey{
		{
			ID: "pk1", OrganisationID: "biz", Mode: store.ModeLive, Type: store.APIKeyPublic, Name: "web widget",
			Prefix: "pk_live_", Last4: "9xQz", Hash: "hash-pk1", Sealed: []byte{0x00, 0x01, 0xfe, 0xff, 'k'},
			Scopes: []string{"contacts:register", "otp:request"}, RateLimit: 25, RateLimitPerMinute: 900, RolledFrom: "pk0", CreatedBy: "u1",
			CreatedAt: at(0), ExpiresAt: ptr(at(30 * 24 * time.Hour)), RevokedAt: ptr(at(48 * time.Hour)), LastUsedAt: ptr(at(time.Hour)),
		},
		{
			ID: "sk1", OrganisationID: "biz", Mode: store.ModeTest, Type: store.APIKeySecret, Name: "server",
			Prefix: "sk_test_", Last4: "abcd", Hash: "hash-sk1", CreatedAt: at(time.Minute),
		},
	}
	for _, k := range keys {
		must(t, s.CreateAPIKey(ctx(t), k), "CreateAPIKey "+k.ID)
	}
	for _, want := range keys {
		got, err := s.GetAPIKey(ctx(t), want.ID)
		must(t, err, "GetAPIKey "+want.ID)
		checkEqual(t, "api key "+want.ID, got, want)
		checkUTC(t, "api key "+want.ID, got)
		got, err = s.GetAPIKeyByHash(ctx(t), want.Hash)
		must(t, err, "GetAPIKeyByHash "+want.ID)
		checkEqual(t, "api key by hash "+want.ID, got, want)
	}
	got, err := s.GetAPIKey(ctx(t), "sk1")
	must(t, err, "GetAPIKey sk1")
	if got.ExpiresAt != nil || got.RevokedAt != nil || got.LastUsedAt != nil {
		t.Errorf("unset timestamps came back set: expires %v revoked %v last used %v", got.ExpiresAt, got.RevokedAt, got.LastUsedAt)
	}
	if len(got.Sealed) != 0 {
		t.Errorf("unset Sealed came back as %x", got.Sealed)
	}
}

func testAPIKeyDuplicates(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	orig := mkKey("k1", "biz", store.ModeLive, base)
	must(t, s.CreateAPIKey(ctx(t), orig), "CreateAPIKey")
	sameID := mkKey("k1", "biz", store.ModeLive, base)
	sameID.Hash = "another-hash"
	sameHash := mkKey("k2", "biz", store.ModeTest, base)
	sameHash.Hash = orig.Hash
	tests := []struct {
		name string
		key  store.APIKey
	}{
		{"same id", sameID},
		{"same hash", sameHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, s.CreateAPIKey(ctx(t), tc.key), store.ErrAlreadyExists, "CreateAPIKey("+tc.name+")")
		})
	}
	_, err := s.GetAPIKey(ctx(t), "k2")
	wantErr(t, err, store.ErrNotFound, "GetAPIKey after refused create")
	got, err := s.GetAPIKeyByHash(ctx(t), orig.Hash)
	must(t, err, "GetAPIKeyByHash")
	checkEqual(t, "original key", got, orig)
}

func testListAPIKeys(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	seedOrg(t, s, "other")
	// Out of creation order; k-b and k-a share a timestamp and sort by id.
	for _, k := range []store.APIKey{
		mkKey("k-late", "biz", store.ModeLive, at(3*time.Hour)),
		mkKey("k-b", "biz", store.ModeLive, at(2*time.Hour)),
		mkKey("k-a", "biz", store.ModeLive, at(2*time.Hour)),
		mkKey("k-early", "biz", store.ModeLive, at(time.Hour)),
		mkKey("k-test", "biz", store.ModeTest, at(time.Hour)),
		mkKey("k-other", "other", store.ModeLive, at(time.Hour)),
	} {
		must(t, s.CreateAPIKey(ctx(t), k), "CreateAPIKey "+k.ID)
	}
	keyID := func(k store.APIKey) string { return k.ID }
	tests := []struct {
		name string
		org  string
		mode store.Mode
		page store.Page
		want []string
	}{
		{"live keys of biz", "biz", store.ModeLive, store.Page{}, []string{"k-early", "k-a", "k-b", "k-late"}},
		{"test keys of biz", "biz", store.ModeTest, store.Page{}, []string{"k-test"}},
		{"other organisation", "other", store.ModeLive, store.Page{}, []string{"k-other"}},
		{"no test keys", "other", store.ModeTest, store.Page{}, []string{}},
		{"unknown organisation", "nope", store.ModeLive, store.Page{}, []string{}},
		{"first page", "biz", store.ModeLive, store.Page{Size: 2}, []string{"k-early", "k-a"}},
		{"second page", "biz", store.ModeLive, store.Page{Offset: 2, Size: 2}, []string{"k-b", "k-late"}},
		{"past the end", "biz", store.ModeLive, store.Page{Offset: 4, Size: 2}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAPIKeys(ctx(t), tc.org, tc.mode, tc.page)
			must(t, err, "ListAPIKeys")
			checkIDs(t, fmt.Sprintf("ListAPIKeys(%s, %s, %+v)", tc.org, tc.mode, tc.page), ids(got, keyID), tc.want)
		})
	}
}

func testUpdateAPIKey(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	before := mkKey("k1", "biz", store.ModeLive, base)
	before.ExpiresAt = ptr(at(24 * time.Hour))
	must(t, s.CreateAPIKey(ctx(t), before), "CreateAPIKey")
	other := mkKey("k2", "biz", store.ModeLive, base)
	must(t, s.CreateAPIKey(ctx(t), other), "CreateAPIKey k2")

	want := before
	want.Name = "renamed"
	want.Scopes = []string{"contacts:write", "rewards:read"}
	want.RevokedAt = ptr(at(time.Hour))
	want.ExpiresAt = nil // cleared
	want.RateLimit = 7
	want.RateLimitPerMinute = 300
	var seen store.APIKey
	err := s.UpdateAPIKey(ctx(t), "k1", func(k store.APIKey) (store.APIKey, error) {
		seen = k
		k.Name, k.Scopes, k.RevokedAt, k.ExpiresAt, k.RateLimit, k.RateLimitPerMinute = want.Name, want.Scopes, want.RevokedAt, want.ExpiresAt, want.RateLimit, want.RateLimitPerMinute
		return k, nil
	})
	must(t, err, "UpdateAPIKey")
	checkEqual(t, "key passed to fn", seen, before)
	got, err := s.GetAPIKey(ctx(t), "k1")
	must(t, err, "GetAPIKey")
	checkEqual(t, "updated key", got, want)
	got, err = s.GetAPIKey(ctx(t), "k2")
	must(t, err, "GetAPIKey k2")
	checkEqual(t, "untouched key", got, other)
}

var touchTests = []subtest{
	{"SetsAndNeverGoesBackwards", testTouchAPIKeys},
	{"Batch", testTouchAPIKeysBatch},
	{"Empty", func(t *testing.T, s store.Store) {
		must(t, s.TouchAPIKeys(ctx(t), nil), "TouchAPIKeys(nil)")
		must(t, s.TouchAPIKeys(ctx(t), map[string]time.Time{}), "TouchAPIKeys(empty)")
	}},
}

func lastUsed(t *testing.T, s store.Store, id string) *time.Time {
	t.Helper()
	k, err := s.GetAPIKey(ctx(t), id)
	must(t, err, "GetAPIKey "+id)
	return k.LastUsedAt
}

func checkLastUsed(t *testing.T, s store.Store, id string, want *time.Time) {
	t.Helper()
	got := lastUsed(t, s, id)
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil || !got.Equal(*want):
		t.Errorf("%s: LastUsedAt = %v, want %v", id, got, want)
	default:
		checkUTC(t, id+" LastUsedAt", got)
	}
}

func testTouchAPIKeys(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	must(t, s.CreateAPIKey(ctx(t), mkKey("k1", "biz", store.ModeLive, base)), "CreateAPIKey")
	steps := []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"first use sets it", at(time.Hour), at(time.Hour)},
		{"later use moves it forward", at(2 * time.Hour), at(2 * time.Hour)},
		{"earlier use is ignored", at(90 * time.Minute), at(2 * time.Hour)},
		{"same time is a no-op", at(2 * time.Hour), at(2 * time.Hour)},
		{"a microsecond later counts", at(2*time.Hour + time.Microsecond), at(2*time.Hour + time.Microsecond)},
	}
	for _, st := range steps {
		must(t, s.TouchAPIKeys(ctx(t), map[string]time.Time{"k1": st.at}), "TouchAPIKeys "+st.name)
		checkLastUsed(t, s, "k1", &st.want)
	}
}

func testTouchAPIKeysBatch(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	for _, id := range []string{"k1", "k2", "k3", "k4"} {
		k := mkKey(id, "biz", store.ModeLive, base)
		if id == "k3" {
			k.LastUsedAt = ptr(at(10 * time.Hour)) // later than the batch
		}
		must(t, s.CreateAPIKey(ctx(t), k), "CreateAPIKey "+id)
	}
	zone := time.FixedZone("UTC-3", -3*3600)
	err := s.TouchAPIKeys(ctx(t), map[string]time.Time{
		"k1":      at(time.Hour),
		"k2":      at(2 * time.Hour).In(zone), // same instant, other zone
		"k3":      at(3 * time.Hour),
		"unknown": at(time.Hour),
	})
	must(t, err, "TouchAPIKeys(batch with an unknown id)")
	checkLastUsed(t, s, "k1", ptr(at(time.Hour)))
	checkLastUsed(t, s, "k2", ptr(at(2*time.Hour)))
	checkLastUsed(t, s, "k3", ptr(at(10*time.Hour)))
	checkLastUsed(t, s, "k4", nil)
	_, err = s.GetAPIKey(ctx(t), "unknown")
	wantErr(t, err, store.ErrNotFound, "GetAPIKey(unknown) after touch")

	// A bigger batch, all in one call.
	batch := make(map[string]time.Time)
	for i := range 120 {
		id := fmt.Sprintf("bulk-%03d", i)
		must(t, s.CreateAPIKey(ctx(t), mkKey(id, "biz", store.ModeTest, base)), "CreateAPIKey "+id)
		batch[id] = at(time.Duration(i) * time.Second)
	}
	must(t, s.TouchAPIKeys(ctx(t), batch), "TouchAPIKeys(120 keys)")
	for id, when := range batch {
		checkLastUsed(t, s, id, &when)
	}
}
