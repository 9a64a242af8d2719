package app_test

import (
	"net/http"
	"testing"

	"github.com/authd/authd/internal/config"
)

// TestConfiguredScopes: the deployment's own scopes join the catalogue:
// listed with the key types that may hold them, granted on creation,
// refused on a key type that may not hold them; an unknown scope is 422
// naming it.
func TestConfiguredScopes(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.APIKeys.Scopes = []config.APIKeyScope{
		{Name: "purchases:write", Description: "Record purchase events."},
		{Name: "passes:read", Description: "Read passes.", KeyTypes: []string{"public", "secret"}},
	}
	s := newTestServer(t, cfg)
	tok := akAdmin(t, s, "live")
	r := akDo(t, s, "GET", "/backoffice/v1/api-keys/scopes", akBearer(tok), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("scopes: %d %s", r.Status, r.Raw)
	}
	types := map[string]int{}
	for _, sc := range r.Body["scopes"].([]any) {
		m := sc.(map[string]any)
		types[m["name"].(string)] = len(m["key_types"].([]any))
	}
	if types["contacts:register"] != 2 || types["contacts:read"] != 1 || types["purchases:write"] != 1 || types["passes:read"] != 2 {
		t.Fatalf("catalogue %v", types)
	}
	if r := akDo(t, s, "GET", "/backoffice/v1/api-keys/scopes", akKey(s.Boot.APIKeys["live"].Public), nil); r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
		t.Fatalf("a public key read the catalogue: %d", r.Status)
	}
	k := akCreate(t, s, tok, map[string]any{"type": "secret", "name": "shop", "scopes": []string{"purchases:write", "contacts:read"}})
	if sc := k["scopes"].([]any); len(sc) != 2 || sc[0] != "purchases:write" {
		t.Fatalf("created %v", k)
	}
	akCreate(t, s, tok, map[string]any{"type": "public", "name": "widget", "scopes": []string{"passes:read"}})
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"type": "public", "name": "w", "scopes": []string{"purchases:write"}}, "scopes[0]"},
		{map[string]any{"type": "secret", "name": "x", "scopes": []string{"contacts:read", "purchases:delete"}}, "scopes[1]"},
	} {
		r := akDo(t, s, "POST", "/backoffice/v1/api-keys", akBearer(tok), tc.body)
		if r.Status != http.StatusUnprocessableEntity || r.Body["field"] != tc.field {
			t.Fatalf("%v: %d %s", tc.body, r.Status, r.Raw)
		}
	}
}
