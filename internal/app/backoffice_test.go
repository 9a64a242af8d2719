package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// network is the test organisation tree:
//
//	service owner (bootstrap admin: owner)
//	├── business A (bootstrap business; alice: admin)
//	│   └── merchant M (mia: member)
//	└── business B (bob: owner)
type network struct {
	s                      *testServer
	so, bizA, bizB, merchM string
	alice, bob, mia        string // emails
	aliceID, bobID, miaID  string
	adminToken             string
}

const userPassword = "correct-horse-battery"

func (s *testServer) call(t testing.TB, method, path, bearer string, body any) (int, map[string]any, http.Header) {
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
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: non-JSON %q", method, path, raw)
		}
	}
	return resp.StatusCode, m, resp.Header
}

func (s *testServer) signIn(t testing.TB, email, pw string) map[string]any {
	t.Helper()
	code, m, _ := s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": email, "password": pw})
	if code != 200 {
		t.Fatalf("sign in %s: %d %v", email, code, m)
	}
	return m
}

func lenient(cfg *config.Config) *config.Config {
	cfg.RateLimits.PasswordPerIPPerMinute = 10000
	cfg.RateLimits.PasswordPerAccountPerHour = 10000
	cfg.Passwords.MemoryKiB = 8 * 1024 // keep the suite quick; the cost model is the same
	cfg.Passwords.Iterations = 1
	return cfg
}

func newNetwork(t testing.TB, cfg *config.Config) *network {
	t.Helper()
	return newNetworkWith(t, cfg, app.Options{})
}

// newNetworkWith is newNetwork with parts of the wiring replaced (a fake
// clock).
func newNetworkWith(t testing.TB, cfg *config.Config, opts app.Options) *network {
	t.Helper()
	if cfg == nil {
		cfg = lenient(testConfig(t))
	}
	s := newTestServerWith(t, cfg, opts)
	n := &network{s: s, so: s.Boot.ServiceOwner.ID, bizA: s.Boot.Business.ID,
		alice: "alice@a.example", bob: "bob@b.example", mia: "mia@m.example"}
	admin := s.signIn(t, s.Boot.Admin.Email, s.Boot.Admin.Password)
	n.adminToken = admin["access_token"].(string)

	mk := func(body map[string]any) string {
		code, m, _ := s.call(t, "POST", "/backoffice/v1/organisations", n.adminToken, body)
		if code != 201 {
			t.Fatalf("create org %v: %d %v", body, code, m)
		}
		return m["id"].(string)
	}
	n.bizB = mk(map[string]any{"name": "Business B", "type": "business", "parent_id": n.so})
	n.merchM = mk(map[string]any{"name": "Merchant M", "type": "merchant", "parent_id": n.bizA})
	user := func(email, org, role string) string {
		code, m, _ := s.call(t, "POST", "/backoffice/v1/users", n.adminToken, map[string]any{
			"email": email, "password": userPassword, "first_name": strings.Split(email, "@")[0], "last_name": "Test",
			"memberships": []map[string]string{{"organisation_id": org, "role": role}},
		})
		if code != 201 {
			t.Fatalf("create user %s: %d %v", email, code, m)
		}
		return m["id"].(string)
	}
	n.aliceID = user(n.alice, n.bizA, "admin")
	n.bobID = user(n.bob, n.bizB, "owner")
	n.miaID = user(n.mia, n.merchM, "member")
	return n
}

func (n *network) oauthConfig() *oauth2.Config {
	return &oauth2.Config{
		ClientID: "backoffice",
		Endpoint: oauth2.Endpoint{TokenURL: n.s.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams},
	}
}

func claimsOf(t testing.TB, s *testServer, tok string) token.Claims {
	t.Helper()
	c, err := s.App.Tokens.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return c
}

// TestPasswordGrantAndRefreshWithOAuth2Client: a real OAuth client signs in
// with the password grant and refreshes through its TokenSource.
func TestPasswordGrantAndRefreshWithOAuth2Client(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	ctx := context.Background()
	conf := n.oauthConfig()
	tok, err := conf.PasswordCredentialsToken(ctx, n.alice, userPassword)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || !strings.HasPrefix(tok.RefreshToken, "rt_") {
		t.Fatalf("refresh token %q", tok.RefreshToken)
	}
	c := claimsOf(t, n.s, tok.AccessToken)
	if c.Subject != n.aliceID || c.Kind != "user" || c.Org != n.bizA || c.Mode != "live" || c.ClientID != "backoffice" || c.HomeOrg != "" {
		t.Fatalf("claims %+v", c)
	}

	// Force a refresh through the TokenSource.
	old := *tok
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == old.RefreshToken {
		t.Fatal("refresh did not rotate")
	}
	if c2 := claimsOf(t, n.s, fresh.AccessToken); c2.Subject != n.aliceID || c2.Org != n.bizA {
		t.Fatalf("refreshed claims %+v", c2)
	}

	// The first access token names its refresh family (sid), so it ends
	// with the family: revoking the refresh token (RFC 7009 §2.1) ends it.
	if c.Family == "" || claimsOf(t, n.s, fresh.AccessToken).Family != c.Family {
		t.Fatalf("sid of the password grant's token %q, of its refresh %q", c.Family, claimsOf(t, n.s, fresh.AccessToken).Family)
	}
	if m := n.s.introspect(t, old.AccessToken, ""); m["active"] != true {
		t.Fatalf("first access token before revocation: %v", m)
	}
	if resp, m := n.s.postForm(t, "/oauth2/revoke", url.Values{"token": {fresh.RefreshToken}, "client_id": {"backoffice"}}, "", ""); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %v", resp.StatusCode, m)
	}
	if m := n.s.introspect(t, old.AccessToken, ""); m["active"] != false {
		t.Fatalf("password grant's access token outlived its family: %v", m)
	}

	// Wrong password and unknown user: the same invalid_grant.
	for _, u := range []string{n.alice, "nobody@nowhere.example"} {
		_, err := conf.PasswordCredentialsToken(ctx, u, "wrong-password-123")
		var re *oauth2.RetrieveError
		if err == nil || !asRetrieve(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("%s: %v", u, err)
		}
	}
}

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	r, ok := err.(*oauth2.RetrieveError)
	if ok {
		*re = r
	}
	return ok
}

func (n *network) refresh(t testing.TB, rt string) (int, map[string]any) {
	t.Helper()
	resp, m := n.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"backoffice"}}, "", "")
	return resp.StatusCode, m
}

func TestRefreshReuseDetectionAndGrace(t *testing.T) {
	t.Parallel()
	cfg := lenient(testConfig(t))
	cfg.Tokens.RefreshReuseGrace = 2 * time.Second
	clk := clock.NewFake(time.Now())
	n := newNetworkWith(t, cfg, app.Options{Clock: clk.Now})
	first := n.s.signIn(t, n.mia, userPassword)
	rt0 := first["refresh_token"].(string)

	code, r1 := n.refresh(t, rt0)
	if code != 200 {
		t.Fatalf("first refresh %d %v", code, r1)
	}
	rt1 := r1["refresh_token"].(string)

	// Lost answer: the immediate parent again within the grace interval
	// gives the same child.
	code, again := n.refresh(t, rt0)
	if code != 200 || again["refresh_token"] != rt1 {
		t.Fatalf("grace replay: %d %v (want child %s)", code, again, rt1)
	}

	code, r2 := n.refresh(t, rt1)
	if code != 200 {
		t.Fatalf("second refresh %d %v", code, r2)
	}
	rt2 := r2["refresh_token"].(string)

	// rt0 is now an older ancestor: reuse, even within the grace interval.
	code, m := n.refresh(t, rt0)
	if code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("ancestor replay: %d %v", code, m)
	}
	// The whole family is dead, including the newest token, and so are
	// the access tokens issued with it.
	if code, m := n.refresh(t, rt2); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("family survived reuse: %d %v", code, m)
	}
	if m := n.s.introspect(t, r2["access_token"].(string), ""); m["active"] != false {
		t.Fatalf("access token of a reused family still active: %v", m)
	}
	// The reuse is in the audit trail.
	code, ev, _ := n.s.call(t, "GET", "/backoffice/v1/audit-events?action=refresh.reuse_detected", n.adminToken, nil)
	if code != 200 || len(ev["events"].([]any)) != 1 {
		t.Fatalf("audit: %d %v", code, ev)
	}

	// Outside the grace interval the parent is reuse too.
	fresh := n.s.signIn(t, n.mia, userPassword)
	p := fresh["refresh_token"].(string)
	if code, _ := n.refresh(t, p); code != 200 {
		t.Fatal("refresh")
	}
	clk.Advance(2100 * time.Millisecond) // past the grace interval
	if code, m := n.refresh(t, p); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("late replay: %d %v", code, m)
	}
}

func TestCRMAuthResponses(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	alice := n.s.signIn(t, n.alice, userPassword)
	if alice["token_type"] != "Bearer" || alice["mode"] != "live" || alice["expires_in"] != float64(900) {
		t.Fatalf("auth response %v", alice)
	}
	u := alice["user"].(map[string]any)
	cur := alice["current_organisation"].(map[string]any)
	if u["id"] != n.aliceID || u["email"] != n.alice || cur["id"] != n.bizA || cur["type"] != "business" || cur["role"] != "admin" {
		t.Fatalf("user %v current %v", u, cur)
	}
	if alice["service_owner"] != false {
		t.Fatalf("service_owner %v", alice["service_owner"])
	}
	orgs := alice["organisations"].([]any)
	ids := map[string]bool{}
	for _, o := range orgs {
		ids[o.(map[string]any)["id"].(string)] = true
	}
	if len(orgs) != 2 || !ids[n.bizA] || !ids[n.merchM] {
		t.Fatalf("alice may act for %v", orgs)
	}

	admin := n.s.signIn(t, n.s.Boot.Admin.Email, n.s.Boot.Admin.Password)
	if admin["service_owner"] != true || admin["organisations"] != nil {
		t.Fatalf("service owner answer %v", admin)
	}
	code, page, _ := n.s.call(t, "GET", "/backoffice/v1/users/me/organisations?page=1&size=2", admin["access_token"].(string), nil)
	if code != 200 || page["total"] != float64(4) || len(page["organisations"].([]any)) != 2 {
		t.Fatalf("paginated: %d %v", code, page)
	}
	code, page2, _ := n.s.call(t, "GET", "/backoffice/v1/users/me/organisations?page=2&size=2", admin["access_token"].(string), nil)
	if code != 200 || len(page2["organisations"].([]any)) != 2 {
		t.Fatalf("page 2: %d %v", code, page2)
	}
	for _, q := range []string{"page=0", "size=101", "page=x", "page=1&page=2", "size=2&size=3"} {
		if code, m, _ := n.s.call(t, "GET", "/backoffice/v1/users/me/organisations?"+q, admin["access_token"].(string), nil); code != 422 || m["code"] != "VALIDATION_FAILED" {
			t.Fatalf("?%s: %d %v", q, code, m)
		}
	}

	// CRM refresh answers the same shape, with current data.
	code, r, _ := n.s.call(t, "POST", "/backoffice/v1/users/refresh", "", map[string]string{"refresh_token": alice["refresh_token"].(string)})
	if code != 200 || r["user"] == nil || r["current_organisation"] == nil || r["refresh_token"] == alice["refresh_token"] {
		t.Fatalf("refresh: %d %v", code, r)
	}
	code, bad, _ := n.s.call(t, "POST", "/backoffice/v1/users/refresh", "", map[string]string{"refresh_token": "rt_nope"})
	if code != 401 || bad["code"] != "INVALID_REFRESH_TOKEN" {
		t.Fatalf("bad refresh: %d %v", code, bad)
	}
}

func TestMasquerading(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	admin := n.s.signIn(t, n.s.Boot.Admin.Email, n.s.Boot.Admin.Password)
	adminAT := admin["access_token"].(string)
	alice := n.s.signIn(t, n.alice, userPassword)
	aliceAT := alice["access_token"].(string)
	mia := n.s.signIn(t, n.mia, userPassword)
	miaAT := mia["access_token"].(string)

	exchange := func(subject string, params url.Values) (int, map[string]any) {
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {"backoffice"},
			"subject_token": {subject}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
		for k, v := range params {
			form[k] = v
		}
		resp, m := n.s.postForm(t, "/oauth2/token", form, "", "")
		return resp.StatusCode, m
	}

	tests := []struct {
		name    string
		subject string
		params  url.Values
		status  int
		org     string
		mode    string
		homeOrg string
	}{
		{"service owner acts for business B", adminAT, url.Values{"organisation_id": {n.bizB}}, 200, n.bizB, "live", n.so},
		{"service owner via resource", adminAT, url.Values{"resource": {"urn:authd:organisation:" + n.merchM}}, 200, n.merchM, "live", n.so},
		{"business admin acts for own merchant", aliceAT, url.Values{"organisation_id": {n.merchM}}, 200, n.merchM, "live", n.bizA},
		{"business admin switches to test mode", aliceAT, url.Values{"mode": {"test"}}, 200, n.bizA, "test", ""},
		{"business admin may not act for business B", aliceAT, url.Values{"organisation_id": {n.bizB}}, 400, "", "", ""},
		{"business admin may not act for the service owner", aliceAT, url.Values{"organisation_id": {n.so}}, 400, "", "", ""},
		{"merchant member may not act for its business", miaAT, url.Values{"organisation_id": {n.bizA}}, 400, "", "", ""},
		{"unknown organisation", aliceAT, url.Values{"organisation_id": {"nope"}}, 400, "", "", ""},
		{"bad mode", aliceAT, url.Values{"mode": {"prod"}}, 400, "", "", ""},
		{"no target", aliceAT, nil, 400, "", "", ""},
		{"garbage subject", "garbage", url.Values{"mode": {"test"}}, 400, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, m := exchange(tc.subject, tc.params)
			if code != tc.status {
				t.Fatalf("status %d %v", code, m)
			}
			if tc.status != 200 {
				if m["access_token"] != nil || m["error"] == nil {
					t.Fatalf("refusal %v", m)
				}
				return
			}
			if m["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || m["refresh_token"] == nil {
				t.Fatalf("answer %v", m)
			}
			c := claimsOf(t, n.s, m["access_token"].(string))
			subj := claimsOf(t, n.s, tc.subject)
			if c.Subject != subj.Subject || c.Org != tc.org || c.Mode != tc.mode || c.HomeOrg != tc.homeOrg {
				t.Fatalf("claims %+v", c)
			}
			// A refresh of a switched family keeps the switched organisation.
			code, r := n.refresh(t, m["refresh_token"].(string))
			if code != 200 {
				t.Fatalf("refresh %d %v", code, r)
			}
			if rc := claimsOf(t, n.s, r["access_token"].(string)); rc.Org != tc.org || rc.Mode != tc.mode {
				t.Fatalf("refreshed switched claims %+v", rc)
			}
		})
	}
	t.Run("denial is invalid_target", func(t *testing.T) {
		_, m := exchange(aliceAT, url.Values{"organisation_id": {n.bizB}})
		if m["error"] != "invalid_target" {
			t.Fatalf("%v", m)
		}
	})

	// A leaked access token cannot outlive a revoked sign-in: once its
	// refresh token is revoked (RFC 7009) the access token is dead too, so
	// it cannot be exchanged into a fresh family.
	leaked := n.s.signIn(t, n.alice, userPassword)
	if resp, m := n.s.postForm(t, "/oauth2/revoke", url.Values{"token": {leaked["refresh_token"].(string)}, "client_id": {"backoffice"}}, "", ""); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %v", resp.StatusCode, m)
	}
	if code, m := exchange(leaked["access_token"].(string), url.Values{"mode": {"live"}}); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("exchange of a revoked sign-in's access token: %d %v", code, m)
	}
	if code, m, _ := n.s.call(t, "POST", "/backoffice/v1/organisations/"+n.bizA+"/switch", leaked["access_token"].(string), nil); code != 401 {
		t.Fatalf("switch with a revoked sign-in's access token: %d %v", code, m)
	}

	// The CRM switch endpoint does the same.
	code, sw, _ := n.s.call(t, "POST", "/backoffice/v1/organisations/"+n.merchM+"/switch", aliceAT, map[string]string{"mode": "test"})
	if code != 200 || sw["current_organisation"].(map[string]any)["id"] != n.merchM || sw["mode"] != "test" {
		t.Fatalf("switch: %d %v", code, sw)
	}
	code, sw, _ = n.s.call(t, "POST", "/backoffice/v1/organisations/"+n.bizB+"/switch", aliceAT, nil)
	if code != 403 || sw["code"] != "FORBIDDEN_ORGANISATION" {
		t.Fatalf("forbidden switch: %d %v", code, sw)
	}
	// A contact token can never be exchanged into a back-office organisation.
	now := time.Now()
	contactAT, err := n.s.App.Tokens.Issue(token.Claims{Subject: "c1", Kind: "contact", ClientID: "backoffice", Org: n.bizA, Mode: "live",
		Audience: token.Audience{n.s.URL}, ExpiresAt: now.Add(time.Minute).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if code, m := exchange(contactAT, url.Values{"organisation_id": {n.bizA}}); code != 400 || m["error"] != "invalid_target" {
		t.Fatalf("contact exchange: %d %v", code, m)
	}
	if code, m, _ := n.s.call(t, "POST", "/backoffice/v1/organisations/"+n.bizA+"/switch", contactAT, nil); code != 403 {
		t.Fatalf("contact switch: %d %v", code, m)
	}
}

func TestRemovedRightsAndDisabledUser(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	mia := n.s.signIn(t, n.mia, userPassword)
	// Refresh once so the membership is in the authorization cache.
	code, r := n.refresh(t, mia["refresh_token"].(string))
	if code != 200 {
		t.Fatalf("refresh: %d %v", code, r)
	}
	// Alice (admin of the business above) gives mia a second merchant, then
	// removes her from the first: the next refresh of the first merchant's
	// family fails (the family ends).
	aliceAT := n.s.signIn(t, n.alice, userPassword)["access_token"].(string)
	code, m2, _ := n.s.call(t, "POST", "/backoffice/v1/organisations", aliceAT, map[string]any{"name": "M2", "type": "merchant", "parent_id": n.bizA})
	if code != 201 {
		t.Fatalf("create M2: %d %v", code, m2)
	}
	if code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users/"+n.miaID+"/memberships", aliceAT,
		map[string]string{"organisation_id": m2["id"].(string), "role": "member"}); code != 201 {
		t.Fatalf("add membership: %d %v", code, m)
	}
	if code, m, _ := n.s.call(t, "DELETE", "/backoffice/v1/users/"+n.miaID+"/memberships/"+n.merchM, n.s.signIn(t, n.mia, userPassword)["access_token"].(string), nil); code != 403 {
		t.Fatalf("a member removed her own membership: %d %v", code, m)
	}
	if code, m, _ := n.s.call(t, "DELETE", "/backoffice/v1/users/"+n.miaID+"/memberships/"+n.merchM, aliceAT, nil); code != 204 {
		t.Fatalf("remove membership: %d %v", code, m)
	}
	if code, m := n.refresh(t, r["refresh_token"].(string)); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("refresh without membership: %d %v", code, m)
	}
	// Signing in again acts for the remaining membership.
	again := n.s.signIn(t, n.mia, userPassword)
	if again["current_organisation"].(map[string]any)["id"] != m2["id"] {
		t.Fatalf("after removal: %v", again["current_organisation"])
	}

	bob := n.s.signIn(t, n.bob, userPassword)
	// Only an admin above bob may disable him: alice may not.
	code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users/"+n.bobID+"/disable", n.s.signIn(t, n.alice, userPassword)["access_token"].(string), nil)
	if code != 403 {
		t.Fatalf("alice disabled bob: %d %v", code, m)
	}
	code, m, _ = n.s.call(t, "POST", "/backoffice/v1/users/"+n.bobID+"/disable", n.adminToken, nil)
	if code != 204 {
		t.Fatalf("disable: %d %v", code, m)
	}
	// The revocation log holds it at once, for every replica and every service
	// verifying tokens itself, not only for this process's rights check.
	parsed, err := n.s.App.Tokens.Parse(bob["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !n.s.App.Revocations.Revoked(parsed) {
		t.Fatal("disabling a user wrote no revocation of the user's tokens")
	}
	if code, m := n.refresh(t, bob["refresh_token"].(string)); code != 400 {
		t.Fatalf("disabled user's refresh: %d %v", code, m)
	}
	// Introspection (and so every proxy) sees his access token inactive at once.
	if m := n.s.introspect(t, bob["access_token"].(string), ""); m["active"] != false {
		t.Fatalf("disabled user's token introspects active: %v", m)
	}
	// His access token no longer opens the back office either.
	if code, m, _ := n.s.call(t, "GET", "/backoffice/v1/users/me/organisations", bob["access_token"].(string), nil); code != 401 || m["code"] != "INVALID_TOKEN" {
		t.Fatalf("disabled user's access token: %d %v", code, m)
	}
	code, m, _ = n.s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": n.bob, "password": userPassword})
	if code != 401 || m["code"] != "INVALID_CREDENTIALS" {
		t.Fatalf("disabled sign-in: %d %v", code, m)
	}
}

func TestManagementRights(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	alice := n.s.signIn(t, n.alice, userPassword)["access_token"].(string)
	mia := n.s.signIn(t, n.mia, userPassword)["access_token"].(string)
	code, sw, _ := n.s.call(t, "POST", "/backoffice/v1/organisations/"+n.merchM+"/switch", alice, map[string]string{"mode": "test"})
	if code != 200 {
		t.Fatalf("alice switches into M: %d %v", code, sw)
	}
	aliceInM := sw["access_token"].(string)
	tests := []struct {
		name   string
		tok    string
		path   string
		body   map[string]any
		status int
		code   string
	}{
		{"admin creates a merchant below her business", alice, "/backoffice/v1/organisations", map[string]any{"name": "M2", "type": "merchant", "parent_id": n.bizA}, 201, ""},
		{"admin may not create below another business", alice, "/backoffice/v1/organisations", map[string]any{"name": "X", "type": "merchant", "parent_id": n.bizB}, 403, "FORBIDDEN_ORGANISATION"},
		// A token switched into merchant M (test mode) manages M and below
		// only, whatever alice could do with a token acting for A.
		{"switched token manages its organisation", aliceInM, "/backoffice/v1/organisations", map[string]any{"name": "M-shop", "type": "shop", "parent_id": n.merchM}, 201, ""},
		{"switched token may not create above it", aliceInM, "/backoffice/v1/organisations", map[string]any{"name": "X", "type": "merchant", "parent_id": n.bizA}, 403, "FORBIDDEN_ORGANISATION"},
		{"switched token may not create users above it", aliceInM, "/backoffice/v1/users", map[string]any{"email": "z@a.example", "password": userPassword,
			"memberships": []map[string]string{{"organisation_id": n.bizA, "role": "admin"}}}, 403, "FORBIDDEN_ORGANISATION"},
		{"member may not create", mia, "/backoffice/v1/organisations", map[string]any{"name": "X", "type": "merchant", "parent_id": n.merchM}, 403, "FORBIDDEN"},
		{"no second service owner", n.adminToken, "/backoffice/v1/organisations", map[string]any{"name": "X", "type": "service_owner", "parent_id": n.so}, 422, "VALIDATION_FAILED"},
		{"admin may not grant owner", alice, "/backoffice/v1/users", map[string]any{"email": "x@a.example", "password": userPassword,
			"memberships": []map[string]string{{"organisation_id": n.bizA, "role": "owner"}}}, 403, "FORBIDDEN"},
		{"common password refused", alice, "/backoffice/v1/users", map[string]any{"email": "y@a.example", "password": "password123",
			"memberships": []map[string]string{{"organisation_id": n.bizA, "role": "member"}}}, 422, "VALIDATION_FAILED"},
		{"short password refused", alice, "/backoffice/v1/users", map[string]any{"email": "y@a.example", "password": "short",
			"memberships": []map[string]string{{"organisation_id": n.bizA, "role": "member"}}}, 422, "VALIDATION_FAILED"},
		{"duplicate email", alice, "/backoffice/v1/users", map[string]any{"email": "MIA@m.example", "password": userPassword,
			"memberships": []map[string]string{{"organisation_id": n.merchM, "role": "member"}}}, 409, "CONFLICT"},
		// An admin adds memberships only for users she can already manage:
		// not another business's owner, nor the service owner's admin, and
		// an unknown id answers the same.
		{"admin may not pull in another business's user", alice, "/backoffice/v1/users/" + n.bobID + "/memberships", map[string]any{"organisation_id": n.bizA, "role": "admin"}, 403, "FORBIDDEN"},
		{"admin may not pull in the service owner's admin", alice, "/backoffice/v1/users/" + n.s.Boot.Admin.ID + "/memberships", map[string]any{"organisation_id": n.bizA, "role": "member"}, 403, "FORBIDDEN"},
		{"unknown user answers the same", alice, "/backoffice/v1/users/no-such-user/memberships", map[string]any{"organisation_id": n.bizA, "role": "member"}, 403, "FORBIDDEN"},
		{"admin adds her merchant's member to her business", alice, "/backoffice/v1/users/" + n.miaID + "/memberships", map[string]any{"organisation_id": n.bizA, "role": "member"}, 201, ""},
		{"unknown user cannot be told from a foreign one when disabling", alice, "/backoffice/v1/users/no-such-user/disable", nil, 403, "FORBIDDEN"},
		{"unknown field", alice, "/backoffice/v1/organisations", map[string]any{"name": "X", "type": "merchant", "colour": "red"}, 422, "VALIDATION_FAILED"},
		{"wrong type", alice, "/backoffice/v1/organisations", map[string]any{"name": 5, "type": "merchant"}, 422, "VALIDATION_FAILED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, m, _ := n.s.call(t, "POST", tc.path, tc.tok, tc.body)
			if code != tc.status || (tc.code != "" && m["code"] != tc.code) {
				t.Fatalf("%d %v", code, m)
			}
		})
	}
	// A user of business A: alice's token switched into M may not disable
	// them (answered like any user outside its reach); acting for A she may.
	code, u, _ := n.s.call(t, "POST", "/backoffice/v1/users", alice, map[string]any{"email": "ann@a.example", "password": userPassword,
		"memberships": []map[string]string{{"organisation_id": n.bizA, "role": "member"}}})
	if code != 201 {
		t.Fatalf("create ann: %d %v", code, u)
	}
	if code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users/"+u["id"].(string)+"/memberships", aliceInM,
		map[string]string{"organisation_id": n.merchM, "role": "member"}); code != 403 || m["code"] != "FORBIDDEN" {
		t.Fatalf("switched token pulls a user of A into M: %d %v", code, m)
	}
	if code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users/"+u["id"].(string)+"/disable", aliceInM, nil); code != 403 || m["code"] != "FORBIDDEN" {
		t.Fatalf("switched token disables a user of A: %d %v", code, m)
	}
	if code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users/"+u["id"].(string)+"/disable", alice, nil); code != 204 {
		t.Fatalf("alice acting for A disables ann: %d %v", code, m)
	}
	// Token problems are machine-readable so a UI can refresh silently.
	expired, _ := n.s.App.Tokens.Issue(token.Claims{Subject: n.aliceID, Kind: "user", ClientID: "backoffice", Org: n.bizA, Mode: "live",
		Audience: token.Audience{n.s.URL}, IssuedAt: time.Now().Add(-time.Hour).Unix(), ExpiresAt: time.Now().Add(-30 * time.Minute).Unix()})
	for tok, want := range map[string]string{expired: "TOKEN_EXPIRED", "garbage": "INVALID_TOKEN", "": "INVALID_TOKEN"} {
		code, m, h := n.s.call(t, "GET", "/backoffice/v1/users/me/organisations", tok, nil)
		if code != 401 || m["code"] != want || h.Get("WWW-Authenticate") == "" {
			t.Fatalf("token %.10q: %d %v", tok, code, m)
		}
	}
}

func TestBruteForceAndEnumeration(t *testing.T) {
	const limit = 12
	cfg := testConfig(t)
	cfg.RateLimits.PasswordPerAccountPerHour = limit
	cfg.RateLimits.PasswordPerIPPerMinute = 1000
	n := newNetwork(t, cfg)

	try := func(user string) (int, map[string]any, http.Header, time.Duration) {
		start := time.Now()
		code, m, h := n.s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": user, "password": "not-the-password"})
		return code, m, h, time.Since(start)
	}
	// Same error for a known and an unknown account, and similar time:
	// medians of interleaved attempts, so a busy machine's noise cancels.
	const samples = 9
	var known, unknown []time.Duration
	for i := 0; i < samples; i++ {
		c1, m1, _, d1 := try(n.alice)
		c2, m2, _, d2 := try("ghost@nowhere.example")
		if c1 != 401 || c2 != 401 || m1["code"] != m2["code"] || m1["detail"] != m2["detail"] {
			t.Fatalf("known %d %v unknown %d %v", c1, m1, c2, m2)
		}
		known, unknown = append(known, d1), append(unknown, d2)
	}
	slices.Sort(known)
	slices.Sort(unknown)
	if ratio := float64(known[samples/2]) / float64(unknown[samples/2]); ratio < 0.5 || ratio > 2 {
		t.Fatalf("timing differs: median known %v unknown %v", known[samples/2], unknown[samples/2])
	}
	// The attempts up to the limit pass the limit check, then 429 with
	// Retry-After, for known and unknown accounts alike, even with the
	// right password.
	for i := samples; i < limit; i++ {
		try(n.alice)
	}
	code, m, h, _ := try(n.alice)
	if code != 429 || m["code"] != "RATE_LIMITED" || h.Get("Retry-After") == "" {
		t.Fatalf("brute force: %d %v %v", code, m, h)
	}
	code, m, _ = n.s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": n.alice, "password": userPassword})
	if code != 429 {
		t.Fatalf("right password while limited: %d %v", code, m)
	}
	for i := samples; i < limit; i++ {
		try("ghost@nowhere.example")
	}
	if code, _, _, _ := try("ghost@nowhere.example"); code != 429 {
		t.Fatalf("unknown account not limited alike: %d", code)
	}
	// The OAuth password grant shares the limit.
	resp, om := n.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"backoffice"},
		"username": {n.alice}, "password": {userPassword}}, "", "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("password grant while limited: %d %v", resp.StatusCode, om)
	}
}

// TestTokensStayWithTheirClient: a token is exchanged (RFC 8693 or the
// switch endpoint) only by the client it was issued to, and a client
// without the refresh_token grant gets no refresh token from any grant.
func TestTokensStayWithTheirClient(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	ctx := context.Background()
	for _, c := range []store.Client{
		{ID: "reports", Name: "reports", Public: true, GrantTypes: []string{"password"}},
		{ID: "kiosk", Name: "kiosk", Public: true, GrantTypes: []string{"password", "urn:ietf:params:oauth:grant-type:token-exchange"}},
	} {
		c.CreatedAt = time.Now()
		if err := n.s.App.Store.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	grant := func(client string, form url.Values) (int, map[string]any) {
		form.Set("client_id", client)
		resp, m := n.s.postForm(t, "/oauth2/token", form, "", "")
		return resp.StatusCode, m
	}
	password := url.Values{"grant_type": {"password"}, "username": {n.alice}, "password": {userPassword}}
	exchange := func(subject string) url.Values {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {subject},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "mode": {"test"}}
	}

	code, rep := grant("reports", password)
	if code != 200 || rep["refresh_token"] != nil {
		t.Fatalf("password grant for a client without refresh_token: %d %v", code, rep)
	}
	at := rep["access_token"].(string)
	if c := claimsOf(t, n.s, at); c.ClientID != "reports" || c.Family != "" {
		t.Fatalf("claims %+v: want client reports and no refresh family", c)
	}
	// Another client cannot exchange it, by either door.
	if code, m := grant("backoffice", exchange(at)); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("exchange by another client: %d %v", code, m)
	}
	if code, m, _ := n.s.call(t, "POST", "/backoffice/v1/organisations/"+n.bizA+"/switch", at, map[string]string{"mode": "test"}); code != 403 || m["code"] != "FORBIDDEN" {
		t.Fatalf("switch with another client's token: %d %v", code, m)
	}
	// Its own client may exchange it (when it has the grant), still
	// without a refresh token.
	code, kiosk := grant("kiosk", password)
	if code != 200 || kiosk["refresh_token"] != nil {
		t.Fatalf("kiosk password grant: %d %v", code, kiosk)
	}
	code, ex := grant("kiosk", exchange(kiosk["access_token"].(string)))
	if code != 200 || ex["refresh_token"] != nil {
		t.Fatalf("kiosk exchange: %d %v", code, ex)
	}
	if c := claimsOf(t, n.s, ex["access_token"].(string)); c.ClientID != "kiosk" || c.Mode != "test" || c.Family != "" {
		t.Fatalf("exchanged claims %+v", c)
	}
}

// TestFailedSignInIsInTheAuditTrail: a failed sign-in of a known user is
// filed under the user's organisation, so its admins can read it.
func TestFailedSignInIsInTheAuditTrail(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	if code, _, _ := n.s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": n.mia, "password": "not-her-password-1"}); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	alice := n.s.signIn(t, n.alice, userPassword)["access_token"].(string)
	code, ev, _ := n.s.call(t, "GET", "/backoffice/v1/audit-events?action=user.signin_failed", alice, nil)
	if code != 200 {
		t.Fatalf("audit: %d %v", code, ev)
	}
	for _, e := range ev["events"].([]any) {
		if e.(map[string]any)["target_id"] == n.miaID {
			return
		}
	}
	t.Fatalf("mia's failed sign-in is not in her business's audit trail: %v", ev["events"])
}
