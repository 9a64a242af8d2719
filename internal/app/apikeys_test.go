package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/bootstrap"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// API keys end to end: the back-office API, the one verifier behind the
// api_key header, introspection and forward-auth, over real HTTP.

// akUserToken mints a user access token acting for org in mode.
func akUserToken(t testing.TB, s *testServer, userID, org, mode string) string {
	t.Helper()
	now := time.Now()
	tok, err := s.App.Tokens.Issue(token.Claims{
		Kind: token.KindUser, Subject: userID, Org: org, Mode: mode, ClientID: bootstrap.ClientBackoffice,
		Audience: token.Audience{s.App.Config.Issuer}, ExpiresAt: now.Add(15 * time.Minute).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// akAdmin is the bootstrap admin (owner of the service owner, so owner of
// the business) acting for the bootstrap business.
func akAdmin(t testing.TB, s *testServer, mode string) string {
	return akUserToken(t, s, s.Boot.Admin.ID, s.Boot.Business.ID, mode)
}

type akResp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// akDo sends a request; headers holds "Authorization"/"api_key"/...;
// body (if any) is sent as JSON.
func akDo(t testing.TB, s *testServer, method, path string, headers map[string]string, body any) akResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := akResp{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: non-JSON %q", method, path, raw)
		}
	}
	return r
}

func akBearer(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}
func akKey(key string) map[string]string { return map[string]string{"api_key": key} }

func akCreate(t testing.TB, s *testServer, tok string, body map[string]any) map[string]any {
	t.Helper()
	r := akDo(t, s, "POST", "/backoffice/v1/api-keys", akBearer(tok), body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create %v: %d %s", body, r.Status, r.Raw)
	}
	return r.Body
}

func akList(t testing.TB, s *testServer, headers map[string]string) []map[string]any {
	t.Helper()
	r := akDo(t, s, "GET", "/backoffice/v1/api-keys", headers, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Raw)
	}
	var out []map[string]any
	for _, k := range r.Body["api_keys"].([]any) {
		out = append(out, k.(map[string]any))
	}
	return out
}

func akFind(list []map[string]any, id string) map[string]any {
	for _, k := range list {
		if k["id"] == id {
			return k
		}
	}
	return nil
}

// akActive introspects key (with hint) and reports active.
func akActive(t testing.TB, s *testServer, key, hint string) bool {
	t.Helper()
	m := s.introspect(t, key, hint)
	return m["active"] == true
}

func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.APIKeys.LastUsedFlush = 50 * time.Millisecond
	s := newTestServer(t, cfg)
	tok := akAdmin(t, s, "live")

	// Create: the full key appears once, in the 201.
	created := akCreate(t, s, tok, map[string]any{"type": "secret", "name": "CRM server", "scopes": []string{"contacts:read", "contacts:write"}})
	key, id := created["key"].(string), created["id"].(string)
	if !apikey.Pattern.MatchString(key) || !strings.HasPrefix(key, "sk_live_") || created["mode"] != "live" ||
		created["organisation_id"] != s.Boot.Business.ID || created["status"] != "active" || created["rolled_from"] != nil {
		t.Fatalf("created %v", created)
	}

	// Verify: introspection and forward-auth through the same verifier.
	if !akActive(t, s, key, "api_key") {
		t.Fatal("new key inactive")
	}
	if r := akDo(t, s, "GET", "/forward-auth", akKey(key), nil); r.Status != 200 || r.Header.Get("X-Authd-Subject") != id {
		t.Fatalf("forward-auth: %d %v", r.Status, r.Header)
	}

	// List: secret keys masked, public keys shown again.
	list := akList(t, s, akBearer(tok))
	got := akFind(list, id)
	if got == nil || got["key"] != nil || got["masked"] != "sk_live_********"+key[len(key)-4:] || got["last4"] != key[len(key)-4:] {
		t.Fatalf("listed secret key %v", got)
	}
	if strings.Contains(akDo(t, s, "GET", "/backoffice/v1/api-keys", akBearer(tok), nil).Raw, key[8:]) {
		t.Fatal("the listing contains the secret key")
	}
	var pub map[string]any
	for _, k := range list {
		if k["type"] == "public" {
			pub = k
		}
	}
	if pub == nil || pub["key"] != s.Boot.APIKeys["live"].Public {
		t.Fatalf("bootstrap public key not revealed: %v", pub)
	}
	if r := akDo(t, s, "GET", "/backoffice/v1/api-keys/"+id, akBearer(tok), nil); r.Status != 200 || r.Body["key"] != nil || r.Body["name"] != "CRM server" {
		t.Fatalf("get: %d %s", r.Status, r.Raw)
	}
	// last_used_at is written in batches, off the request path.
	eventually := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, d)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	eventually("last_used_at recorded", 3*time.Second, func() bool {
		r := akDo(t, s, "GET", "/backoffice/v1/api-keys/"+id, akBearer(tok), nil)
		return r.Body["last_used_at"] != nil
	})

	// Roll with an overlap: both keys verify until the old one expires.
	until := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	r := akDo(t, s, "POST", "/backoffice/v1/api-keys/"+id+"/roll", akBearer(tok), map[string]any{"expires_at": until.Format(time.RFC3339)})
	if r.Status != http.StatusCreated {
		t.Fatalf("roll: %d %s", r.Status, r.Raw)
	}
	key2, id2 := r.Body["key"].(string), r.Body["id"].(string)
	old := r.Body["old_key"].(map[string]any)
	if r.Body["rolled_from"] != id || r.Body["name"] != "CRM server" || !strings.HasPrefix(key2, "sk_live_") ||
		!slices.Equal(toStrings(r.Body["scopes"]), []string{"contacts:read", "contacts:write"}) ||
		old["id"] != id || old["expires_at"] != until.Format(time.RFC3339) || old["key"] != nil {
		t.Fatalf("rolled: %s", r.Raw)
	}
	if !akActive(t, s, key, "api_key") || !akActive(t, s, key2, "api_key") {
		t.Fatal("during the overlap both keys must verify")
	}
	m := s.introspect(t, key, "api_key")
	if m["exp"] != float64(until.Unix()) {
		t.Fatalf("old key's exp %v, want %d", m["exp"], until.Unix())
	}
	eventually("old key expires", 5*time.Second, func() bool { return !akActive(t, s, key, "api_key") })
	if !akActive(t, s, key2, "api_key") {
		t.Fatal("the new key stopped with the old one")
	}
	if r := akDo(t, s, "GET", "/backoffice/v1/api-keys/"+id, akBearer(tok), nil); r.Body["status"] != "expired" {
		t.Fatalf("old key status %v", r.Body["status"])
	}

	// An unreadable expiry is refused and changes nothing.
	if r := akDo(t, s, "POST", "/backoffice/v1/api-keys/"+id2+"/roll", akBearer(tok), map[string]any{"expires_at": "tomorrow"}); r.Status != 422 || r.Body["field"] != "expires_at" {
		t.Fatalf("roll with expires_at tomorrow: %d %s", r.Status, r.Raw)
	}
	if !akActive(t, s, key2, "api_key") {
		t.Fatal("a refused roll stopped the key")
	}

	// Roll the new key now: a readable chain.
	r = akDo(t, s, "POST", "/backoffice/v1/api-keys/"+id2+"/roll", akBearer(tok), map[string]any{"expires_at": "now"})
	if r.Status != http.StatusCreated || r.Body["rolled_from"] != id2 {
		t.Fatalf("second roll: %d %s", r.Status, r.Raw)
	}
	key3, id3 := r.Body["key"].(string), r.Body["id"].(string)
	if akActive(t, s, key2, "api_key") || !akActive(t, s, key3, "api_key") {
		t.Fatal("roll with expires_at now: the old key must stop at once, the new one work")
	}
	if r := akDo(t, s, "POST", "/backoffice/v1/api-keys/"+id2+"/roll", akBearer(tok), nil); r.Status != http.StatusConflict || r.Body["code"] != "CONFLICT" {
		t.Fatalf("rolling an expired key: %d %s", r.Status, r.Raw)
	}

	// Revoke: gone at once.
	if r := akDo(t, s, "DELETE", "/backoffice/v1/api-keys/"+id3, akBearer(tok), nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	if akActive(t, s, key3, "api_key") {
		t.Fatal("revoked key still active")
	}
	if r := akDo(t, s, "GET", "/forward-auth", akKey(key3), nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("forward-auth with a revoked key: %d", r.Status)
	}
	if r := akDo(t, s, "GET", "/backoffice/v1/api-keys/"+id3, akBearer(tok), nil); r.Body["status"] != "revoked" || r.Body["revoked_at"] == nil {
		t.Fatalf("revoked key reads %s", r.Raw)
	}
	if r := akDo(t, s, "DELETE", "/backoffice/v1/api-keys/"+id3, akBearer(tok), nil); r.Status != http.StatusNoContent {
		t.Fatalf("second revoke: %d", r.Status)
	}

	// Every change is in the audit trail.
	events, err := s.App.Store.ListAuditEvents(context.Background(), store.AuditFilter{OrganisationIDs: []string{s.Boot.Business.ID}}, store.Page{Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range events {
		if e.TargetKind == store.KindAPIKey {
			count[e.Action]++
			if e.Action != audit.APIKeyRejected && e.ActorID != s.Boot.Admin.ID {
				t.Errorf("event %s by %q", e.Action, e.ActorID)
			}
		}
		for _, v := range e.Details {
			for _, k := range []string{key, key2, key3} {
				if strings.Contains(v, k[8:]) {
					t.Fatalf("audit event %s holds a key", e.Action)
				}
			}
		}
	}
	if count[audit.APIKeyCreated] != 1 || count[audit.APIKeyRolled] != 2 || count[audit.APIKeyRevoked] != 1 {
		t.Fatalf("audit events %v", count)
	}
	eventually("use of a revoked key audited", 3*time.Second, func() bool {
		evs, _ := s.App.Store.ListAuditEvents(context.Background(), store.AuditFilter{Action: audit.APIKeyRejected}, store.Page{})
		return len(evs) > 0
	})
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestAPIKeyChecksumTyposRefusedWithoutLookup(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	key := s.Boot.APIKeys["live"].Secret
	if !akActive(t, s, key, "api_key") {
		t.Fatal("bootstrap key inactive")
	}
	before := s.App.KeyVerifier.Stats().Lookups
	for _, i := range []int{8, 20, len(key) - 1} {
		b := []byte(key)
		b[i] = map[bool]byte{true: 'a', false: 'b'}[b[i] != 'a']
		typo := string(b)
		m := s.introspect(t, typo, "api_key")
		if len(m) != 1 || m["active"] != false {
			t.Fatalf("typo introspected as %v", m)
		}
		if r := akDo(t, s, "GET", "/forward-auth", akKey(typo), nil); r.Status != 401 || r.Body["code"] != "INVALID_API_KEY" {
			t.Fatalf("typo at forward-auth: %d %s", r.Status, r.Raw)
		}
		if r := akDo(t, s, "GET", "/backoffice/v1/api-keys", akKey(typo), nil); r.Status != 401 || r.Body["code"] != "INVALID_API_KEY" {
			t.Fatalf("typo on an api_key endpoint: %d %s", r.Status, r.Raw)
		}
	}
	if got := s.App.KeyVerifier.Stats().Lookups; got != before {
		t.Fatalf("typos caused %d database look-ups", got-before)
	}
}

func TestAPIKeyScopes(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	tok := akAdmin(t, s, "live")
	narrow := akCreate(t, s, tok, map[string]any{"type": "secret", "name": "narrow", "scopes": []string{"contacts:read"}})
	reader := akCreate(t, s, tok, map[string]any{"type": "secret", "name": "reader", "scopes": []string{"api_keys:read"}})

	// An endpoint declares the scope it needs.
	r := akDo(t, s, "GET", "/backoffice/v1/api-keys", akKey(narrow["key"].(string)), nil)
	if r.Status != http.StatusForbidden || r.Body["code"] != "INSUFFICIENT_SCOPE" {
		t.Fatalf("key without api_keys:read: %d %s", r.Status, r.Raw)
	}
	r = akDo(t, s, "GET", "/backoffice/v1/api-keys", akKey(s.Boot.APIKeys["live"].Public), nil)
	if r.Status != http.StatusForbidden || r.Body["code"] != "INSUFFICIENT_SCOPE" {
		t.Fatalf("public key: %d %s", r.Status, r.Raw)
	}
	for _, k := range []string{reader["key"].(string), s.Boot.APIKeys["live"].Secret /* "*" */} {
		list := akList(t, s, akKey(k))
		if got := akFind(list, narrow["id"].(string)); got == nil || got["key"] != nil {
			t.Fatalf("secret-key listing: %v", got)
		}
	}
	// Keys never manage keys.
	if r := akDo(t, s, "POST", "/backoffice/v1/api-keys", akKey(s.Boot.APIKeys["live"].Secret), map[string]any{"type": "secret", "name": "x", "scopes": []string{"*"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("a key created a key: %d %s", r.Status, r.Raw)
	}

	// Scopes are checked against the catalogue at creation.
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"type": "public", "name": "x", "scopes": []string{"contacts:register", "contacts:read"}}, "scopes[1]"},
		{map[string]any{"type": "public", "name": "x", "scopes": []string{"*"}}, "scopes[0]"},
		{map[string]any{"type": "secret", "name": "x", "scopes": []string{"contacts:nuke"}}, "scopes[0]"},
		{map[string]any{"type": "secret", "name": "x", "scopes": []string{}}, "scopes"},
		{map[string]any{"type": "private", "name": "x", "scopes": []string{"*"}}, "type"},
		{map[string]any{"type": "secret", "name": "", "scopes": []string{"*"}}, "name"},
	} {
		r := akDo(t, s, "POST", "/backoffice/v1/api-keys", akBearer(tok), tc.body)
		if r.Status != http.StatusUnprocessableEntity || r.Body["code"] != "VALIDATION_FAILED" || r.Body["field"] != tc.field {
			t.Fatalf("create %v: %d %s", tc.body, r.Status, r.Raw)
		}
	}
	if r := akDo(t, s, "POST", "/backoffice/v1/api-keys", akBearer(tok), map[string]any{"type": "secret", "name": "x", "scopes": []string{"*"}, "mode": "test"}); r.Status != http.StatusUnprocessableEntity || r.Body["field"] != "mode" {
		t.Fatalf("mode in the body: %d %s", r.Status, r.Raw)
	}
	pk := akCreate(t, s, tok, map[string]any{"type": "public", "name": "widget", "scopes": []string{"contacts:register", "otp:send"}})
	if !strings.HasPrefix(pk["key"].(string), "pk_live_") {
		t.Fatalf("public key %v", pk["key"])
	}
}

func TestAPIKeyModeIsolation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	live, test := akAdmin(t, s, "live"), akAdmin(t, s, "test")
	lk := akCreate(t, s, live, map[string]any{"type": "secret", "name": "live", "scopes": []string{"*"}})
	tk := akCreate(t, s, test, map[string]any{"type": "secret", "name": "test", "scopes": []string{"api_keys:read"}})
	if !strings.HasPrefix(tk["key"].(string), "sk_test_") || tk["mode"] != "test" {
		t.Fatalf("key created with a test token: %v", tk)
	}
	for _, k := range akList(t, s, akBearer(test)) {
		if k["mode"] != "test" {
			t.Fatalf("test mode lists a %v key", k["mode"])
		}
	}
	for _, k := range akList(t, s, akKey(tk["key"].(string))) {
		if k["mode"] != "test" {
			t.Fatalf("a test key lists a %v key", k["mode"])
		}
	}
	lid := lk["id"].(string)
	for _, req := range []struct{ method, path string }{
		{"GET", "/backoffice/v1/api-keys/" + lid},
		{"POST", "/backoffice/v1/api-keys/" + lid + "/roll"},
		{"DELETE", "/backoffice/v1/api-keys/" + lid},
	} {
		if r := akDo(t, s, req.method, req.path, akBearer(test), nil); r.Status != http.StatusNotFound {
			t.Fatalf("%s %s with a test token: %d %s", req.method, req.path, r.Status, r.Raw)
		}
	}
	if !akActive(t, s, lk["key"].(string), "api_key") {
		t.Fatal("the live key was changed from test mode")
	}
	m := s.introspect(t, tk["key"].(string), "api_key")
	if m["mode"] != "test" || m["org"] != s.Boot.Business.ID {
		t.Fatalf("test key introspected as %v", m)
	}
}

func TestAPIKeyCrossOrganisationIsolation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	ctx := context.Background()
	st := s.App.Store
	now := time.Now().UTC()
	// A second business with its own owner, and a member of the first.
	bizB := "biz-b-" + now.Format("150405.000000")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateOrganisation(ctx, store.Organisation{ID: bizB, Name: "B", Type: store.OrgTypeBusiness, ParentID: s.Boot.ServiceOwner.ID, CreatedAt: now}))
	for _, u := range []struct{ id, org, role string }{{"bob", bizB, "owner"}, {"mia", s.Boot.Business.ID, "member"}} {
		must(st.CreateUser(ctx, store.User{ID: u.id, Email: u.id + "@example.test", CreatedAt: now, UpdatedAt: now}))
		must(st.CreateMembership(ctx, store.Membership{UserID: u.id, OrganisationID: u.org, Role: u.role, CreatedAt: now}))
	}
	adminA := akAdmin(t, s, "live")
	keyA := akCreate(t, s, adminA, map[string]any{"type": "secret", "name": "A's", "scopes": []string{"*"}})
	idA := keyA["id"].(string)

	bobB := akUserToken(t, s, "bob", bizB, "live")
	keyB := akCreate(t, s, bobB, map[string]any{"type": "secret", "name": "B's", "scopes": []string{"api_keys:read"}})
	if keyB["organisation_id"] != bizB {
		t.Fatalf("bob's key belongs to %v", keyB["organisation_id"])
	}
	if akFind(akList(t, s, akBearer(bobB)), idA) != nil {
		t.Fatal("B's owner lists A's key")
	}
	if akFind(akList(t, s, akKey(keyB["key"].(string))), idA) != nil {
		t.Fatal("B's secret key lists A's key")
	}
	for _, req := range []struct{ method, path string }{
		{"GET", "/backoffice/v1/api-keys/" + idA},
		{"POST", "/backoffice/v1/api-keys/" + idA + "/roll"},
		{"DELETE", "/backoffice/v1/api-keys/" + idA},
	} {
		if r := akDo(t, s, req.method, req.path, akBearer(bobB), nil); r.Status != http.StatusNotFound {
			t.Fatalf("B's owner %s A's key: %d %s", req.method, r.Status, r.Raw)
		}
		if r := akDo(t, s, req.method, req.path, akKey(keyB["key"].(string)), nil); r.Status/100 != 4 {
			t.Fatalf("B's key %s A's key: %d", req.method, r.Status)
		}
	}
	// A token claiming A's organisation for a user without rights there
	// (authd never issues one): every verification re-checks the user's
	// rights, so the token itself is refused.
	bobAsA := akUserToken(t, s, "bob", s.Boot.Business.ID, "live")
	if r := akDo(t, s, "GET", "/backoffice/v1/api-keys", akBearer(bobAsA), nil); r.Status != http.StatusUnauthorized || r.Body["code"] != "INVALID_TOKEN" {
		t.Fatalf("bob acting for A: %d %s", r.Status, r.Raw)
	}
	// A member may not manage keys; contact and client tokens neither.
	mia := akUserToken(t, s, "mia", s.Boot.Business.ID, "live")
	if r := akDo(t, s, "POST", "/backoffice/v1/api-keys", akBearer(mia), map[string]any{"type": "secret", "name": "x", "scopes": []string{"*"}}); r.Status != http.StatusForbidden || r.Body["code"] != "FORBIDDEN" {
		t.Fatalf("member creates: %d %s", r.Status, r.Raw)
	}
	contact, _ := s.App.Tokens.Issue(token.Claims{Kind: token.KindContact, Subject: "c1", Org: s.Boot.Business.ID, Mode: "live", ExpiresAt: time.Now().Add(time.Minute).Unix()})
	if r := akDo(t, s, "GET", "/backoffice/v1/api-keys", akBearer(contact), nil); r.Status != http.StatusForbidden {
		t.Fatalf("contact lists keys: %d", r.Status)
	}
	if r := akDo(t, s, "GET", "/backoffice/v1/api-keys", nil, nil); r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no credentials: %d %v", r.Status, r.Header)
	}
	if !akActive(t, s, keyA["key"].(string), "api_key") {
		t.Fatal("A's key was changed by B")
	}
	m := s.introspect(t, keyA["key"].(string), "")
	if m["org"] != s.Boot.Business.ID {
		t.Fatalf("A's key acts for %v", m["org"])
	}
}

func TestAPIKeyIntrospection(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	tok := akAdmin(t, s, "live")
	k := akCreate(t, s, tok, map[string]any{"type": "secret", "name": "i", "scopes": []string{"contacts:read", "otp:send"}})
	key := k["key"].(string)
	for _, hint := range []string{"api_key", "", "access_token", "refresh_token", "bogus"} {
		m := s.introspect(t, key, hint)
		if m["active"] != true || m["token_type"] != "api_key" || m["org"] != s.Boot.Business.ID || m["mode"] != "live" ||
			m["scope"] != "contacts:read otp:send" || m["key_id"] != k["id"] {
			t.Fatalf("hint %q: %v", hint, m)
		}
		if _, ok := m["client_id"]; ok {
			t.Fatalf("hint %q: client_id present: %v", hint, m)
		}
		if _, ok := m["exp"]; ok {
			t.Fatalf("a key without expiry has exp: %v", m)
		}
	}
	// Inactive answers never say why.
	revoked := akCreate(t, s, tok, map[string]any{"type": "secret", "name": "r", "scopes": []string{"*"}})
	akDo(t, s, "DELETE", "/backoffice/v1/api-keys/"+revoked["id"].(string), akBearer(tok), nil)
	expired := akCreate(t, s, tok, map[string]any{"type": "public", "name": "e", "scopes": []string{"otp:send"}})
	akDo(t, s, "POST", "/backoffice/v1/api-keys/"+expired["id"].(string)+"/roll", akBearer(tok), map[string]any{"expires_at": "now"})
	unknown, _ := apikey.Generate(store.APIKeySecret, store.ModeLive)
	typo := mistype(key)
	var bodies []string
	for name, k := range map[string]string{"revoked": revoked["key"].(string), "expired": expired["key"].(string),
		"unknown": unknown, "typo": typo, "prefix only": "sk_live_", "wrong mode text": "sk_prod_" + key[8:]} {
		for _, hint := range []string{"api_key", ""} {
			resp, m := s.postForm(t, "/oauth2/introspect", url.Values{"token": {k}, "token_type_hint": {hint}},
				s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret)
			if resp.StatusCode != 200 || len(m) != 1 || m["active"] != false {
				t.Fatalf("%s (hint %q): %d %v", name, hint, resp.StatusCode, m)
			}
			b, _ := json.Marshal(m)
			bodies = append(bodies, string(b))
		}
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("inactive answers differ: %s vs %s", b, bodies[0])
		}
	}
	// Discovery advertises the hint.
	resp, err := http.Get(s.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Hints []string `json:"introspection_token_type_hints_supported"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	if !slices.Contains(doc.Hints, "api_key") {
		t.Fatalf("hints %v", doc.Hints)
	}
}

func TestAPIKeyCacheBound(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.APIKeys.CacheSize = 4
	s := newTestServer(t, cfg)
	tok := akAdmin(t, s, "live")
	var keys []string
	for i := range 12 {
		keys = append(keys, akCreate(t, s, tok, map[string]any{"type": "public", "name": "k" + string(rune('a'+i)), "scopes": []string{"otp:send"}})["key"].(string))
	}
	for _, k := range keys {
		if !akActive(t, s, k, "api_key") {
			t.Fatal("key inactive")
		}
		if n := s.App.KeyVerifier.Stats().Entries; n > 4 {
			t.Fatalf("the verifier caches %d keys, bound 4", n)
		}
	}
	if n := s.App.KeyVerifier.Stats().Entries; n == 0 {
		t.Fatal("nothing cached: the bound test proves nothing")
	}
}

func TestAPIKeyRateLimit(t *testing.T) {
	s := newTestServer(t, nil)
	tok := akAdmin(t, s, "live")
	k := akCreate(t, s, tok, map[string]any{"type": "secret", "name": "slow", "scopes": []string{"*"}, "rate_limit": 1})
	if r := akDo(t, s, "GET", "/forward-auth", akKey(k["key"].(string)), nil); r.Status != http.StatusOK {
		t.Fatalf("first request: %d %s", r.Status, r.Raw)
	}
	last := akDo(t, s, "GET", "/forward-auth", akKey(k["key"].(string)), nil)
	if last.Status != http.StatusTooManyRequests || last.Body["code"] != "RATE_LIMITED" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("second request in a second: %d %v %s", last.Status, last.Header, last.Raw)
	}
	if r := akDo(t, s, "GET", "/backoffice/v1/api-keys", akKey(k["key"].(string)), nil); r.Status != http.StatusTooManyRequests {
		t.Fatalf("api_key endpoint over the limit: %d", r.Status)
	}

	// A per-minute limit: two requests a minute, whatever the second holds.
	m := akCreate(t, s, tok, map[string]any{"type": "secret", "name": "minutely", "scopes": []string{"*"}, "rate_limit_per_minute": 2})
	if m["rate_limit_per_minute"] != float64(2) || m["rate_limit"] != float64(0) {
		t.Fatalf("created: %v", m)
	}
	for i := range 2 {
		if r := akDo(t, s, "GET", "/forward-auth", akKey(m["key"].(string)), nil); r.Status != http.StatusOK {
			t.Fatalf("request %d of 2 a minute: %d %s", i+1, r.Status, r.Raw)
		}
	}
	last = akDo(t, s, "GET", "/forward-auth", akKey(m["key"].(string)), nil)
	if last.Status != http.StatusTooManyRequests || last.Body["code"] != "RATE_LIMITED" {
		t.Fatalf("third request in a minute: %d %s", last.Status, last.Raw)
	}
	if ra, _ := strconv.Atoi(last.Header.Get("Retry-After")); ra < 10 {
		t.Fatalf("Retry-After %q: want most of a minute", last.Header.Get("Retry-After"))
	}
	bad := akDo(t, s, "POST", "/backoffice/v1/api-keys", akBearer(tok), map[string]any{"type": "secret", "name": "x", "scopes": []string{"*"}, "rate_limit_per_minute": -5})
	if bad.Status != 422 || bad.Body["field"] != "rate_limit_per_minute" {
		t.Fatalf("negative per-minute limit: %d %s", bad.Status, bad.Raw)
	}
}
