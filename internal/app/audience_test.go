package app_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/authd/authd/internal/oauth"
	"github.com/authd/authd/internal/store"
)

// aud is the audience of an access token s issued.
func aud(t *testing.T, s *testServer, tok string) []string {
	t.Helper()
	c, err := s.App.Tokens.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	return c.Audience
}

// TestAudiences: access tokens carry the audience their client asked for
// among its registered ones (audience= or RFC 8707 resource=), the
// configured default otherwise, and a refresh keeps its sign-in's;
// anything else is invalid_target.
func TestAudiences(t *testing.T) {
	t.Parallel()
	cfg := lenient(testConfig(t))
	cfg.Tokens.DefaultAudience = []string{"https://api.crm.example"}
	s := newTestServer(t, cfg)
	ctx := context.Background()
	secret := "billing-service-secret-0123456789abcdef"
	if err := s.App.Store.CreateClient(ctx, store.Client{ID: "billing-svc", Name: "billing", SecretHash: oauth.HashSecret(secret),
		GrantTypes: []string{oauth.GrantClientCredentials}, Audience: []string{"https://billing.example"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.App.Store.CreateClient(ctx, store.Client{ID: "bo-billing", Name: "back office for billing", Public: true,
		GrantTypes: []string{oauth.GrantPassword, oauth.GrantRefreshToken}, Audience: []string{"https://billing.example"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	cc := func(form url.Values) (int, map[string]any) {
		form.Set("grant_type", "client_credentials")
		resp, m := s.postForm(t, "/oauth2/token", form, "billing-svc", secret)
		return resp.StatusCode, m
	}
	if code, m := cc(url.Values{}); code != 200 || !slices.Equal(aud(t, s, m["access_token"].(string)), []string{"https://api.crm.example"}) {
		t.Fatalf("default audience: %d %v", code, m)
	}
	for _, form := range []url.Values{{"audience": {"https://billing.example"}}, {"resource": {"https://billing.example"}}} {
		if code, m := cc(form); code != 200 || !slices.Equal(aud(t, s, m["access_token"].(string)), []string{"https://billing.example"}) {
			t.Fatalf("registered audience %v: %d %v", form, code, m)
		}
	}
	if code, m := cc(url.Values{"audience": {"https://other.example"}}); code != 400 || m["error"] != "invalid_target" {
		t.Fatalf("unregistered audience: %d %v", code, m)
	}

	// A user's sign-in for the billing resource; its refresh keeps it.
	resp, m := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"bo-billing"},
		"username": {s.Boot.Admin.Email}, "password": {s.Boot.Admin.Password}, "resource": {"https://billing.example"}}, "", "")
	if resp.StatusCode != 200 || !slices.Equal(aud(t, s, m["access_token"].(string)), []string{"https://billing.example"}) {
		t.Fatalf("password grant for a resource: %d %v", resp.StatusCode, m)
	}
	resp, r := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"bo-billing"},
		"refresh_token": {m["refresh_token"].(string)}}, "", "")
	if resp.StatusCode != 200 || !slices.Equal(aud(t, s, r["access_token"].(string)), []string{"https://billing.example"}) {
		t.Fatalf("refresh kept the audience: %d %v", resp.StatusCode, r)
	}
	resp, r = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"bo-billing"},
		"refresh_token": {r["refresh_token"].(string)}, "audience": {"https://billing.example"}}, "", "")
	if resp.StatusCode != 400 || r["error"] != "invalid_target" {
		t.Fatalf("refresh asking for an audience: %d %v", resp.StatusCode, r)
	}
	// Introspection names it.
	if in := s.introspect(t, m["access_token"].(string), ""); in["aud"] == nil {
		t.Fatalf("introspection without aud: %v", in)
	}
	// The CRM sign-in has the default.
	signed := s.signIn(t, s.Boot.Admin.Email, s.Boot.Admin.Password)
	if got := aud(t, s, signed["access_token"].(string)); !slices.Equal(got, []string{"https://api.crm.example"}) {
		t.Fatalf("CRM sign-in audience %v", got)
	}
}
