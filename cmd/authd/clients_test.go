package main

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/clients"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/store"
)

func TestClientsCLI(t *testing.T) {
	dir := useTempDB(t)
	ctx := context.Background()
	out, code, err := run(ctx, t, "bootstrap", "--json")
	if code != 0 {
		t.Fatalf("bootstrap: %d %v %s", code, err, out)
	}
	var boot struct {
		Business struct{ ID string } `json:"business"`
	}
	if err := json.Unmarshal([]byte(out), &boot); err != nil {
		t.Fatal(err)
	}

	// create prints the secret once.
	out, code, err = run(ctx, t, "clients", "create", "--name", "Billing service", "--type", "confidential",
		"--grant-types", "client_credentials, refresh_token", "--scopes", "tokens:introspect", "--audiences", "https://billing.example", "--json")
	if code != 0 {
		t.Fatalf("create: %d %v %s", code, err, out)
	}
	var created struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		Type         string   `json:"type"`
		GrantTypes   []string `json:"grant_types"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("create output %q: %v", out, err)
	}
	if len(created.ClientSecret) != 43 || created.Type != "confidential" || len(created.GrantTypes) != 2 {
		t.Fatalf("created %+v", created)
	}
	out, code, _ = run(ctx, t, "clients", "create", "--name", "app", "--type", "public", "--grant-types", "password", "--org", boot.Business.ID, "--mode", "test")
	if code != 0 || !strings.Contains(out, boot.Business.ID+" (test)") || strings.Contains(out, "client secret") {
		t.Fatalf("create public (text): %d %s", code, out)
	}

	// list and get never print a secret.
	out, code, _ = run(ctx, t, "clients", "list")
	if code != 0 || !strings.Contains(out, created.ClientID) || strings.Contains(out, created.ClientSecret) {
		t.Fatalf("list: %d %s", code, out)
	}
	if strings.Count(out, "\n") != 1+3+2 { // header, bootstrap's 3, 2 new
		t.Fatalf("list has %d lines:\n%s", strings.Count(out, "\n"), out)
	}
	out, code, _ = run(ctx, t, "clients", "get", created.ClientID, "--json")
	var got map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got["client_secret"] != nil || got["name"] != "Billing service" {
		t.Fatalf("get: %d %s", code, out)
	}

	// rotate-secret with an overlap keeps the old hash until then.
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	out, code, err = run(ctx, t, "clients", "rotate-secret", created.ClientID, "--expires-at", until.Format(time.RFC3339), "--json")
	if code != 0 {
		t.Fatalf("rotate: %d %v %s", code, err, out)
	}
	var rotated map[string]any
	_ = json.Unmarshal([]byte(out), &rotated)
	newSecret, _ := rotated["client_secret"].(string)
	if len(newSecret) != 43 || newSecret == created.ClientSecret || rotated["previous_secret_expires_at"] != until.Format(time.RFC3339) {
		t.Fatalf("rotated %s", out)
	}
	st := openStore(t, dir)
	c, err := st.GetClient(ctx, created.ClientID)
	if err != nil || c.SecretHash != clients.HashSecret(newSecret) || c.PreviousSecretHash != clients.HashSecret(created.ClientSecret) {
		t.Fatalf("stored after rotation: %+v %v", c, err)
	}
	out, code, _ = run(ctx, t, "clients", "rotate-secret", created.ClientID)
	if code != 0 || !strings.Contains(out, "shown only now") || strings.Contains(out, "previous secret until") {
		t.Fatalf("rotate now (text): %d %s", code, out)
	}

	// delete revokes its tokens through the log and removes it.
	out, code, _ = run(ctx, t, "clients", "delete", created.ClientID)
	if code != 0 || !strings.Contains(out, "deleted "+created.ClientID) {
		t.Fatalf("delete: %d %s", code, out)
	}
	if _, err := st.GetClient(ctx, created.ClientID); err == nil {
		t.Fatal("deleted client still stored")
	}
	revs, err := st.ListRevocations(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, r := range revs {
		if r.Key == created.ClientID {
			kinds[r.Kind] = true
		}
	}
	if !kinds[store.RevokeClient] || !kinds[store.RevokeClientChange] {
		t.Fatalf("revocation log entries of the client: %v", kinds)
	}
	events, err := st.ListAuditEvents(ctx, store.AuditFilter{ActorID: "cli"}, store.Page{})
	if err != nil || len(events) != 5 { // 2 created, 2 rotated, 1 deleted
		t.Fatalf("audit events by the cli: %d %v", len(events), err)
	}

	// Bad input exits 2 naming the flag; unknown clients and refusals exit 1.
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"create", "--name", "x", "--type", "public", "--grant-types", "client_credentials"}, "--grant-types"},
		{[]string{"create", "--name", "x", "--type", "private"}, "--type"},
		{[]string{"create", "--name", "x", "--type", "confidential", "--scopes", "contacts:read"}, "--scopes"},
		{[]string{"create", "--name", "x", "--type", "confidential", "--org", "nope"}, "--org"},
		{[]string{"create", "--name", "x", "--type", "confidential", "--mode", "test"}, "--mode"},
		{[]string{"rotate-secret", "introspection", "--expires-at", "tomorrow"}, "--expires-at"},
		{[]string{"rotate-secret", "introspection", "--expires-at", time.Now().Add(40 * 24 * time.Hour).UTC().Format(time.RFC3339)}, "--expires-at"},
	} {
		_, code, err := run(ctx, t, append([]string{"clients"}, tc.args...)...)
		if code != exitConfig || err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%v: %d %v, want exit 2 naming %s", tc.args, code, err, tc.flag)
		}
	}
	for _, args := range [][]string{{"get", "nope"}, {"delete", "nope"}, {"rotate-secret", "nope"}, {"delete", "backoffice"}, {"rotate-secret", "selfservice"}} {
		if _, code, err := run(ctx, t, append([]string{"clients"}, args...)...); code != exitError || err == nil {
			t.Errorf("%v: %d %v, want exit 1", args, code, err)
		}
	}
}

// openStore opens the test database the CLI uses.
func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	cfg := config.Default()
	cfg.Database.DSN = "sqlite://" + dir + "/authd.db"
	st, err := app.OpenStore(context.Background(), &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestClientsCLIUpdateAndList: update changes only what its flags name,
// under create's rules (exit 2 naming the flag, nothing changed); list
// prints every client across pages, or the page asked for.
func TestClientsCLIUpdateAndList(t *testing.T) {
	dir := useTempDB(t)
	ctx := context.Background()
	if out, code, err := run(ctx, t, "bootstrap", "--json"); code != 0 {
		t.Fatalf("bootstrap: %d %v %s", code, err, out)
	}
	out, code, err := run(ctx, t, "clients", "create", "--name", "svc", "--type", "confidential", "--grant-types", "client_credentials,password",
		"--scopes", "tokens:introspect", "--access-token-ttl", "10m", "--json")
	if code != 0 {
		t.Fatalf("create: %d %v %s", code, err, out)
	}
	var created struct {
		ClientID       string `json:"client_id"`
		AccessTokenTTL int64  `json:"access_token_ttl"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.AccessTokenTTL != 600 {
		t.Fatalf("created %q: %v", out, err)
	}
	st := openStore(t, dir)
	before, _ := st.GetClient(ctx, created.ClientID)

	out, code, err = run(ctx, t, "clients", "update", created.ClientID, "--name", "svc v2", "--scopes", "",
		"--access-token-ttl", "120", "--refresh-token-ttl", "12h", "--refresh-token-idle-ttl", "30m", "--json")
	if code != 0 {
		t.Fatalf("update: %d %v %s", code, err, out)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || got["name"] != "svc v2" || got["access_token_ttl"] != float64(120) ||
		got["refresh_token_ttl"] != float64(12*3600) || got["refresh_token_idle_ttl"] != float64(1800) || got["client_secret"] != nil {
		t.Fatalf("updated %s (%v)", out, err)
	}
	c, _ := st.GetClient(ctx, created.ClientID)
	if c.Name != "svc v2" || len(c.Scopes) != 0 || !slices.Equal(c.GrantTypes, before.GrantTypes) || c.SecretHash != before.SecretHash ||
		c.AccessTokenTTL != 2*time.Minute || c.RefreshTokenTTL != 12*time.Hour || c.RefreshIdleTTL != 30*time.Minute {
		t.Fatalf("stored after update: %+v", c)
	}
	// Back to the default; the text form says so.
	out, code, _ = run(ctx, t, "clients", "update", created.ClientID, "--access-token-ttl", "default", "--refresh-token-ttl", "0", "--refresh-token-idle-ttl", "0")
	if code != 0 || !strings.Contains(out, "lifetimes:") || !strings.Contains(out, "default") {
		t.Fatalf("update to defaults: %d %s", code, out)
	}
	if c, _ := st.GetClient(ctx, created.ClientID); c.AccessTokenTTL != 0 || c.RefreshTokenTTL != 0 {
		t.Fatalf("stored after the reset: %+v", c)
	}
	// Every update is audited and written to the log.
	events, err := st.ListAuditEvents(ctx, store.AuditFilter{Action: "client.updated"}, store.Page{})
	if err != nil || len(events) != 2 {
		t.Fatalf("audit of updates: %d %v", len(events), err)
	}

	// Refused: exit 2 naming the flag; nothing changes.
	before, _ = st.GetClient(ctx, created.ClientID)
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--grant-types", "implicit"}, "--grant-types"},
		{[]string{"--access-token-ttl", "30s"}, "--access-token-ttl"},
		{[]string{"--access-token-ttl", "25h"}, "--access-token-ttl"},
		{[]string{"--access-token-ttl", "soon"}, "--access-token-ttl"},
		{[]string{"--refresh-token-ttl", "1h", "--refresh-token-idle-ttl", "2h"}, "--refresh-token-idle-ttl"},
		{[]string{"--name", ""}, "--name"},
		{nil, "--name"}, // nothing to change
	} {
		_, code, err := run(ctx, t, append([]string{"clients", "update", created.ClientID}, tc.args...)...)
		if code != exitConfig || err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("update %v: %d %v, want exit 2 naming %s", tc.args, code, err, tc.flag)
		}
	}
	if after, _ := st.GetClient(ctx, created.ClientID); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused updates changed the client:\n%+v\n%+v", before, after)
	}
	if _, code, err := run(ctx, t, "clients", "update", "nope", "--name", "x"); code != exitError || err == nil {
		t.Errorf("update of an unknown client: %d %v", code, err)
	}

	// list pages through everything: more clients than one page holds.
	for i := range 105 {
		if _, code, err := run(ctx, t, "clients", "create", "--name", "bulk", "--type", "confidential", "--json"); code != 0 {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	out, code, _ = run(ctx, t, "clients", "list", "--json")
	var all []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &all) != nil || len(all) != 3+1+105 {
		t.Fatalf("list --json: %d clients (exit %d)", len(all), code)
	}
	ids := map[string]bool{}
	for _, c := range all {
		ids[c["client_id"].(string)] = true
	}
	if len(ids) != len(all) {
		t.Fatalf("list repeats clients: %d distinct of %d", len(ids), len(all))
	}
	out, code, _ = run(ctx, t, "clients", "list", "--page", "2", "--size", "5", "--json")
	var page []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &page) != nil || len(page) != 5 || page[0]["client_id"] != all[5]["client_id"] {
		t.Fatalf("list --page 2 --size 5: %s", out)
	}
	if _, code, _ := run(ctx, t, "clients", "list", "--size", "0"); code != exitConfig {
		t.Fatalf("list --size 0: exit %d", code)
	}
}
