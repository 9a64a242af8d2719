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
	{"ListPages", testListClientsPages},
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
			AccessTokenTTL: 2 * time.Minute,
		},
		{
			ID: "selfservice", Name: "Self-service app", Public: true,
			GrantTypes: []string{"password", "refresh_token", "urn:authd:params:oauth:grant-type:otp"},
			Scopes:     []string{"openid", "offline_access"}, OrganisationID: "biz", Mode: store.ModeLive, CreatedAt: at(2 * time.Hour),
			AccessTokenTTL: 24 * time.Hour, RefreshTokenTTL: 90 * 24 * time.Hour, RefreshIdleTTL: 36 * time.Hour,
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
	got, total, err := s.ListClients(ctx(t), store.Page{})
	must(t, err, "ListClients(empty)")
	if len(got) != 0 || total != 0 {
		t.Errorf("ListClients on an empty store = %+v, total %d", got, total)
	}
	seedOrg(t, s, "biz")
	want := clientFixtures()
	for _, c := range want {
		must(t, s.CreateClient(ctx(t), c), "CreateClient "+c.ID)
	}
	got, total, err = s.ListClients(ctx(t), store.Page{})
	must(t, err, "ListClients")
	if total != len(want) {
		t.Errorf("ListClients total = %d, want %d", total, len(want))
	}
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
	rotated.AccessTokenTTL, rotated.RefreshTokenTTL, rotated.RefreshIdleTTL = 3*time.Minute, 48*time.Hour, time.Hour
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

	// Lifetimes go back to the defaults (zero).
	must(t, s.UpdateClient(ctx(t), "svc", func(c store.Client) (store.Client, error) {
		c.AccessTokenTTL, c.RefreshTokenTTL, c.RefreshIdleTTL = 0, 0, 0
		return c, nil
	}), "UpdateClient(default lifetimes)")
	want.AccessTokenTTL, want.RefreshTokenTTL, want.RefreshIdleTTL = 0, 0, 0
	got, err = s.GetClient(ctx(t), "svc")
	must(t, err, "GetClient")
	checkEqual(t, "client with default lifetimes", got, want)

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
	got, total, err := s.ListClients(ctx(t), store.Page{})
	must(t, err, "ListClients")
	if len(got) != len(clientFixtures())-1 || total != len(got) {
		t.Errorf("ListClients after a delete: %d clients, want %d", len(got), len(clientFixtures())-1)
	}
	// The id may be used again.
	must(t, s.CreateClient(ctx(t), store.Client{ID: "introspection", Name: "again", Public: true, CreatedAt: base}), "CreateClient(reused id)")
}

// testListClientsPages: pages follow creation then id (clients created in
// the same instant are ordered by id), are disjoint and together hold
// every client once; each carries the exact total; a page past the end is
// empty with the total still right.
func testListClientsPages(t *testing.T, s store.Store) {
	for i := range 7 {
		// Pairs share a creation time: the id breaks the tie.
		c := store.Client{ID: string(rune('g' - i)), Name: "c", Public: true, CreatedAt: at(time.Duration(i/2) * time.Minute)}
		must(t, s.CreateClient(ctx(t), c), "CreateClient "+c.ID)
	}
	// Expected order: by creation, then id.
	all := []store.Client{}
	for i := range 7 {
		all = append(all, store.Client{ID: string(rune('g' - i)), CreatedAt: at(time.Duration(i/2) * time.Minute)})
	}
	slices.SortFunc(all, func(a, b store.Client) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var want []string
	for _, c := range all {
		want = append(want, c.ID)
	}
	var got []string
	for off := 0; off < 9; off += 3 {
		page, total, err := s.ListClients(ctx(t), store.Page{Offset: off, Size: 3})
		must(t, err, "ListClients(page)")
		if total != 7 {
			t.Errorf("ListClients(offset %d) total = %d, want 7", off, total)
		}
		if wantLen := min(3, max(7-off, 0)); len(page) != wantLen {
			t.Errorf("ListClients(offset %d) = %d clients, want %d", off, len(page), wantLen)
		}
		for _, c := range page {
			got = append(got, c.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages hold %v, want %v in this order", got, want)
	}
	page, total, err := s.ListClients(ctx(t), store.Page{Offset: 50, Size: 3})
	must(t, err, "ListClients(past the end)")
	if len(page) != 0 || total != 7 {
		t.Errorf("ListClients past the end = %d clients, total %d; want 0, 7", len(page), total)
	}
}
