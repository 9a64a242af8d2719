package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/authd/authd/internal/apikey"
)

func TestAPIKeysCLI(t *testing.T) {
	useTempDB(t)
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
	org := boot.Business.ID

	// create prints the key once.
	out, code, err = run(ctx, t, "apikeys", "create", "--org", org, "--name", "ops key", "--scopes", "contacts:read, contacts:write",
		"--rate-limit", "50", "--rate-limit-per-minute", "1200", "--json")
	if code != 0 {
		t.Fatalf("create: %d %v %s", code, err, out)
	}
	var created struct {
		ID, Key, Type, Mode, Masked string
		Scopes                      []string
		RateLimit                   int `json:"rate_limit"`
		RateLimitPerMinute          int `json:"rate_limit_per_minute"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("create output %q: %v", out, err)
	}
	if created.RateLimit != 50 || created.RateLimitPerMinute != 1200 {
		t.Fatalf("limits %d/s %d/min", created.RateLimit, created.RateLimitPerMinute)
	}
	if !apikey.Pattern.MatchString(created.Key) || !strings.HasPrefix(created.Key, "sk_live_") || len(created.Scopes) != 2 {
		t.Fatalf("created %+v", created)
	}
	out, code, _ = run(ctx, t, "apikeys", "create", "--org", org, "--mode", "test", "--type", "public", "--name", "widget", "--scopes", "otp:send")
	if code != 0 || !strings.Contains(out, "pk_test_") || strings.Contains(out, "shown only now") {
		t.Fatalf("create public (text): %d %s", code, out)
	}

	// list masks every key, public ones included (the CLI never prints a
	// key it did not just create).
	out, code, _ = run(ctx, t, "apikeys", "list", "--org", org)
	if code != 0 || !strings.Contains(out, created.ID) || !strings.Contains(out, created.Masked) || strings.Contains(out, created.Key) {
		t.Fatalf("list: %d %s", code, out)
	}
	if strings.Count(out, "\n") != 1+4+2 { // header, 4 bootstrap keys, 2 new
		t.Fatalf("list has %d lines:\n%s", strings.Count(out, "\n"), out)
	}
	out, _, _ = run(ctx, t, "apikeys", "list", "--org", org, "--mode", "test", "--json")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 3 {
		t.Fatalf("test-mode list: %v %s", err, out)
	}
	for _, k := range listed {
		if k["mode"] != "test" || k["key"] != nil {
			t.Fatalf("listed %v", k)
		}
	}

	// roll prints the new key and chains it.
	out, code, err = run(ctx, t, "apikeys", "roll", created.ID, "--json")
	if code != 0 {
		t.Fatalf("roll: %d %v %s", code, err, out)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(out), &raw)
	if raw["rolled_from"] != created.ID || !strings.HasPrefix(raw["key"].(string), "sk_live_") || raw["key"] == created.Key ||
		raw["old_key"].(map[string]any)["status"] != "expired" {
		t.Fatalf("rolled %s", out)
	}

	// revoke.
	newID := raw["id"].(string)
	out, code, _ = run(ctx, t, "apikeys", "revoke", newID)
	if code != 0 || !strings.Contains(out, "revoked "+newID) {
		t.Fatalf("revoke: %d %s", code, out)
	}
	out, _, _ = run(ctx, t, "apikeys", "list", "--org", org, "--json")
	for _, k := range decodeList(t, out) {
		if k["id"] == newID && k["status"] != "revoked" {
			t.Fatalf("after revoke: %v", k)
		}
	}

	// Bad input exits 2 and names the flag; unknown keys exit 1.
	_, code, err = run(ctx, t, "apikeys", "create", "--org", org, "--name", "x", "--type", "public", "--scopes", "contacts:read")
	if code != exitConfig || err == nil || !strings.Contains(err.Error(), "--scopes") {
		t.Fatalf("public key with a secret scope: %d %v", code, err)
	}
	_, code, err = run(ctx, t, "apikeys", "create", "--org", org, "--name", "x", "--scopes", "*", "--rate-limit-per-minute", "-1")
	if code != exitConfig || err == nil || !strings.Contains(err.Error(), "--rate-limit-per-minute") {
		t.Fatalf("negative per-minute limit: %d %v", code, err)
	}
	if _, code, err = run(ctx, t, "apikeys", "list", "--org", org, "--mode", "prod"); code != exitConfig || err == nil || !strings.Contains(err.Error(), "--mode") {
		t.Fatalf("list --mode prod: %d %v", code, err)
	}
	if _, code, _ = run(ctx, t, "apikeys", "revoke", "no-such-key"); code != exitError {
		t.Fatalf("revoke unknown: %d", code)
	}
	if _, code, _ = run(ctx, t, "apikeys", "roll", created.ID, "--expires-at", "tomorrow"); code != exitConfig {
		t.Fatalf("bad --expires-at: %d", code)
	}
}

func decodeList(t *testing.T, out string) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return l
}
