package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var clientTests = []subtest{
	{"CreateGetRoundTrip", testClientRoundTrip},
	{"GetMissing", func(t *testing.T, s store.Store) {
		_, err := s.GetClient(ctx(t), "nope")
		wantErr(t, err, store.ErrNotFound, "GetClient(missing)")
	}},
	{"DuplicateID", func(t *testing.T, s store.Store) {
		c := store.Client{ID: "c1", Name: "first", Public: true, CreatedAt: base}
		must(t, s.CreateClient(ctx(t), c), "CreateClient")
		c.Name = "second"
		wantErr(t, s.CreateClient(ctx(t), c), store.ErrAlreadyExists, "CreateClient(duplicate)")
		got, err := s.GetClient(ctx(t), "c1")
		must(t, err, "GetClient")
		if got.Name != "first" {
			t.Errorf("duplicate create overwrote the client: name %q", got.Name)
		}
	}},
	{"List", testListClients},
	{"Update", testUpdateClient},
	{"UpdateMissing", func(t *testing.T, s store.Store) {
		called := false
		err := s.UpdateClient(ctx(t), "nope", func(c store.Client) (store.Client, error) { called = true; return c, nil })
		wantErr(t, err, store.ErrNotFound, "UpdateClient(missing)")
		if called {
			t.Error("UpdateClient called fn for a missing client")
		}
	}},
	{"Delete", testDeleteClient},
}

func clientFixtures() []store.Client {
	return []store.Client{
		{
			ID: "introspection", Name: "Introspection", SecretHash: strings.Repeat("ab", 32), Public: false,
			GrantTypes: []string{"client_credentials"}, Scopes: []string{"introspect", "revoke"},
			Audience: []string{"https://crm.example.com", "https://api.example.com"}, CreatedAt: at(time.Hour),
		},
		{
			ID: "rotated", Name: "Rotated secret", SecretHash: strings.Repeat("cd", 32),
			PreviousSecretHash: strings.Repeat("ef", 32), PreviousSecretExpiresAt: ptr(at(30 * 24 * time.Hour)),
			GrantTypes: []string{"client_credentials"}, CreatedAt: at(4 * time.Hour),
		},
		{
			ID: "selfservice", Name: "Self-service app", Public: true,
			GrantTypes: []string{"password", "refresh_token", "urn:authd:params:oauth:grant-type:otp"},
			Scopes:     []string{"openid", "offline_access"}, OrganisationID: "biz", Mode: store.ModeLive, CreatedAt: at(2 * time.Hour),
		},
		{ID: "bare", Name: "Bare public client", Public: true, CreatedAt: at(3 * time.Hour)},
		{ID: "test-mode", Name: "Test mode", Public: true, OrganisationID: "biz", Mode: store.ModeTest, GrantTypes: []string{"password"}, CreatedAt: at(0)},
	}
}

func testClientRoundTrip(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	for _, c := range clientFixtures() {
		must(t, s.CreateClient(ctx(t), c), "CreateClient "+c.ID)
		got, err := s.GetClient(ctx(t), c.ID)
		must(t, err, "GetClient "+c.ID)
		checkEqual(t, "client "+c.ID, got, c)
		checkUTC(t, "client "+c.ID, got)
	}
}

func testListClients(t *testing.T, s store.Store) {
	got, err := s.ListClients(ctx(t))
	must(t, err, "ListClients(empty)")
	if len(got) != 0 {
		t.Errorf("ListClients on an empty store = %+v", got)
	}
	seedOrg(t, s, "biz")
	want := clientFixtures()
	for _, c := range want {
		must(t, s.CreateClient(ctx(t), c), "CreateClient "+c.ID)
	}
	got, err = s.ListClients(ctx(t))
	must(t, err, "ListClients")
	byID := func(a, b store.Client) int { return strings.Compare(a.ID, b.ID) }
	got = slices.Clone(got)
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	checkEqual(t, "listed clients", got, want)
}

// testUpdateClient: an update replaces every field but the id, the
// previous secret and its expiry included (set, then cleared); fn's error
// aborts it.
func testUpdateClient(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	orig := store.Client{ID: "svc", Name: "service", SecretHash: strings.Repeat("01", 32), GrantTypes: []string{"client_credentials"},
		Scopes: []string{"tokens:introspect"}, Audience: []string{"billing"}, CreatedAt: at(time.Hour)}
	must(t, s.CreateClient(ctx(t), orig), "CreateClient")

	rotated := orig
	rotated.ID = "ignored"
	rotated.Name = "service, renamed"
	rotated.SecretHash = strings.Repeat("02", 32)
	rotated.PreviousSecretHash = orig.SecretHash
	rotated.PreviousSecretExpiresAt = ptr(at(48 * time.Hour))
	rotated.OrganisationID, rotated.Mode = "biz", store.ModeTest
	rotated.Scopes = []string{"tokens:introspect", "revocations:read"}
	var seen store.Client
	must(t, s.UpdateClient(ctx(t), "svc", func(c store.Client) (store.Client, error) { seen = c; return rotated, nil }), "UpdateClient")
	checkEqual(t, "client handed to fn", seen, orig)
	want := rotated
	want.ID = "svc"
	got, err := s.GetClient(ctx(t), "svc")
	must(t, err, "GetClient")
	checkEqual(t, "updated client", got, want)
	checkUTC(t, "updated client", got)
	if _, err := s.GetClient(ctx(t), "ignored"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateClient changed the id: GetClient(ignored) = %v", err)
	}

	// The overlap ends: the previous secret is cleared.
	must(t, s.UpdateClient(ctx(t), "svc", func(c store.Client) (store.Client, error) {
		c.PreviousSecretHash, c.PreviousSecretExpiresAt = "", nil
		return c, nil
	}), "UpdateClient(clear)")
	want.PreviousSecretHash, want.PreviousSecretExpiresAt = "", nil
	got, err = s.GetClient(ctx(t), "svc")
	must(t, err, "GetClient")
	checkEqual(t, "client after the overlap", got, want)

	// fn's error is returned as it is and nothing changes.
	boom := errors.New("boom")
	err = s.UpdateClient(ctx(t), "svc", func(c store.Client) (store.Client, error) { c.Name = "changed"; return c, boom })
	if !errors.Is(err, boom) {
		t.Errorf("UpdateClient(fn fails) = %v, want fn's error", err)
	}
	got, err = s.GetClient(ctx(t), "svc")
	must(t, err, "GetClient")
	checkEqual(t, "client after a failed update", got, want)
}

func testDeleteClient(t *testing.T, s store.Store) {
	seedOrg(t, s, "biz")
	for _, c := range clientFixtures() {
		must(t, s.CreateClient(ctx(t), c), "CreateClient "+c.ID)
	}
	must(t, s.DeleteClient(ctx(t), "introspection"), "DeleteClient")
	_, err := s.GetClient(ctx(t), "introspection")
	wantErr(t, err, store.ErrNotFound, "GetClient(deleted)")
	wantErr(t, s.DeleteClient(ctx(t), "introspection"), store.ErrNotFound, "DeleteClient(again)")
	wantErr(t, s.DeleteClient(ctx(t), "nope"), store.ErrNotFound, "DeleteClient(missing)")
	got, err := s.ListClients(ctx(t))
	must(t, err, "ListClients")
	if len(got) != len(clientFixtures())-1 {
		t.Errorf("ListClients after a delete: %d clients, want %d", len(got), len(clientFixtures())-1)
	}
	// The id may be used again.
	must(t, s.CreateClient(ctx(t), store.Client{ID: "introspection", Name: "again", Public: true, CreatedAt: base}), "CreateClient(reused id)")
}
