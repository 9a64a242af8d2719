package clients

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

// TestAuthorize: only an admin or owner of the root, acting for the root,
// manages clients; operators always may.
func TestAuthorize(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.create(t, confidential).ID
	cases := []struct {
		name string
		c    Caller
		ok   bool
	}{
		{"owner of the root", Caller{UserID: "owner", Org: "so"}, true},
		{"admin of the root", rootAdmin, true},
		{"operator", Operator, true},
		{"member of the root", Caller{UserID: "member", Org: "so"}, false},
		{"root admin switched into a business", Caller{UserID: "admin", Org: "biz"}, false},
		{"root admin switched into a merchant", Caller{UserID: "admin", Org: "shop"}, false},
		{"owner of a business", Caller{UserID: "bizadmin", Org: "biz"}, false},
		{"owner of a business naming the root", Caller{UserID: "bizadmin", Org: "so"}, false},
		{"no user (a contact, a key)", Caller{Org: "so"}, false},
		{"no organisation", Caller{UserID: "admin"}, false},
		{"unknown organisation", Caller{UserID: "admin", Org: "nope"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				switch {
				case tc.ok && err != nil:
					t.Errorf("%s: %v", what, err)
				case !tc.ok && !errors.Is(err, ErrForbidden):
					t.Errorf("%s: %v, want ErrForbidden", what, err)
				}
			}
			_, _, err := f.svc.List(ctx, tc.c, store.Page{})
			check("List", err)
			_, err = f.svc.Get(ctx, tc.c, id)
			check("Get", err)
			if !tc.ok {
				_, err = f.svc.Create(ctx, tc.c, confidential)
				check("Create", err)
				_, err = f.svc.RotateSecret(ctx, tc.c, id, nil)
				check("RotateSecret", err)
				check("Delete", f.svc.Delete(ctx, tc.c, id))
				name := "renamed"
				_, err = f.svc.Update(ctx, tc.c, id, UpdateParams{Name: &name})
				check("Update", err)
			}
		})
	}
	if _, err := f.svc.Get(ctx, rootAdmin, id); err != nil {
		t.Fatalf("a refused caller changed the client: %v", err)
	}
	// Without identity rules (the command line) only operators manage.
	cli := New(f.st, Config{})
	if _, _, err := cli.List(ctx, rootAdmin, store.Page{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("user without identity rules: %v", err)
	}
	if _, _, err := cli.List(ctx, Operator, store.Page{}); err != nil {
		t.Errorf("operator without identity rules: %v", err)
	}
}

// TestValidation: every rule answers a ValidationError naming the field,
// and nothing is stored.
func TestValidation(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("x", MaxNameLength+1)
	manyAud := make([]string, MaxAudiences+1)
	for i := range manyAud {
		manyAud[i] = "aud-" + string(rune('a'+i))
	}
	cases := []struct {
		name  string
		p     CreateParams
		field string
	}{
		{"no name", CreateParams{Type: TypePublic, GrantTypes: []string{GrantPassword}}, "name"},
		{"blank name", CreateParams{Name: "   ", Type: TypePublic, GrantTypes: []string{GrantPassword}}, "name"},
		{"long name", CreateParams{Name: long, Type: TypePublic, GrantTypes: []string{GrantPassword}}, "name"},
		{"control in name", CreateParams{Name: "a\nb", Type: TypePublic, GrantTypes: []string{GrantPassword}}, "name"},
		{"no type", CreateParams{Name: "x", GrantTypes: []string{GrantPassword}}, "type"},
		{"bad type", CreateParams{Name: "x", Type: "secret", GrantTypes: []string{GrantPassword}}, "type"},
		{"unknown grant", CreateParams{Name: "x", Type: TypeConfidential, GrantTypes: []string{GrantPassword, "implicit"}}, "grant_types[1]"},
		{"public client_credentials", CreateParams{Name: "x", Type: TypePublic, GrantTypes: []string{GrantClientCredentials}}, "grant_types[0]"},
		{"public without grants", CreateParams{Name: "x", Type: TypePublic}, "grant_types"},
		{"unknown permission", CreateParams{Name: "x", Type: TypeConfidential, Scopes: []string{"openid"}}, "scopes[0]"},
		{"public with a permission", CreateParams{Name: "x", Type: TypePublic, GrantTypes: []string{GrantPassword}, Scopes: []string{ScopeIntrospect}}, "scopes[0]"},
		{"relative audience", CreateParams{Name: "x", Type: TypeConfidential, Audiences: []string{"/billing"}}, "audiences[0]"},
		{"audience with a fragment", CreateParams{Name: "x", Type: TypeConfidential, Audiences: []string{"https://a.example", "https://b.example/#x"}}, "audiences[1]"},
		{"audience with a space", CreateParams{Name: "x", Type: TypeConfidential, Audiences: []string{"billing api"}}, "audiences[0]"},
		{"empty audience", CreateParams{Name: "x", Type: TypeConfidential, Audiences: []string{""}}, "audiences[0]"},
		{"audience without host", CreateParams{Name: "x", Type: TypeConfidential, Audiences: []string{"https:///x"}}, "audiences[0]"},
		{"too many audiences", CreateParams{Name: "x", Type: TypeConfidential, Audiences: manyAud}, "audiences"},
		{"mode without organisation", CreateParams{Name: "x", Type: TypeConfidential, Mode: store.ModeTest}, "mode"},
		{"bad mode", CreateParams{Name: "x", Type: TypeConfidential, OrganisationID: "biz", Mode: "prod"}, "mode"},
		{"unknown organisation", CreateParams{Name: "x", Type: TypeConfidential, OrganisationID: "nope"}, "organisation_id"},
		{"bound to the root", CreateParams{Name: "x", Type: TypeConfidential, OrganisationID: "so"}, "organisation_id"},
		{"bound to a merchant", CreateParams{Name: "x", Type: TypeConfidential, OrganisationID: "shop"}, "organisation_id"},
		{"access lifetime too short", CreateParams{Name: "x", Type: TypeConfidential, Lifetimes: Lifetimes{AccessTokenTTL: 59 * time.Second}}, "access_token_ttl"},
		{"access lifetime above the maximum", CreateParams{Name: "x", Type: TypeConfidential, Lifetimes: Lifetimes{AccessTokenTTL: 2*time.Hour + time.Second}}, "access_token_ttl"},
		{"negative access lifetime", CreateParams{Name: "x", Type: TypeConfidential, Lifetimes: Lifetimes{AccessTokenTTL: -time.Minute}}, "access_token_ttl"},
		{"fractional access lifetime", CreateParams{Name: "x", Type: TypeConfidential, Lifetimes: Lifetimes{AccessTokenTTL: 90500 * time.Millisecond}}, "access_token_ttl"},
		{"refresh lifetime above the service's", CreateParams{Name: "x", Type: TypeConfidential, Lifetimes: Lifetimes{RefreshTokenTTL: 31 * 24 * time.Hour}}, "refresh_token_ttl"},
		{"idle lifetime above the service's absolute", CreateParams{Name: "x", Type: TypeConfidential, Lifetimes: Lifetimes{RefreshIdleTTL: 31 * 24 * time.Hour}}, "refresh_token_idle_ttl"},
		{"idle lifetime above the client's absolute", CreateParams{Name: "x", Type: TypeConfidential, Lifetimes: Lifetimes{RefreshTokenTTL: time.Hour, RefreshIdleTTL: 2 * time.Hour}}, "refresh_token_idle_ttl"},
		{"idle lifetime too short", CreateParams{Name: "x", Type: TypeConfidential, Lifetimes: Lifetimes{RefreshIdleTTL: time.Second}}, "refresh_token_idle_ttl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Create(context.Background(), rootAdmin, tc.p)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("Create: %v, want a validation error of %s", err, tc.field)
			}
		})
	}
	if n := len(f.st.m); n != 0 {
		t.Fatalf("%d clients stored by refused creates", n)
	}
}

// TestCreate: input is normalised, a confidential client's secret is
// returned once and stored hashed, a public client has none.
func TestCreate(t *testing.T) {
	f := newFixture(t)
	in := f.create(t, CreateParams{Name: "  Billing  ", Type: TypeConfidential,
		GrantTypes: []string{GrantClientCredentials, " client_credentials", GrantPassword},
		Scopes:     []string{ScopeIntrospect, ScopeIntrospect}, Audiences: []string{"https://billing.example", "urn:crm:billing", "billing-api", "billing-api"},
		OrganisationID: "biz"})
	if in.Secret == "" || len(in.Secret) != 43 {
		t.Fatalf("secret %q", in.Secret)
	}
	rec := f.st.m[in.ID]
	if rec.SecretHash != HashSecret(in.Secret) || strings.Contains(rec.SecretHash, in.Secret) {
		t.Fatalf("stored hash %q", rec.SecretHash)
	}
	want := Info{ID: in.ID, Name: "Billing", Type: TypeConfidential, GrantTypes: []string{GrantClientCredentials, GrantPassword},
		Scopes: []string{ScopeIntrospect}, Audiences: []string{"https://billing.example", "urn:crm:billing", "billing-api"},
		OrganisationID: "biz", Mode: store.ModeLive, CreatedAt: f.now}
	if !equalInfo(in.Info, want) {
		t.Fatalf("created %+v\nwant %+v", in.Info, want)
	}
	got, err := f.svc.Get(context.Background(), rootAdmin, in.ID)
	if err != nil || !equalInfo(got, want) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	pub := f.create(t, CreateParams{Name: "app", Type: TypePublic, GrantTypes: []string{GrantPassword, GrantOTP}})
	if pub.Secret != "" || f.st.m[pub.ID].SecretHash != "" || !f.st.m[pub.ID].Public {
		t.Fatalf("public client %+v stored %+v", pub, f.st.m[pub.ID])
	}
	list, total, err := f.svc.List(context.Background(), rootAdmin, store.Page{})
	if err != nil || len(list) != 2 || total != 2 {
		t.Fatalf("List = %v, %d, %v", list, total, err)
	}
	if a := f.audit.actions(); !slices.Equal(a, []string{"client.created", "client.created"}) {
		t.Fatalf("audit %v", a)
	}
	for _, ev := range f.audit.l {
		for k, v := range ev.Details {
			if strings.Contains(v, in.Secret) || strings.Contains(v, rec.SecretHash) {
				t.Fatalf("audit detail %s holds the secret", k)
			}
		}
	}
	if _, err := f.svc.Get(context.Background(), rootAdmin, "nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("Get(unknown) = %v", err)
	}
}

func equalInfo(a, b Info) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Type == b.Type && slices.Equal(a.GrantTypes, b.GrantTypes) &&
		slices.Equal(a.Scopes, b.Scopes) && slices.Equal(a.Audiences, b.Audiences) && a.OrganisationID == b.OrganisationID &&
		a.Mode == b.Mode && a.CreatedAt.Equal(b.CreatedAt) && a.Lifetimes == b.Lifetimes &&
		(a.PreviousSecretExpiresAt == nil) == (b.PreviousSecretExpiresAt == nil) &&
		(a.PreviousSecretExpiresAt == nil || a.PreviousSecretExpiresAt.Equal(*b.PreviousSecretExpiresAt))
}

// accepts reports whether secret authenticates client id, as the OAuth
// door checks it: the current hash, then the previous one Lookup hands
// out.
func (f *fixture) accepts(t *testing.T, id, secret string) bool {
	t.Helper()
	c, err := f.svc.Lookup(context.Background(), id)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	return SecretMatches([]byte(c.SecretHash), []byte(secret)) ||
		(c.PreviousSecretHash != "" && SecretMatches([]byte(c.PreviousSecretHash), []byte(secret)))
}

// TestRotateSecret: with an overlap both secrets work until its end, then
// only the new one; "now" ends the old one at once; a second rotation
// keeps two secrets at most; the change is announced in the log (without
// revoking tokens) and drops the cached copy.
func TestRotateSecret(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.create(t, confidential)
	if !f.accepts(t, first.ID, first.Secret) { // cached from here on
		t.Fatal("the first secret does not authenticate")
	}
	until := f.now.Add(24 * time.Hour)
	second, err := f.svc.RotateSecret(ctx, rootAdmin, first.ID, &until)
	if err != nil {
		t.Fatal(err)
	}
	if second.Secret == "" || second.Secret == first.Secret || second.PreviousSecretExpiresAt == nil || !second.PreviousSecretExpiresAt.Equal(until) {
		t.Fatalf("rotated %+v", second)
	}
	if len(f.revs.entries) != 1 || f.revs.entries[0].Kind != store.RevokeClientChange || f.revs.entries[0].Key != first.ID || len(f.revs.subjects) != 0 {
		t.Fatalf("log entries %+v, subjects %+v", f.revs.entries, f.revs.subjects)
	}
	if !f.accepts(t, first.ID, second.Secret) || !f.accepts(t, first.ID, first.Secret) {
		t.Fatal("during the overlap both secrets must work (the cached copy went with the change)")
	}
	if f.accepts(t, first.ID, "guess") {
		t.Fatal("a wrong secret works")
	}
	f.now = until.Add(-time.Second)
	if !f.accepts(t, first.ID, first.Secret) {
		t.Fatal("the old secret stopped before its expiry")
	}
	f.now = until
	if f.accepts(t, first.ID, first.Secret) || !f.accepts(t, first.ID, second.Secret) {
		t.Fatal("after the overlap only the new secret works")
	}
	if got, _ := f.svc.Get(ctx, rootAdmin, first.ID); got.PreviousSecretExpiresAt != nil {
		t.Fatalf("an ended overlap is still shown: %v", got.PreviousSecretExpiresAt)
	}

	// Rotating during an overlap ends the older secret at once.
	until = f.now.Add(time.Hour)
	third, err := f.svc.RotateSecret(ctx, rootAdmin, first.ID, &until)
	if err != nil {
		t.Fatal(err)
	}
	later := f.now.Add(2 * time.Hour)
	fourth, err := f.svc.RotateSecret(ctx, rootAdmin, first.ID, &later)
	if err != nil {
		t.Fatal(err)
	}
	if f.accepts(t, first.ID, second.Secret) || !f.accepts(t, first.ID, third.Secret) || !f.accepts(t, first.ID, fourth.Secret) {
		t.Fatal("a client holds the new secret and the one it replaced, no other")
	}

	// "now" (nil) ends the current secret at once.
	fifth, err := f.svc.RotateSecret(ctx, rootAdmin, first.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.accepts(t, first.ID, fourth.Secret) || !f.accepts(t, first.ID, fifth.Secret) || fifth.PreviousSecretExpiresAt != nil {
		t.Fatal("rotating with no overlap leaves only the new secret")
	}

	// Bad expiries change nothing.
	for _, bad := range []time.Time{f.now, f.now.Add(-time.Minute), f.now.Add(MaxRotationOverlap + time.Second)} {
		var ve *ValidationError
		if _, err := f.svc.RotateSecret(ctx, rootAdmin, first.ID, &bad); !errors.As(err, &ve) || ve.Field != "expires_at" {
			t.Fatalf("expiry %v: %v", bad, err)
		}
	}
	edge := f.now.Add(MaxRotationOverlap)
	if _, err := f.svc.RotateSecret(ctx, rootAdmin, first.ID, &edge); err != nil {
		t.Fatalf("an overlap of exactly 30 days: %v", err)
	}
	pub := f.create(t, CreateParams{Name: "app", Type: TypePublic, GrantTypes: []string{GrantPassword}})
	if _, err := f.svc.RotateSecret(ctx, rootAdmin, pub.ID, nil); !errors.Is(err, ErrPublic) {
		t.Fatalf("public client: %v", err)
	}
	if _, err := f.svc.RotateSecret(ctx, rootAdmin, "nope", nil); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown client: %v", err)
	}
	if n := strings.Count(strings.Join(f.audit.actions(), " "), "client.secret_rotated"); n != 5 {
		t.Fatalf("%d rotations audited, want 5", n)
	}

	// A rotation whose announcement fails still hands the secret out.
	f.revs.fail = errors.New("log down")
	sixth, err := f.svc.RotateSecret(ctx, rootAdmin, first.ID, nil)
	f.revs.fail = nil
	if err != nil || f.st.m[first.ID].SecretHash != HashSecret(sixth.Secret) {
		t.Fatalf("rotation with the log down: %v", err)
	}
}

// TestDelete: the client's tokens are revoked through a cut-off past the
// cache's freshness, written first; its refresh families end; it is gone
// from the store and the cache.
func TestDelete(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.create(t, confidential)
	if !f.accepts(t, in.ID, in.Secret) {
		t.Fatal("secret")
	}
	if err := f.svc.Delete(ctx, rootAdmin, in.ID); err != nil {
		t.Fatal(err)
	}
	// The revocation lasts as long as the longest access token any client
	// may have (the maximum, not a default).
	want := revoked{store.RevokeClient, in.ID, f.now.Add(10*time.Second + deleteAhead), 2 * time.Hour}
	if len(f.revs.subjects) != 1 || f.revs.subjects[0] != want {
		t.Fatalf("revoked %+v, want %+v", f.revs.subjects, want)
	}
	if !slices.Equal(f.revs.refreshed, []string{in.ID}) {
		t.Fatalf("refresh families ended for %v", f.revs.refreshed)
	}
	if _, err := f.svc.Lookup(ctx, in.ID); !errors.Is(err, ErrUnknown) {
		t.Fatalf("Lookup after delete: %v", err)
	}
	if err := f.svc.Delete(ctx, rootAdmin, in.ID); !errors.Is(err, ErrUnknown) {
		t.Fatalf("second delete: %v", err)
	}
	if a := f.audit.actions(); a[len(a)-1] != "client.deleted" {
		t.Fatalf("audit %v", a)
	}

	// The revocation comes first: when it fails, nothing changes.
	other := f.create(t, confidential)
	f.revs.fail = errors.New("log down")
	if err := f.svc.Delete(ctx, rootAdmin, other.ID); err == nil {
		t.Fatal("delete with the log down succeeded")
	}
	f.revs.fail = nil
	if _, ok := f.st.m[other.ID]; !ok {
		t.Fatal("the client went although its tokens were not revoked")
	}

	// Reserved clients stay.
	f.st.m["backoffice"] = store.Client{ID: "backoffice", Name: "Back office", Public: true, GrantTypes: []string{GrantPassword}}
	if err := f.svc.Delete(ctx, rootAdmin, "backoffice"); !errors.Is(err, ErrReserved) {
		t.Fatalf("reserved: %v", err)
	}
	if _, ok := f.st.m["backoffice"]; !ok || len(f.revs.subjects) != 1 {
		t.Fatal("a reserved client was touched")
	}
}

// TestLookupCache: reads are cached and dropped by Forget; an unknown
// client is ErrUnknown.
func TestLookupCache(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.create(t, confidential)
	for range 3 {
		if _, err := f.svc.Lookup(ctx, in.ID); err != nil {
			t.Fatal(err)
		}
	}
	if f.st.gets != 1 {
		t.Fatalf("%d store reads for 3 lookups", f.st.gets)
	}
	f.svc.Forget(in.ID)
	if _, err := f.svc.Lookup(ctx, in.ID); err != nil || f.st.gets != 2 {
		t.Fatalf("after Forget: %v, %d reads", err, f.st.gets)
	}
	if _, err := f.svc.Lookup(ctx, "nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown: %v", err)
	}
	for _, r := range []store.Revocation{{Kind: store.RevokeClient}, {Kind: store.RevokeClientChange}} {
		if !Forgets(r) {
			t.Errorf("%s entries must drop the cached client", r.Kind)
		}
	}
	for _, k := range []string{store.RevokeAPIKey, store.RevokeUser, store.RevokeToken} {
		if Forgets(store.Revocation{Kind: k}) {
			t.Errorf("%s entries name no client", k)
		}
	}
}

func TestSecrets(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if len(a) != 43 || a == b {
		t.Fatalf("secrets %q %q", a, b)
	}
	h := HashSecret(a)
	if len(h) != 64 || !SecretMatches([]byte(h), []byte(a)) || SecretMatches([]byte(h), []byte(b)) || SecretMatches(nil, []byte(a)) {
		t.Fatal("SecretMatches")
	}
	// The stored form is unchanged from earlier releases: bootstrap's
	// secrets keep working.
	if HashSecret("abc") != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatal("HashSecret is no longer the hex SHA-256")
	}
}

// TestLifetimesBounds: the bounds themselves are accepted and stored; zero
// is the default.
func TestLifetimesBounds(t *testing.T) {
	f := newFixture(t)
	lt := Lifetimes{AccessTokenTTL: 2 * time.Hour, RefreshTokenTTL: 30 * 24 * time.Hour, RefreshIdleTTL: 30 * 24 * time.Hour}
	in := f.create(t, CreateParams{Name: "long", Type: TypeConfidential, Lifetimes: lt})
	if in.Lifetimes != lt || f.st.m[in.ID].AccessTokenTTL != 2*time.Hour || f.st.m[in.ID].RefreshIdleTTL != lt.RefreshIdleTTL {
		t.Fatalf("created %+v stored %+v", in.Lifetimes, f.st.m[in.ID])
	}
	short := Lifetimes{AccessTokenTTL: MinTokenTTL, RefreshTokenTTL: MinTokenTTL, RefreshIdleTTL: MinTokenTTL}
	if in := f.create(t, CreateParams{Name: "short", Type: TypeConfidential, Lifetimes: short}); in.Lifetimes != short {
		t.Fatalf("created %+v", in.Lifetimes)
	}
	if in := f.create(t, CreateParams{Name: "default", Type: TypeConfidential}); in.Lifetimes != (Lifetimes{}) {
		t.Fatalf("created %+v", in.Lifetimes)
	}
}

// TestUpdate: an update changes what it names under Create's rules, keeps
// the rest, is audited with what changed, and announced so every replica
// drops its copy; a refused update changes nothing and announces nothing.
func TestUpdate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.create(t, CreateParams{Name: "billing", Type: TypeConfidential, GrantTypes: []string{GrantClientCredentials, GrantPassword, GrantRefreshToken},
		Scopes: []string{ScopeIntrospect}, Audiences: []string{"billing-api"}, OrganisationID: "biz"})
	if _, err := f.svc.Lookup(ctx, in.ID); err != nil { // cached from here
		t.Fatal(err)
	}
	name, grants, ttl := "  Billing v2 ", []string{GrantClientCredentials, " client_credentials"}, 2*time.Minute
	got, err := f.svc.Update(ctx, rootAdmin, in.ID, UpdateParams{Name: &name, GrantTypes: &grants, AccessTokenTTL: &ttl})
	if err != nil {
		t.Fatal(err)
	}
	want := in.Info
	want.Name, want.GrantTypes, want.AccessTokenTTL = "Billing v2", []string{GrantClientCredentials}, 2*time.Minute
	if !equalInfo(got, want) {
		t.Fatalf("updated %+v\nwant %+v", got, want)
	}
	rec := f.st.m[in.ID]
	if rec.SecretHash != HashSecret(in.Secret) || rec.OrganisationID != "biz" || rec.Mode != store.ModeLive || !slices.Equal(rec.Audience, []string{"billing-api"}) {
		t.Fatalf("update touched what it did not name: %+v", rec)
	}
	// Every replica drops its copy: the change is in the log, and this
	// replica's cache already holds the new client.
	if n := len(f.revs.entries); n != 1 || f.revs.entries[0].Kind != store.RevokeClientChange || f.revs.entries[0].Key != in.ID {
		t.Fatalf("log entries %+v", f.revs.entries)
	}
	if c, _ := f.svc.Lookup(ctx, in.ID); c.Name != "Billing v2" || c.AccessTokenTTL != 2*time.Minute {
		t.Fatalf("cached client after the update: %+v", c)
	}
	ev := f.audit.l[len(f.audit.l)-1]
	if ev.Action != "client.updated" || ev.TargetID != in.ID || ev.ActorID != "admin" ||
		!maps.Equal(ev.Details, map[string]string{"name": "Billing v2", "grant_types": GrantClientCredentials, "access_token_ttl": "120"}) {
		t.Fatalf("audit %+v", ev)
	}

	// Back to the default lifetime; lists emptied.
	zero, none := time.Duration(0), []string{}
	got, err = f.svc.Update(ctx, rootAdmin, in.ID, UpdateParams{AccessTokenTTL: &zero, Scopes: &none, Audiences: &none})
	if err != nil || got.AccessTokenTTL != 0 || len(got.Scopes) != 0 || len(got.Audiences) != 0 || got.Name != "Billing v2" {
		t.Fatalf("reset: %+v %v", got, err)
	}

	// Refused: the rules of Create, naming the field; nothing changes.
	before, entries, events := f.st.m[in.ID], len(f.revs.entries), len(f.audit.l)
	blank, bad, long := " ", []string{"implicit"}, 3*time.Hour
	for _, tc := range []struct {
		name  string
		u     UpdateParams
		field string
	}{
		{"blank name", UpdateParams{Name: &blank}, "name"},
		{"unknown grant", UpdateParams{GrantTypes: &bad}, "grant_types[0]"},
		{"unknown permission", UpdateParams{Scopes: &bad}, "scopes[0]"},
		{"bad audience", UpdateParams{Audiences: &[]string{"not an audience"}}, "audiences[0]"},
		{"access lifetime too long", UpdateParams{Name: &name, AccessTokenTTL: &long}, "access_token_ttl"},
		{"idle above absolute", UpdateParams{RefreshTokenTTL: &ttl, RefreshIdleTTL: &long}, "refresh_token_idle_ttl"},
	} {
		_, err := f.svc.Update(ctx, rootAdmin, in.ID, tc.u)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: %v, want a validation error of %s", tc.name, err, tc.field)
		}
	}
	if !reflect.DeepEqual(f.st.m[in.ID], before) || len(f.revs.entries) != entries || len(f.audit.l) != events {
		t.Fatalf("a refused update changed something: %+v", f.st.m[in.ID])
	}

	// A public client stays one: client_credentials and permissions are
	// refused as at creation.
	pub := f.create(t, CreateParams{Name: "app", Type: TypePublic, GrantTypes: []string{GrantPassword}})
	cc, perm := []string{GrantPassword, GrantClientCredentials}, []string{ScopeIntrospect}
	if _, err := f.svc.Update(ctx, rootAdmin, pub.ID, UpdateParams{GrantTypes: &cc}); !isField(err, "grant_types[1]") {
		t.Errorf("public client given client_credentials: %v", err)
	}
	if _, err := f.svc.Update(ctx, rootAdmin, pub.ID, UpdateParams{Scopes: &perm}); !isField(err, "scopes[0]") {
		t.Errorf("public client given a permission: %v", err)
	}
	if _, err := f.svc.Update(ctx, rootAdmin, pub.ID, UpdateParams{GrantTypes: &none}); !isField(err, "grant_types") {
		t.Errorf("public client left without grants: %v", err)
	}

	if _, err := f.svc.Update(ctx, rootAdmin, "nope", UpdateParams{Name: &name}); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown client: %v", err)
	}
	// Nothing to change: the client as it is, nothing written.
	entries = len(f.revs.entries)
	if got, err := f.svc.Update(ctx, rootAdmin, in.ID, UpdateParams{}); err != nil || got.ID != in.ID || len(f.revs.entries) != entries {
		t.Errorf("empty update: %+v %v", got, err)
	}

	// The change cannot be announced: the caller hears it (the change is
	// written; the same update again announces it).
	f.revs.fail = errors.New("log down")
	if _, err := f.svc.Update(ctx, rootAdmin, in.ID, UpdateParams{Name: &name}); err == nil {
		t.Error("an update that could not be announced answered success")
	}
}

func isField(err error, field string) bool {
	var ve *ValidationError
	return errors.As(err, &ve) && ve.Field == field
}
