package main

import (
	"context"
	"encoding/json"
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
