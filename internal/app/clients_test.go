package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// OAuth clients managed over the back-office API, end to end: registered,
// used, rotated with an overlap, deleted (its tokens stop at once), and
// who may do it.

const clientsPath = "/backoffice/v1/clients"

// ccToken runs the client_credentials grant with HTTP Basic and returns
// the status and the answer.
func ccToken(t testing.TB, s *testServer, id, secret string) (int, map[string]any) {
	t.Helper()
	resp, m := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, id, secret)
	return resp.StatusCode, m
}

// rootAdminToken signs the bootstrap admin (owner of the service owner)
// in: the token acts for the service owner.
func rootAdminToken(t testing.TB, s *testServer) string {
	t.Helper()
	m := s.signIn(t, s.Boot.Admin.Email, s.Boot.Admin.Password)
	if m["current_organisation"].(map[string]any)["id"] != s.Boot.ServiceOwner.ID {
		t.Fatalf("the bootstrap admin acts for %v", m["current_organisation"])
	}
	return m["access_token"].(string)
}

func TestClientLifecycle(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now())
	s := newTestServerWith(t, lenient(testConfig(t)), app.Options{Clock: clk.Now})
	admin := rootAdminToken(t, s)

	// Register a confidential client; its secret appears once.
	r := akDo(t, s, "POST", clientsPath, akBearer(admin), map[string]any{
		"name": "Billing service", "type": "confidential",
		"grant_types": []string{"client_credentials", "password", "refresh_token"},
		"scopes":      []string{"tokens:introspect"}, "audiences": []string{"https://billing.example"},
	})
	if r.Status != http.StatusCreated || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	id, secret := r.Body["client_id"].(string), r.Body["client_secret"].(string)
	if len(secret) != 43 || r.Body["type"] != "confidential" || r.Body["previous_secret_expires_at"] != nil {
		t.Fatalf("created %v", r.Body)
	}

	// The secret gets tokens at once, for the registered audience too.
	code, tok := ccToken(t, s, id, secret)
	if code != 200 {
		t.Fatalf("client_credentials with the new secret: %d %v", code, tok)
	}
	if m := s.introspect(t, tok["access_token"].(string), ""); m["active"] != true || m["client_id"] != id || m["sub"] != id {
		t.Fatalf("introspection of its token: %v", m)
	}
	resp, aud := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "audience": {"https://billing.example"}}, id, secret)
	if resp.StatusCode != 200 {
		t.Fatalf("registered audience: %d %v", resp.StatusCode, aud)
	}
	// Its permission works: it introspects.
	resp, in := s.postForm(t, "/oauth2/introspect", url.Values{"token": {tok["access_token"].(string)}}, id, secret)
	if resp.StatusCode != 200 || in["active"] != true {
		t.Fatalf("introspection by the new client: %d %v", resp.StatusCode, in)
	}

	// Read and list: never a secret.
	r = akDo(t, s, "GET", clientsPath+"/"+id, akBearer(admin), nil)
	if r.Status != 200 || r.Body["client_secret"] != nil || r.Body["name"] != "Billing service" ||
		!slices.Equal(toStrings(r.Body["audiences"]), []string{"https://billing.example"}) {
		t.Fatalf("get: %d %s", r.Status, r.Raw)
	}
	r = akDo(t, s, "GET", clientsPath, akBearer(admin), nil)
	var ids []string
	for _, c := range r.Body["clients"].([]any) {
		c := c.(map[string]any)
		if c["client_secret"] != nil {
			t.Fatalf("a listed client shows a secret: %v", c)
		}
		ids = append(ids, c["client_id"].(string))
	}
	if r.Status != 200 || len(ids) != 4 || !slices.Contains(ids, id) || !slices.Contains(ids, "introspection") {
		t.Fatalf("list: %d %v", r.Status, ids)
	}

	// Rotate with an hour of overlap: both secrets work.
	until := clk.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r = akDo(t, s, "POST", clientsPath+"/"+id+"/rotate-secret", akBearer(admin), map[string]any{"expires_at": until.Format(time.RFC3339)})
	if r.Status != http.StatusCreated || r.Body["client_secret"] == nil || r.Body["previous_secret_expires_at"] != until.Format(time.RFC3339) {
		t.Fatalf("rotate: %d %s", r.Status, r.Raw)
	}
	second := r.Body["client_secret"].(string)
	if second == secret {
		t.Fatal("rotation kept the secret")
	}
	for _, sec := range []string{secret, second} {
		if code, m := ccToken(t, s, id, sec); code != 200 {
			t.Fatalf("during the overlap: %d %v", code, m)
		}
	}
	if code, m := ccToken(t, s, id, "not-the-secret"); code != 401 || m["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %v", code, m)
	}

	// After the old secret's expiry only the new one works.
	clk.Advance(time.Hour + time.Second)
	if code, m := ccToken(t, s, id, secret); code != 401 || m["error"] != "invalid_client" {
		t.Fatalf("old secret after its expiry: %d %v", code, m)
	}
	if code, m := ccToken(t, s, id, second); code != 200 {
		t.Fatalf("new secret after the overlap: %d %v", code, m)
	}
	admin = rootAdminToken(t, s) // the first one expired with the hour
	if r := akDo(t, s, "GET", clientsPath+"/"+id, akBearer(admin), nil); r.Body["previous_secret_expires_at"] != nil {
		t.Fatalf("an ended overlap is still shown: %s", r.Raw)
	}

	// Rotate with no body: the current secret stops now.
	r = akDo(t, s, "POST", clientsPath+"/"+id+"/rotate-secret", akBearer(admin), nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("rotate now: %d %s", r.Status, r.Raw)
	}
	third := r.Body["client_secret"].(string)
	if code, _ := ccToken(t, s, id, second); code != 401 {
		t.Fatalf("the secret rotated \"now\" still works: %d", code)
	}

	// Tokens of every kind issued to it before the delete.
	code, cc := ccToken(t, s, id, third)
	if code != 200 {
		t.Fatalf("client_credentials: %d %v", code, cc)
	}
	resp, pw := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {s.Boot.Admin.Email},
		"password": {s.Boot.Admin.Password}}, id, third)
	if resp.StatusCode != 200 || pw["refresh_token"] == nil {
		t.Fatalf("password grant: %d %v", resp.StatusCode, pw)
	}
	for _, at := range []any{cc["access_token"], pw["access_token"]} {
		if r := akDo(t, s, "GET", "/forward-auth", akBearer(at.(string)), nil); r.Status != 200 {
			t.Fatalf("forward-auth before the delete: %d", r.Status)
		}
	}

	// Delete: everything it holds stops at once.
	if r := akDo(t, s, "DELETE", clientsPath+"/"+id, akBearer(admin), nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	for _, at := range []any{cc["access_token"], pw["access_token"]} {
		if m := s.introspect(t, at.(string), ""); m["active"] != false {
			t.Fatalf("access token of a deleted client: %v", m)
		}
		if r := akDo(t, s, "GET", "/forward-auth", akBearer(at.(string)), nil); r.Status != 401 {
			t.Fatalf("forward-auth of a deleted client's token: %d", r.Status)
		}
	}
	if m := s.introspect(t, pw["refresh_token"].(string), "refresh_token"); m["active"] != false {
		t.Fatalf("refresh token of a deleted client: %v", m)
	}
	if code, m := ccToken(t, s, id, third); code != 401 || m["error"] != "invalid_client" {
		t.Fatalf("secret of a deleted client: %d %v", code, m)
	}
	// Every replica and verifier learns it from the revocation log.
	revoked := false
	for _, e := range feedEntries(t, s) {
		revoked = revoked || (e.Kind == store.RevokeClient && e.Key == id)
	}
	if !revoked {
		t.Fatal("the delete is not in the revocation feed")
	}
	if r := akDo(t, s, "GET", clientsPath+"/"+id, akBearer(admin), nil); r.Status != 404 || r.Body["code"] != "NOT_FOUND" {
		t.Fatalf("get after delete: %d %s", r.Status, r.Raw)
	}
	if r := akDo(t, s, "DELETE", clientsPath+"/"+id, akBearer(admin), nil); r.Status != 404 {
		t.Fatalf("second delete: %d %s", r.Status, r.Raw)
	}

	// Other clients are untouched.
	if code, m := ccToken(t, s, s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret); code != 200 {
		t.Fatalf("bootstrap client after another's delete: %d %v", code, m)
	}

	// The audit trail has every change.
	code, ev, _ := s.call(t, "GET", "/backoffice/v1/audit-events?action=client.secret_rotated", admin, nil)
	if code != 200 || len(ev["events"].([]any)) != 2 {
		t.Fatalf("audit of rotations: %d %v", code, ev)
	}
	for _, action := range []string{"client.created", "client.deleted"} {
		code, ev, _ := s.call(t, "GET", "/backoffice/v1/audit-events?action="+action, admin, nil)
		if code != 200 || len(ev["events"].([]any)) != 1 {
			t.Fatalf("audit of %s: %d %v", action, code, ev)
		}
	}
}

// feedEntry is a revocation feed entry as JSON.
type feedEntry struct {
	Kind string `json:"kind"`
	Key  string `json:"key"`
}

func feedEntries(t testing.TB, s *testServer) []feedEntry {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/oauth2/revocations?since=0", nil)
	req.SetBasicAuth(s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Revocations []feedEntry `json:"revocations"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("feed: %d", resp.StatusCode)
	}
	return out.Revocations
}

// TestBootstrapClientsManaged: bootstrap's clients are ordinary clients:
// listed, read, the introspection client rotated and deleted; the two the
// CRM-style endpoints issue for cannot be deleted, and a public client
// has no secret to rotate.
func TestBootstrapClientsManaged(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, lenient(testConfig(t)))
	admin := rootAdminToken(t, s)
	intro := s.Boot.Clients.Introspection
	r := akDo(t, s, "GET", clientsPath+"/"+intro.ClientID, akBearer(admin), nil)
	if r.Status != 200 || r.Body["type"] != "confidential" ||
		!slices.Equal(toStrings(r.Body["scopes"]), []string{"tokens:introspect", "tokens:revoke", "revocations:read"}) {
		t.Fatalf("introspection client: %d %s", r.Status, r.Raw)
	}
	r = akDo(t, s, "GET", clientsPath+"/selfservice", akBearer(admin), nil)
	if r.Status != 200 || r.Body["type"] != "public" || r.Body["organisation_id"] != s.Boot.Business.ID || r.Body["mode"] != "live" {
		t.Fatalf("selfservice client: %d %s", r.Status, r.Raw)
	}
	for _, id := range []string{"backoffice", "selfservice"} {
		if r := akDo(t, s, "DELETE", clientsPath+"/"+id, akBearer(admin), nil); r.Status != 409 || r.Body["code"] != "CONFLICT" {
			t.Fatalf("delete %s: %d %s", id, r.Status, r.Raw)
		}
		if r := akDo(t, s, "POST", clientsPath+"/"+id+"/rotate-secret", akBearer(admin), nil); r.Status != 409 {
			t.Fatalf("rotate %s: %d %s", id, r.Status, r.Raw)
		}
	}
	until := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	r = akDo(t, s, "POST", clientsPath+"/"+intro.ClientID+"/rotate-secret", akBearer(admin), map[string]any{"expires_at": until})
	if r.Status != 201 {
		t.Fatalf("rotate introspection: %d %s", r.Status, r.Raw)
	}
	newSecret := r.Body["client_secret"].(string)
	for _, sec := range []string{intro.ClientSecret, newSecret} {
		resp, m := s.postForm(t, "/oauth2/introspect", url.Values{"token": {"x"}}, intro.ClientID, sec)
		if resp.StatusCode != 200 {
			t.Fatalf("introspection during the overlap: %d %v", resp.StatusCode, m)
		}
	}
	if r := akDo(t, s, "DELETE", clientsPath+"/"+intro.ClientID, akBearer(admin), nil); r.Status != 204 {
		t.Fatalf("delete introspection: %d %s", r.Status, r.Raw)
	}
	if resp, m := s.postForm(t, "/oauth2/introspect", url.Values{"token": {"x"}}, intro.ClientID, newSecret); resp.StatusCode != 401 {
		t.Fatalf("introspection by a deleted client: %d %v", resp.StatusCode, m)
	}
}

// TestClientAuthorization: only an admin or owner of the service owner,
// acting for it, manages clients.
func TestClientAuthorization(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	s := n.s
	body := map[string]any{"name": "x", "type": "confidential", "grant_types": []string{"client_credentials"}}

	// A service-owner admin (not owner) may; a member may not.
	user := func(email, role string) string {
		code, m, _ := s.call(t, "POST", "/backoffice/v1/users", n.adminToken, map[string]any{
			"email": email, "password": userPassword, "first_name": "S", "last_name": "O",
			"memberships": []map[string]string{{"organisation_id": n.so, "role": role}},
		})
		if code != 201 {
			t.Fatalf("create user: %d %v", code, m)
		}
		return s.signIn(t, email, userPassword)["access_token"].(string)
	}
	soAdmin, soMember := user("so-admin@so.example", "admin"), user("so-member@so.example", "member")
	if r := akDo(t, s, "POST", clientsPath, akBearer(soAdmin), body); r.Status != 201 {
		t.Fatalf("service-owner admin: %d %s", r.Status, r.Raw)
	}

	code, sw, _ := s.call(t, "POST", "/backoffice/v1/organisations/"+n.bizA+"/switch", n.adminToken, nil)
	if code != 200 {
		t.Fatalf("switch: %d %v", code, sw)
	}
	contact, _ := s.App.Tokens.Issue(token.Claims{Kind: token.KindContact, Subject: "c1", Org: n.bizA, Mode: "live",
		ClientID: "selfservice", Audience: token.Audience{s.App.Config.Issuer}, ExpiresAt: time.Now().Add(time.Minute).Unix()})
	_, cc := ccToken(t, s, s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret)
	alice := s.signIn(t, n.alice, userPassword)["access_token"].(string) // admin of a business

	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
		code    string
	}{
		{"business admin", akBearer(alice), 403, "FORBIDDEN"},
		{"service-owner member", akBearer(soMember), 403, "FORBIDDEN"},
		{"service-owner owner switched into a business", akBearer(sw["access_token"].(string)), 403, "FORBIDDEN"},
		{"contact", akBearer(contact), 403, "FORBIDDEN"},
		{"client credentials", akBearer(cc["access_token"].(string)), 403, "FORBIDDEN"},
		{"secret API key", akKey(s.Boot.APIKeys["live"].Secret), 401, "INVALID_TOKEN"},
		{"secret API key as a bearer token", akBearer(s.Boot.APIKeys["live"].Secret), 401, "INVALID_TOKEN"},
		{"nothing", nil, 401, "INVALID_TOKEN"},
	} {
		for _, call := range []struct{ method, path string }{
			{"POST", clientsPath}, {"GET", clientsPath}, {"GET", clientsPath + "?page=2&size=1"}, {"GET", clientsPath + "/introspection"},
			{"PATCH", clientsPath + "/introspection"},
			{"POST", clientsPath + "/introspection/rotate-secret"}, {"DELETE", clientsPath + "/introspection"},
		} {
			var b any
			switch {
			case call.method == "POST" && call.path == clientsPath:
				b = body
			case call.method == "PATCH":
				b = map[string]any{"grant_types": []string{}, "access_token_ttl": 86400}
			}
			r := akDo(t, s, call.method, call.path, tc.headers, b)
			if r.Status != tc.status || r.Body["code"] != tc.code {
				t.Errorf("%s: %s %s = %d %s", tc.name, call.method, call.path, r.Status, r.Raw)
			}
		}
	}
	// Nothing changed: bootstrap's introspection secret still works, with
	// its grants and the default lifetime.
	if code, m := ccToken(t, s, s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret); code != 200 ||
		m["expires_in"] != float64(s.App.Config.Tokens.AccessTokenTTL/time.Second) {
		t.Fatalf("introspection client after refused calls: %d %v", code, m)
	}
	// A service-owner admin may change it.
	if r := akDo(t, s, "PATCH", clientsPath+"/introspection", akBearer(soAdmin), map[string]any{"access_token_ttl": 120}); r.Status != 200 {
		t.Fatalf("service-owner admin patch: %d %s", r.Status, r.Raw)
	}
}

// TestClientValidation: bad input answers 422 naming the field, unknown
// members 400, and nothing is created.
func TestClientValidation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, lenient(testConfig(t)))
	admin := rootAdminToken(t, s)
	long := make([]byte, 101)
	for i := range long {
		long[i] = 'x'
	}
	for _, tc := range []struct {
		body   map[string]any
		status int
		field  string
	}{
		{map[string]any{"type": "public", "grant_types": []string{"password"}}, 422, "name"},
		{map[string]any{"name": string(long), "type": "public", "grant_types": []string{"password"}}, 422, "name"},
		{map[string]any{"name": "x", "type": "private"}, 422, "type"},
		{map[string]any{"name": "x", "type": "public", "grant_types": []string{"client_credentials"}}, 422, "grant_types[0]"},
		{map[string]any{"name": "x", "type": "confidential", "grant_types": []string{"password", "implicit"}}, 422, "grant_types[1]"},
		{map[string]any{"name": "x", "type": "confidential", "scopes": []string{"contacts:read"}}, 422, "scopes[0]"},
		{map[string]any{"name": "x", "type": "public", "grant_types": []string{"password"}, "scopes": []string{"tokens:introspect"}}, 422, "scopes[0]"},
		{map[string]any{"name": "x", "type": "confidential", "audiences": []string{"not a uri"}}, 422, "audiences[0]"},
		{map[string]any{"name": "x", "type": "confidential", "audiences": []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11"}}, 422, "audiences"},
		{map[string]any{"name": "x", "type": "confidential", "organisation_id": s.Boot.ServiceOwner.ID}, 422, "organisation_id"},
		{map[string]any{"name": "x", "type": "confidential", "organisation_id": "nope"}, 422, "organisation_id"},
		{map[string]any{"name": "x", "type": "confidential", "mode": "test"}, 422, "mode"},
		{map[string]any{"name": "x", "type": "confidential", "grant_types": "password"}, 422, "grant_types"},
		{map[string]any{"name": "x", "type": "confidential", "secret": "mine"}, 422, "secret"},
	} {
		r := akDo(t, s, "POST", clientsPath, akBearer(admin), tc.body)
		if r.Status != tc.status || r.Body["field"] != tc.field {
			t.Errorf("%v: %d %s, want %d with field %s", tc.body, r.Status, r.Raw, tc.status, tc.field)
		}
	}
	for _, exp := range []string{"tomorrow", time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), time.Now().Add(31 * 24 * time.Hour).UTC().Format(time.RFC3339)} {
		r := akDo(t, s, "POST", clientsPath+"/introspection/rotate-secret", akBearer(admin), map[string]any{"expires_at": exp})
		if r.Status != 422 || r.Body["field"] != "expires_at" {
			t.Errorf("rotate with expires_at %q: %d %s", exp, r.Status, r.Raw)
		}
	}
	r := akDo(t, s, "GET", clientsPath, akBearer(admin), nil)
	if n := len(r.Body["clients"].([]any)); n != 3 || r.Body["total"] != float64(3) {
		t.Fatalf("%d clients after refused creates, want bootstrap's 3", n)
	}
	if code, _ := ccToken(t, s, s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret); code != 200 {
		t.Fatal("a refused rotation changed the secret")
	}
	// A public client bound to the business, in test mode.
	r = akDo(t, s, "POST", clientsPath, akBearer(admin), map[string]any{"name": "Test app", "type": "public",
		"grant_types": []string{"password", "urn:authd:params:oauth:grant-type:otp"}, "organisation_id": s.Boot.Business.ID, "mode": "test"})
	if r.Status != 201 || r.Body["client_secret"] != nil || r.Body["organisation_id"] != s.Boot.Business.ID || r.Body["mode"] != "test" {
		t.Fatalf("bound public client: %d %s", r.Status, r.Raw)
	}
}

// TestClientChangesAcrossReplicas: two authd servers on one PostgreSQL
// schema and one Redis, each holding the client in its cache. A rotation
// with expires_at now on A reaches B's cache within a second (not after
// the cache's 10 s freshness): B takes the new secret and refuses the old
// one; a delete on A stops the client's secret and B's tokens on B within
// a second.
func TestClientChangesAcrossReplicas(t *testing.T) {
	pg, redisURL := os.Getenv("AUTHD_TEST_POSTGRES_DSN"), os.Getenv("AUTHD_TEST_REDIS_URL")
	if pg == "" || redisURL == "" {
		t.Skip("two replicas need AUTHD_TEST_POSTGRES_DSN and AUTHD_TEST_REDIS_URL")
	}
	base := lenient(testConfig(t))
	base.Database.DSN = akPostgresSchema(t, pg)
	base.Redis.URL = redisURL
	base.Redis.KeyPrefix = "authd-2c-" + time.Now().Format("150405.000000") + ":"
	a := akReplica(t, base, true)
	b := akReplica(t, base, false)
	b.Boot = a.Boot
	admin := rootAdminToken(t, a)

	r := akDo(t, a, "POST", clientsPath, akBearer(admin), map[string]any{"name": "svc", "type": "confidential", "grant_types": []string{"client_credentials"}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	id, old := r.Body["client_id"].(string), r.Body["client_secret"].(string)
	for _, s := range []*testServer{a, b} {
		if code, m := ccToken(t, s, id, old); code != 200 { // cached on both from here
			t.Fatalf("new client: %d %v", code, m)
		}
	}
	within := func(what string, ok func() bool) {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > time.Second {
				t.Fatalf("%s: not after %v", what, time.Since(start))
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s after %v", what, time.Since(start))
	}

	r = akDo(t, a, "POST", clientsPath+"/"+id+"/rotate-secret", akBearer(admin), map[string]any{"expires_at": "now"})
	if r.Status != 201 {
		t.Fatalf("rotate on A: %d %s", r.Status, r.Raw)
	}
	secret := r.Body["client_secret"].(string)
	within("B takes the new secret", func() bool { code, _ := ccToken(t, b, id, secret); return code == 200 })
	if code, _ := ccToken(t, b, id, old); code != 401 {
		t.Fatalf("B still takes the secret rotated away: %d", code)
	}

	_, tok := ccToken(t, b, id, secret)
	if r := akDo(t, a, "DELETE", clientsPath+"/"+id, akBearer(admin), nil); r.Status != 204 {
		t.Fatalf("delete on A: %d %s", r.Status, r.Raw)
	}
	within("B refuses the deleted client's token", func() bool {
		return akDo(t, b, "GET", "/forward-auth", akBearer(tok["access_token"].(string)), nil).Status == 401
	})
	within("B refuses the deleted client's secret", func() bool { code, _ := ccToken(t, b, id, secret); return code == 401 })
}

// TestClientUpdate: PATCH changes what it names under the rules of
// registration and keeps the rest; the change applies to the next
// request (grants, scopes taken away are refused, refresh tokens of a
// narrowed client refused and left as they are); it is audited.
func TestClientUpdate(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, lenient(testConfig(t)))
	admin := rootAdminToken(t, s)
	id, secret := createClient(t, s, admin, map[string]any{"name": "Billing", "type": "confidential",
		"grant_types": []string{"client_credentials", "password", "refresh_token"},
		"scopes":      []string{"tokens:introspect"}, "audiences": []string{"billing-api"}})
	signIn := func(scope string) (int, map[string]any) {
		form := url.Values{"grant_type": {"password"}, "username": {s.Boot.Admin.Email}, "password": {s.Boot.Admin.Password}}
		if scope != "" {
			form.Set("scope", scope)
		}
		resp, m := s.postForm(t, "/oauth2/token", form, id, secret)
		return resp.StatusCode, m
	}
	refresh := func(rt string) (int, map[string]any) {
		resp, m := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, secret)
		return resp.StatusCode, m
	}
	patch := func(body map[string]any) akResp {
		t.Helper()
		return akDo(t, s, "PATCH", clientsPath+"/"+id, akBearer(admin), body)
	}
	code, scoped := signIn("tokens:introspect")
	if code != 200 {
		t.Fatalf("password with a scope: %d %v", code, scoped)
	}
	code, plain := signIn("")
	if code != 200 {
		t.Fatalf("password: %d %v", code, plain)
	}
	if code, cc := ccToken(t, s, id, secret); code != 200 { // the client is cached from here
		t.Fatalf("client_credentials: %d %v", code, cc)
	}

	// Rename and take the permission away: the rest stays.
	r := patch(map[string]any{"name": " Billing v2 ", "scopes": []string{}})
	if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" || r.Body["name"] != "Billing v2" || len(r.Body["scopes"].([]any)) != 0 ||
		!slices.Equal(toStrings(r.Body["grant_types"]), []string{"client_credentials", "password", "refresh_token"}) ||
		!slices.Equal(toStrings(r.Body["audiences"]), []string{"billing-api"}) || r.Body["client_secret"] != nil || r.Body["access_token_ttl"] != nil {
		t.Fatalf("patch: %d %s", r.Status, r.Raw)
	}
	// At once: the permission can no longer be asked for, nor used, and the
	// family granted it can no longer be renewed (left as it is).
	if code, m := signIn("tokens:introspect"); code != 400 || m["error"] != "invalid_scope" {
		t.Fatalf("a scope taken away, asked for: %d %v", code, m)
	}
	if resp, m := s.postForm(t, "/oauth2/introspect", url.Values{"token": {"x"}}, id, secret); resp.StatusCode != 400 || m["error"] != "unauthorized_client" {
		t.Fatalf("introspection by a client whose permission was taken away: %d %v", resp.StatusCode, m)
	}
	if code, m := refresh(scoped["refresh_token"].(string)); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("refresh of a family holding a scope taken away: %d %v", code, m)
	}
	code, m := refresh(plain["refresh_token"].(string))
	if code != 200 {
		t.Fatalf("refresh of a family without it: %d %v", code, m)
	}
	plainRT := m["refresh_token"].(string)

	// Take refresh_token away: no family is renewed; give it back: the
	// same token works (nothing was revoked).
	if r := patch(map[string]any{"grant_types": []string{"client_credentials", "password"}}); r.Status != 200 {
		t.Fatalf("patch grants: %d %s", r.Status, r.Raw)
	}
	if code, m := refresh(plainRT); code != 400 || m["error"] != "unauthorized_client" {
		t.Fatalf("refresh by a client no longer allowed it: %d %v", code, m)
	}
	if code, m := signIn(""); code != 200 || m["refresh_token"] != nil {
		t.Fatalf("password by a client without refresh_token: %d %v", code, m)
	}
	if r := patch(map[string]any{"grant_types": []string{"password", "refresh_token"}}); r.Status != 200 {
		t.Fatalf("patch grants back: %d %s", r.Status, r.Raw)
	}
	if code, m := refresh(plainRT); code != 200 {
		t.Fatalf("refresh once allowed again: %d %v", code, m)
	}
	if code, m := ccToken(t, s, id, secret); code != 400 || m["error"] != "unauthorized_client" {
		t.Fatalf("client_credentials taken away: %d %v", code, m)
	}

	// Lifetimes: set, then back to the default with null; an empty patch
	// changes nothing.
	if r := patch(map[string]any{"access_token_ttl": 300, "refresh_token_ttl": 3600, "refresh_token_idle_ttl": 600}); r.Status != 200 ||
		r.Body["access_token_ttl"] != float64(300) || r.Body["refresh_token_ttl"] != float64(3600) || r.Body["refresh_token_idle_ttl"] != float64(600) {
		t.Fatalf("patch lifetimes: %d %s", r.Status, r.Raw)
	}
	if code, m := signIn(""); code != 200 || m["expires_in"] != float64(300) {
		t.Fatalf("password after the lifetime changed: %d %v", code, m)
	}
	if r := patch(map[string]any{"access_token_ttl": nil, "refresh_token_ttl": 0, "refresh_token_idle_ttl": nil}); r.Status != 200 ||
		r.Body["access_token_ttl"] != nil || r.Body["refresh_token_ttl"] != nil || r.Body["refresh_token_idle_ttl"] != nil {
		t.Fatalf("patch lifetimes back: %d %s", r.Status, r.Raw)
	}
	if code, m := signIn(""); code != 200 || m["expires_in"] != float64(s.App.Config.Tokens.AccessTokenTTL/time.Second) {
		t.Fatalf("password after the lifetime went back: %d %v", code, m)
	}
	if r := patch(map[string]any{}); r.Status != 200 || r.Body["name"] != "Billing v2" {
		t.Fatalf("empty patch: %d %s", r.Status, r.Raw)
	}

	// Every change is in the audit trail, with what changed.
	code, ev, _ := s.call(t, "GET", "/backoffice/v1/audit-events?action=client.updated", admin, nil)
	if code != 200 || len(ev["events"].([]any)) != 5 {
		t.Fatalf("audit of updates: %d %v", code, ev)
	}
	for _, e := range ev["events"].([]any) {
		d, _ := e.(map[string]any)["details"].(map[string]any)
		if e.(map[string]any)["target_id"] != id || len(d) == 0 {
			t.Fatalf("audit event %v", e)
		}
	}
	// The secret never changed.
	if code, m := signIn(""); code != 200 {
		t.Fatalf("the secret after updates: %d %v", code, m)
	}
	if r := akDo(t, s, "PATCH", clientsPath+"/nope", akBearer(admin), map[string]any{"name": "x"}); r.Status != 404 || r.Body["code"] != "NOT_FOUND" {
		t.Fatalf("patch an unknown client: %d %s", r.Status, r.Raw)
	}

	// The CRM endpoints renew for the backoffice client only while it holds
	// refresh_token.
	crm := s.signIn(t, s.Boot.Admin.Email, s.Boot.Admin.Password)
	grants := toStrings(akDo(t, s, "GET", clientsPath+"/backoffice", akBearer(admin), nil).Body["grant_types"])
	if r := akDo(t, s, "PATCH", clientsPath+"/backoffice", akBearer(admin), map[string]any{"grant_types": []string{"password"}}); r.Status != 200 {
		t.Fatalf("patch backoffice: %d %s", r.Status, r.Raw)
	}
	if code, m, _ := s.call(t, "POST", "/backoffice/v1/users/refresh", "", map[string]any{"refresh_token": crm["refresh_token"]}); code != 401 || m["code"] != "INVALID_REFRESH_TOKEN" {
		t.Fatalf("CRM refresh for a client without refresh_token: %d %v", code, m)
	}
	if r := akDo(t, s, "PATCH", clientsPath+"/backoffice", akBearer(admin), map[string]any{"grant_types": grants}); r.Status != 200 {
		t.Fatalf("patch backoffice back: %d %s", r.Status, r.Raw)
	}
	if code, m, _ := s.call(t, "POST", "/backoffice/v1/users/refresh", "", map[string]any{"refresh_token": crm["refresh_token"]}); code != 200 {
		t.Fatalf("CRM refresh once allowed again: %d %v", code, m)
	}
}

// TestClientUpdateValidation: what cannot change, unknown members and bad
// values answer 422 naming the field, and change nothing.
func TestClientUpdateValidation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, lenient(testConfig(t)))
	admin := rootAdminToken(t, s)
	id, secret := createClient(t, s, admin, map[string]any{"name": "svc", "type": "confidential", "grant_types": []string{"client_credentials"},
		"access_token_ttl": 600})
	before := akDo(t, s, "GET", clientsPath+"/"+id, akBearer(admin), nil).Raw
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"client_id": "mine"}, "client_id"},
		{map[string]any{"type": "public"}, "type"},
		{map[string]any{"client_secret": "0123456789012345678901234567890123456789012"}, "client_secret"},
		{map[string]any{"organisation_id": s.Boot.Business.ID}, "organisation_id"},
		{map[string]any{"mode": "test"}, "mode"},
		{map[string]any{"secret": "mine"}, "secret"},
		{map[string]any{"name": "ok", "redirect_uris": []string{"https://x"}}, "redirect_uris"},
		{map[string]any{"name": ""}, "name"},
		{map[string]any{"name": nil}, "name"},
		{map[string]any{"name": 7}, "name"},
		{map[string]any{"grant_types": []string{"client_credentials", "implicit"}}, "grant_types[1]"},
		{map[string]any{"grant_types": "client_credentials"}, "grant_types"},
		{map[string]any{"scopes": []string{"contacts:read"}}, "scopes[0]"},
		{map[string]any{"audiences": []string{"not a uri"}}, "audiences[0]"},
		{map[string]any{"access_token_ttl": 59}, "access_token_ttl"},
		{map[string]any{"access_token_ttl": 86401}, "access_token_ttl"},
		{map[string]any{"access_token_ttl": -60}, "access_token_ttl"},
		{map[string]any{"access_token_ttl": 1.5}, "access_token_ttl"},
		{map[string]any{"access_token_ttl": "120"}, "access_token_ttl"},
		{map[string]any{"access_token_ttl": 1e30}, "access_token_ttl"},
		{map[string]any{"refresh_token_ttl": 31 * 24 * 3600}, "refresh_token_ttl"},
		{map[string]any{"refresh_token_ttl": 3600, "refresh_token_idle_ttl": 7200}, "refresh_token_idle_ttl"},
		{map[string]any{"refresh_token_idle_ttl": 30}, "refresh_token_idle_ttl"},
	} {
		r := akDo(t, s, "PATCH", clientsPath+"/"+id, akBearer(admin), tc.body)
		if r.Status != 422 || r.Body["code"] != "VALIDATION_FAILED" || r.Body["field"] != tc.field {
			t.Errorf("%v: %d %s, want 422 with field %s", tc.body, r.Status, r.Raw, tc.field)
		}
	}
	for _, raw := range []string{``, `[]`, `{"name":`} {
		req, _ := http.NewRequest("PATCH", s.URL+clientsPath+"/"+id, strings.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("body %q: %d, want 400", raw, resp.StatusCode)
		}
	}
	if after := akDo(t, s, "GET", clientsPath+"/"+id, akBearer(admin), nil).Raw; after != before {
		t.Fatalf("refused patches changed the client:\n%s\n%s", before, after)
	}
	if code, m := ccToken(t, s, id, secret); code != 200 || m["expires_in"] != float64(600) {
		t.Fatalf("client after refused patches: %d %v", code, m)
	}
	// Creation refuses the same lifetimes.
	for _, tc := range []struct {
		ttl   map[string]any
		field string
	}{
		{map[string]any{"access_token_ttl": 30}, "access_token_ttl"},
		{map[string]any{"access_token_ttl": 90000}, "access_token_ttl"},
		{map[string]any{"refresh_token_idle_ttl": 31 * 24 * 3600}, "refresh_token_idle_ttl"},
		{map[string]any{"refresh_token_ttl": "long"}, "refresh_token_ttl"},
	} {
		body := map[string]any{"name": "x", "type": "confidential"}
		for k, v := range tc.ttl {
			body[k] = v
		}
		if r := akDo(t, s, "POST", clientsPath, akBearer(admin), body); r.Status != 422 || r.Body["field"] != tc.field {
			t.Errorf("create %v: %d %s", tc.ttl, r.Status, r.Raw)
		}
	}
	if r := akDo(t, s, "GET", clientsPath, akBearer(admin), nil); r.Body["total"] != float64(4) {
		t.Fatalf("clients after refused creates: %s", r.Raw)
	}
}

// TestClientListPages: the listing pages in the database: each page holds
// size clients in creation order, pages are disjoint and together hold
// every client once, each says the exact total; bad paging is 422.
func TestClientListPages(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, lenient(testConfig(t)))
	admin := rootAdminToken(t, s)
	for i := range 9 {
		createClient(t, s, admin, map[string]any{"name": "c" + string(rune('a'+i)), "type": "confidential"})
	}
	const total = 12 // bootstrap's 3 and 9
	var all []string
	seen := map[string]bool{}
	for pg := 1; pg <= 4; pg++ {
		r := akDo(t, s, "GET", clientsPath+"?size=5&page="+string(rune('0'+pg)), akBearer(admin), nil)
		if r.Status != 200 || r.Body["total"] != float64(total) || r.Body["page"] != float64(pg) || r.Body["size"] != float64(5) {
			t.Fatalf("page %d: %d %s", pg, r.Status, r.Raw)
		}
		list := r.Body["clients"].([]any)
		if want := min(5, max(total-(pg-1)*5, 0)); len(list) != want {
			t.Fatalf("page %d holds %d clients, want %d", pg, len(list), want)
		}
		for _, c := range list {
			id := c.(map[string]any)["client_id"].(string)
			if seen[id] {
				t.Fatalf("client %s on two pages", id)
			}
			seen[id] = true
			all = append(all, id)
		}
	}
	r := akDo(t, s, "GET", clientsPath+"?size=100", akBearer(admin), nil)
	var one []string
	for _, c := range r.Body["clients"].([]any) {
		one = append(one, c.(map[string]any)["client_id"].(string))
	}
	if len(all) != total || !slices.Equal(all, one) {
		t.Fatalf("pages hold %v, one page %v", all, one)
	}
	// Default size 20.
	if r := akDo(t, s, "GET", clientsPath, akBearer(admin), nil); r.Body["size"] != float64(20) || len(r.Body["clients"].([]any)) != total {
		t.Fatalf("default page: %s", r.Raw)
	}
	for _, q := range []struct{ query, field string }{
		{"page=0", "page"}, {"page=x", "page"}, {"size=0", "size"}, {"size=101", "size"}, {"page=1&page=2", "page"},
	} {
		if r := akDo(t, s, "GET", clientsPath+"?"+q.query, akBearer(admin), nil); r.Status != 422 || r.Body["field"] != q.field {
			t.Errorf("?%s: %d %s", q.query, r.Status, r.Raw)
		}
	}
}

// TestClientUpdateAcrossReplicas: two authd servers on one PostgreSQL
// schema and one Redis, each holding the client in its cache. A PATCH on
// A reaches B within a second (not after the cache's 10 s freshness): B
// issues with the new lifetime, then refuses a grant taken away.
func TestClientUpdateAcrossReplicas(t *testing.T) {
	pg, redisURL := os.Getenv("AUTHD_TEST_POSTGRES_DSN"), os.Getenv("AUTHD_TEST_REDIS_URL")
	if pg == "" || redisURL == "" {
		t.Skip("two replicas need AUTHD_TEST_POSTGRES_DSN and AUTHD_TEST_REDIS_URL")
	}
	base := lenient(testConfig(t))
	base.Database.DSN = akPostgresSchema(t, pg)
	base.Redis.URL = redisURL
	base.Redis.KeyPrefix = "authd-2u-" + time.Now().Format("150405.000000") + ":"
	a := akReplica(t, base, true)
	b := akReplica(t, base, false)
	b.Boot = a.Boot
	admin := rootAdminToken(t, a)
	id, secret := createClient(t, a, admin, map[string]any{"name": "svc", "type": "confidential", "grant_types": []string{"client_credentials"}})
	def := float64(base.Tokens.AccessTokenTTL / time.Second)
	for _, s := range []*testServer{a, b} {
		if code, m := ccToken(t, s, id, secret); code != 200 || m["expires_in"] != def { // cached on both from here
			t.Fatalf("new client: %d %v", code, m)
		}
	}
	within := func(what string, ok func() bool) {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > time.Second {
				t.Fatalf("%s: not after %v", what, time.Since(start))
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s after %v", what, time.Since(start))
	}
	if r := akDo(t, a, "PATCH", clientsPath+"/"+id, akBearer(admin), map[string]any{"access_token_ttl": 120}); r.Status != 200 {
		t.Fatalf("patch on A: %d %s", r.Status, r.Raw)
	}
	within("B issues with the new lifetime", func() bool {
		code, m := ccToken(t, b, id, secret)
		return code == 200 && m["expires_in"] == float64(120)
	})
	if r := akDo(t, a, "PATCH", clientsPath+"/"+id, akBearer(admin), map[string]any{"grant_types": []string{}}); r.Status != 200 {
		t.Fatalf("patch on A: %d %s", r.Status, r.Raw)
	}
	within("B refuses the grant taken away", func() bool {
		code, m := ccToken(t, b, id, secret)
		return code == 400 && m["error"] == "unauthorized_client"
	})
}
