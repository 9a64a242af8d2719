package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

// RunTests runs the conformance suite. newStore must return a fresh,
// empty, migrated store for each call and arrange for it to be closed at
// the end of the test (the Close test closes its store first, so Close may
// be called twice).
func RunTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Organisations", organisationTests},
		{"Users", userTests},
		{"Memberships", membershipTests},
		{"ActingOrganisations", actingTests},
		{"Clients", clientTests},
		{"APIKeys", apiKeyTests},
		{"TouchAPIKeys", touchTests},
		{"SigningKeys", signingKeyTests},
		{"RefreshTokens", refreshTokenTests},
		{"Audit", auditTests},
		{"Contacts", contactTests},
		{"Identities", identityTests},
		{"ContactOrganisations", contactOrganisationTests},
		{"Revocations", revocationTests},
		{"OTPIntegrations", integrationTests},
		{"Tx", txTests},
		{"SignUp", signupTests},
		{"Lifecycle", lifecycleTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newStore(t))
				})
			}
		})
	}
}

type subtest struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// errBoom is what the suite's closures fail with.
var errBoom = errors.New("storetest: boom")

// base is the suite's reference time: microsecond precision, UTC.
var base = time.Date(2024, 3, 1, 12, 0, 0, 123456000, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

func ptr[T any](v T) *T { return &v }

func ctx(t *testing.T) context.Context { return t.Context() }

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one matching %v", what, err, target)
	}
}

// sentinels are the store's errors a call may match.
var sentinels = []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict, store.ErrUnavailable}

// wantOnly is wantErr that also fails when err matches another sentinel
// (a conflict wrapped as unavailable, say).
func wantOnly(t *testing.T, err, target error, what string) {
	t.Helper()
	wantErr(t, err, target, what)
	for _, other := range sentinels {
		if other != target && errors.Is(err, other) { //nolint:errorlint // comparing sentinels
			t.Errorf("%s: error %v also matches %v", what, err, other)
		}
	}
}

// checkEqual compares after norm (instants in UTC, nil == empty).
func checkEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if g, w := normalise(got), normalise(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s mismatch:\n got %+v\nwant %+v", what, g, w)
	}
}

// checkUTC fails unless every timestamp in v is in UTC.
func checkUTC(t *testing.T, what string, v any) {
	t.Helper()
	walkTimes(reflect.ValueOf(v), func(tm time.Time) {
		if tm.Location() != time.UTC {
			t.Errorf("%s: timestamp %v is in %v, want UTC", what, tm, tm.Location())
		}
	})
}

// normalise returns a copy of v with times in UTC (no monotonic reading),
// empty slices and maps as nil. It handles the store's value types, pointers to
// times and slices of them.
func normalise[T any](v T) T {
	rv := reflect.New(reflect.TypeOf(&v).Elem()).Elem()
	rv.Set(reflect.ValueOf(&v).Elem())
	normValue(rv)
	return rv.Interface().(T)
}

var timeType = reflect.TypeOf(time.Time{})

func normValue(v reflect.Value) {
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			c := reflect.New(v.Type().Elem())
			c.Elem().Set(v.Elem())
			normValue(c.Elem())
			v.Set(c)
		}
	case v.Kind() == reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			normValue(c.Index(i))
		}
		v.Set(c)
	case v.Kind() == reflect.Map:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normValue(v.Field(i))
			}
		}
	}
}

func walkTimes(v reflect.Value, f func(time.Time)) {
	switch {
	case !v.IsValid():
	case v.Type() == timeType:
		f(v.Interface().(time.Time))
	case v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface:
		if !v.IsNil() {
			walkTimes(v.Elem(), f)
		}
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			walkTimes(v.Index(i), f)
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walkTimes(v.Field(i), f)
			}
		}
	}
}

// ids returns the ids of a listing, for order checks.
func ids[T any](list []T, id func(T) string) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = id(v)
	}
	return out
}

func checkIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got ids %q, want %q", what, got, want)
	}
}

// Fixtures.

func mkOrg(id, parent string, created time.Time) store.Organisation {
	typ := store.OrgTypeBusiness
	if parent == "" {
		typ = store.OrgTypeServiceOwner
	}
	return store.Organisation{ID: id, Name: "Org " + id, Type: typ, ParentID: parent, CreatedAt: created}
}

func mkUser(id, email string) store.User {
	return store.User{
		ID: id, Email: email, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
		FirstName: "First " + id, LastName: "Last " + id, CreatedAt: at(time.Minute), UpdatedAt: at(2 * time.Minute),
	}
}

func mkKey(id, org string, mode store.Mode, created time.Time) store.APIKey {
	return store.APIKey{
		ID: id, OrganisationID: org, Mode: mode, Type: store.APIKeySecret, Name: "key " + id,
		Prefix: "sk_" + string(mode) + "_", Last4: "ab12", Hash: fmt.Sprintf("%064x", []byte(id)),
		Scopes: []string{"contacts:read"}, CreatedAt: created,
	}
}

func mkSigningKey(kid string, created, signsFrom time.Time) store.SigningKey {
	return store.SigningKey{
		KID: kid, Algorithm: "ES256", Private: []byte("sealed-private-" + kid),
		PublicJWK: []byte(`{"kty":"EC","kid":"` + kid + `"}`), CreatedAt: created, SignsFrom: signsFrom,
	}
}

// seedOrg creates a root organisation "root" for tests that need one.
func seedOrg(t *testing.T, s store.Store, id string) store.Organisation {
	t.Helper()
	o := mkOrg(id, "", base)
	must(t, s.CreateOrganisation(ctx(t), o), "create organisation "+id)
	return o
}

func seedUser(t *testing.T, s store.Store, id, email string) store.User {
	t.Helper()
	u := mkUser(id, email)
	must(t, s.CreateUser(ctx(t), u), "create user "+id)
	return u
}
