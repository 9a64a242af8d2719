package storetest

import (
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
}

func clientFixtures() []store.Client {
	return []store.Client{
		{
			ID: "introspection", Name: "Introspection", SecretHash: strings.Repeat("ab", 32), Public: false,
			GrantTypes: []string{"client_credentials"}, Scopes: []string{"introspect", "revoke"},
			Audience: []string{"https://crm.example.com", "https://api.example.com"}, CreatedAt: at(time.Hour),
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
