package apikey

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/store"
)

func TestNormaliseScopes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     string
		scopes  []string
		want    []string
		errPart string
	}{
		{"public scopes on a public key", store.APIKeyPublic, []string{"contacts:register", " otp:send ", "contacts:register"}, []string{"contacts:register", "otp:send"}, ""},
		{"secret scope on a public key", store.APIKeyPublic, []string{"contacts:register", "contacts:read"}, nil, "scopes[1]"},
		{"star on a public key", store.APIKeyPublic, []string{"*"}, nil, "scopes[0]"},
		{"star on a secret key", store.APIKeySecret, []string{"*"}, []string{"*"}, ""},
		{"star with others", store.APIKeySecret, []string{"*", "contacts:read"}, nil, "stands alone"},
		{"unknown scope", store.APIKeySecret, []string{"contacts:delete"}, nil, "Unknown scope"},
		{"no scope", store.APIKeySecret, nil, nil, "at least one"},
		{"any scope on a secret key", store.APIKeySecret, []string{"otp:send", "contacts:write", "api_keys:read"}, []string{"otp:send", "contacts:write", "api_keys:read"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormaliseScopes(tc.typ, tc.scopes)
			if tc.errPart != "" {
				var ve *ValidationError
				if !errors.As(err, &ve) || !strings.Contains(ve.Error(), tc.errPart) {
					t.Fatalf("err = %v, want a ValidationError mentioning %q", err, tc.errPart)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestServiceCreateListGet(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sk := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	pk := f.create(t, store.APIKeyPublic, store.ModeLive, ScopeContactsRegister, ScopeOTPSend)
	tk := f.create(t, store.APIKeySecret, store.ModeTest, ScopeContactsRead)
	if !strings.HasPrefix(sk.Key, "sk_live_") || !strings.HasPrefix(pk.Key, "pk_live_") || !strings.HasPrefix(tk.Key, "sk_test_") {
		t.Fatalf("keys %q %q %q", sk.Key, pk.Key, tk.Key)
	}
	if sk.Masked != sk.Prefix+"********"+sk.Key[len(sk.Key)-4:] || sk.Status != StatusActive {
		t.Fatalf("created %+v", sk)
	}
	if rec, _ := f.st.GetAPIKey(ctx, sk.ID); rec.Hash != Hash(sk.Key) || len(rec.Sealed) != 0 {
		t.Fatalf("secret key stored as %+v", rec)
	}

	list, err := f.svc.List(ctx, biz, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("live list has %d keys, want 2 (the test key is another mode)", len(list))
	}
	for _, in := range list {
		switch in.ID {
		case sk.ID:
			if in.Key != "" || in.Masked != sk.Masked {
				t.Fatalf("secret key listed as %+v", in)
			}
		case pk.ID:
			if in.Key != pk.Key {
				t.Fatalf("public key not revealed: %+v", in)
			}
		default:
			t.Fatalf("unexpected key %+v", in)
		}
	}
	if _, err := f.svc.Get(ctx, biz, tk.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("live scope got a test key: %v", err)
	}
	if _, err := f.svc.Get(ctx, Scope{OrganisationID: "other", Mode: store.ModeLive}, sk.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another organisation got the key: %v", err)
	}
	if _, err := f.svc.Get(ctx, Scope{}, sk.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an empty scope got the key: %v", err)
	}
	if got, err := f.svc.Get(ctx, biz, sk.ID); err != nil || got.Key != "" {
		t.Fatalf("get secret: %+v %v", got, err)
	}
	if got := f.audit.actions(audit.APIKeyCreated); len(got) != 3 || got[0].TargetID != sk.ID || got[0].ActorID != admin.ID || got[0].OrganisationID != "biz" {
		t.Fatalf("create events %+v", got)
	}
	for _, e := range f.audit.events {
		for k, v := range e.Details {
			if strings.Contains(v, sk.Key[8:]) {
				t.Fatalf("audit detail %s holds the key", k)
			}
		}
	}
}

func TestServiceCreateValidation(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name  string
		p     CreateParams
		field string
	}{
		{"no name", CreateParams{Type: "secret", Name: " ", Scopes: []string{"*"}}, "name"},
		{"long name", CreateParams{Type: "secret", Name: strings.Repeat("x", 101), Scopes: []string{"*"}}, "name"},
		{"control character", CreateParams{Type: "secret", Name: "a\nb", Scopes: []string{"*"}}, "name"},
		{"bad type", CreateParams{Type: "private", Name: "x", Scopes: []string{"*"}}, "type"},
		{"public star", CreateParams{Type: "public", Name: "x", Scopes: []string{"*"}}, "scopes[0]"},
		{"rate limit", CreateParams{Type: "secret", Name: "x", Scopes: []string{"*"}, RateLimit: -1}, "rate_limit"},
		{"minute limit", CreateParams{Type: "secret", Name: "x", Scopes: []string{"*"}, RateLimitPerMinute: 6000001}, "rate_limit_per_minute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.OrganisationID, tc.p.Mode = "biz", store.ModeLive
			_, err := f.svc.Create(context.Background(), admin, tc.p)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("err = %v, want a ValidationError on %s", err, tc.field)
			}
		})
	}
	if _, err := f.svc.Create(context.Background(), admin, CreateParams{OrganisationID: "biz", Mode: "prod", Type: "secret", Name: "x", Scopes: []string{"*"}}); err == nil {
		t.Fatal("mode prod accepted")
	}
	if n := len(f.st.keys); n != 0 {
		t.Fatalf("%d keys stored by failed creates", n)
	}
}

func TestServiceRollAndRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := f.create(t, store.APIKeySecret, store.ModeLive, ScopeContactsRead, ScopeContactsWrite)

	for name, bad := range map[string]time.Time{
		"past":         f.clk.Now().Add(-time.Minute),
		"beyond 30d":   f.clk.Now().Add(31 * 24 * time.Hour),
		"exactly past": f.clk.Now().Add(-time.Nanosecond),
	} {
		if _, _, err := f.svc.Roll(ctx, admin, biz, old.ID, &bad); err == nil {
			t.Fatalf("roll with %s expiry accepted", name)
		}
	}
	if _, _, err := f.svc.Roll(ctx, admin, Scope{OrganisationID: "other", Mode: store.ModeLive}, old.ID, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("roll from another organisation: %v", err)
	}

	until := f.clk.Now().Add(time.Hour).Truncate(time.Second)
	nk, oldInfo, err := f.svc.Roll(ctx, admin, biz, old.ID, &until)
	if err != nil {
		t.Fatal(err)
	}
	if nk.RolledFrom != old.ID || nk.Name != old.Name || !slices.Equal(nk.Scopes, old.Scopes) || nk.Mode != old.Mode ||
		nk.OrganisationID != old.OrganisationID || nk.Type != old.Type || !strings.HasPrefix(nk.Key, "sk_live_") || nk.Key == old.Key {
		t.Fatalf("rolled key %+v from %+v", nk, old)
	}
	if oldInfo.ExpiresAt == nil || !oldInfo.ExpiresAt.Equal(until) || oldInfo.Status != StatusActive {
		t.Fatalf("old key after roll %+v", oldInfo)
	}
	for _, k := range []string{old.Key, nk.Key} {
		if _, err := f.v.Verify(ctx, k); err != nil {
			t.Fatalf("during the overlap %s: %v", k[:8], err)
		}
	}
	// A later expiry never extends an earlier one.
	later := until.Add(time.Hour)
	nk2, old2, err := f.svc.Roll(ctx, admin, biz, old.ID, &later)
	if err != nil || !old2.ExpiresAt.Equal(until) || nk2.RolledFrom != old.ID {
		t.Fatalf("second roll of the old key: %+v %v", old2, err)
	}
	// Roll the new one now: the chain reads back.
	nk3, newOld, err := f.svc.Roll(ctx, admin, biz, nk.ID, nil)
	if err != nil || nk3.RolledFrom != nk.ID || newOld.Status != StatusExpired {
		t.Fatalf("roll now: %+v %+v %v", nk3, newOld, err)
	}
	if _, err := f.v.Verify(ctx, nk.Key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("key rolled with expiry now still verifies: %v", err)
	}
	if _, _, err := f.svc.Roll(ctx, admin, biz, nk.ID, nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("rolling an expired key: %v", err)
	}
	if got := f.audit.actions(audit.APIKeyRolled); len(got) != 3 || got[0].TargetID != old.ID || got[0].Details["new_key_id"] != nk.ID {
		t.Fatalf("roll events %+v", got)
	}

	if _, err := f.svc.Revoke(ctx, admin, Scope{OrganisationID: "biz", Mode: store.ModeTest}, nk3.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke from the other mode: %v", err)
	}
	if _, err := f.v.Verify(ctx, nk3.Key); err != nil {
		t.Fatalf("key revoked from the wrong scope stopped working: %v", err)
	}
	in, err := f.svc.Revoke(ctx, admin, biz, nk3.ID)
	if err != nil || in.Status != StatusRevoked {
		t.Fatalf("revoke: %+v %v", in, err)
	}
	if _, err := f.v.Verify(ctx, nk3.Key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("revoked key verifies: %v", err)
	}
	if _, err := f.svc.Revoke(ctx, admin, biz, nk3.ID); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	if _, _, err := f.svc.Roll(ctx, admin, biz, nk3.ID, nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("rolling a revoked key: %v", err)
	}
	if got := f.audit.actions(audit.APIKeyRevoked); len(got) != 1 || got[0].TargetID != nk3.ID {
		t.Fatalf("revoke events %+v", got)
	}
}

func TestRollIsAtomic(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := f.create(t, store.APIKeySecret, store.ModeLive, "*")
	before := len(f.st.keys)
	boom := errors.New("boom")
	f.st.failUpdate = boom
	if _, _, err := f.svc.Roll(ctx, admin, biz, old.ID, nil); !errors.Is(err, boom) {
		t.Fatalf("roll with a failing update: %v", err)
	}
	if len(f.st.keys) != before {
		t.Fatalf("a failed roll left %d keys, want %d", len(f.st.keys), before)
	}
	if _, err := f.v.Verify(ctx, old.Key); err != nil {
		t.Fatalf("the old key stopped working after a failed roll: %v", err)
	}
}
