package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/upstream/facebook"
	"github.com/authd/authd/internal/upstream/facebook/facebooktest"
)

// Per-client token lifetimes, end to end: every grant honours the
// client's access-token lifetime, refresh families its refresh
// lifetimes, and no revocation ends before the longest access token it
// covers.

// newLifetimesEnv is the self-service and Facebook environment on a fake
// clock.
func newLifetimesEnv(t *testing.T, clk *clock.Fake) *fbEnv {
	t.Helper()
	graph := facebooktest.NewServer(t, fbAppID, fbAppSecret)
	ll := facebooktest.NewLimitedLogin(t)
	gw := newGateway(t)
	cfg := lenient(testConfig(t))
	cfg.OTP.Sender, cfg.OTP.WebhookURL, cfg.OTP.WebhookSecret = "webhook", gw.srv.URL, "gateway-shared-secret-0123456789"
	cfg.OTP.ResendCooldown = 0
	cfg.Facebook.AppID, cfg.Facebook.AppSecret, cfg.Facebook.GraphURL = fbAppID, fbAppSecret, graph.URL()
	cfg.Facebook.LimitedLoginJWKSURL, cfg.Facebook.LimitedLoginIssuer = ll.JWKSURL(), ll.Issuer()
	cfg.Facebook.Timeout = time.Second
	gw.secret = []byte(cfg.OTP.WebhookSecret)
	n := newNetworkWith(t, cfg, app.Options{Clock: clk.Now})
	k := n.s.Boot.APIKeys
	return &fbEnv{
		selfServiceEnv: &selfServiceEnv{network: n, gw: gw, live: k["live"].Public, test: k["test"].Public, liveSK: k["live"].Secret, testSK: k["test"].Secret},
		graph:          graph, ll: ll,
	}
}

// createClient registers a client as the service owner's admin and
// returns its id and secret.
func createClient(t *testing.T, s *testServer, admin string, body map[string]any) (string, string) {
	t.Helper()
	r := akDo(t, s, "POST", clientsPath, akBearer(admin), body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create client %v: %d %s", body, r.Status, r.Raw)
	}
	secret, _ := r.Body["client_secret"].(string)
	return r.Body["client_id"].(string), secret
}

// checkLifetime: the token answer's expires_in and its JWT's exp − iat
// are both want.
func checkLifetime(t *testing.T, s *testServer, what string, m map[string]any, want time.Duration) {
	t.Helper()
	at, _ := m["access_token"].(string)
	if at == "" {
		t.Fatalf("%s: no access token in %v", what, m)
	}
	if got, _ := m["expires_in"].(float64); int64(got) != int64(want/time.Second) {
		t.Errorf("%s: expires_in %v, want %d", what, m["expires_in"], int64(want/time.Second))
	}
	if c := claimsOf(t, s, at); c.ExpiresAt-c.IssuedAt != int64(want/time.Second) {
		t.Errorf("%s: exp − iat = %d, want %d", what, c.ExpiresAt-c.IssuedAt, int64(want/time.Second))
	}
}

// TestClientAccessLifetimeEveryGrant: a client with a two-minute access
// lifetime gets expires_in 120 and exp = iat + 120 from every grant it
// holds (password, refresh_token, token exchange, OTP, Facebook,
// client_credentials), while a client without one keeps the default; the
// CRM endpoints honour the lifetime of the client they issue for.
func TestClientAccessLifetimeEveryGrant(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now())
	e := newLifetimesEnv(t, clk)
	s := e.s
	admin := rootAdminToken(t, s)
	const two = 2 * time.Minute
	def := s.App.Config.Tokens.AccessTokenTTL
	if def == two {
		t.Fatal("the default lifetime is the one under test: the test proves nothing")
	}

	users, _ := createClient(t, s, admin, map[string]any{"name": "Users app", "type": "public", "access_token_ttl": 120,
		"grant_types": []string{"password", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"}})
	contacts, _ := createClient(t, s, admin, map[string]any{"name": "Contacts app", "type": "public", "access_token_ttl": 120,
		"grant_types":     []string{"urn:authd:params:oauth:grant-type:otp", "urn:ietf:params:oauth:grant-type:token-exchange"},
		"organisation_id": e.bizA, "mode": "live"})
	svc, svcSecret := createClient(t, s, admin, map[string]any{"name": "Service", "type": "confidential", "access_token_ttl": 120,
		"grant_types": []string{"client_credentials"}})
	plain, plainSecret := createClient(t, s, admin, map[string]any{"name": "Plain", "type": "confidential", "grant_types": []string{"client_credentials"}})

	// password
	resp, pw := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {users},
		"username": {s.Boot.Admin.Email}, "password": {s.Boot.Admin.Password}}, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("password: %d %v", resp.StatusCode, pw)
	}
	checkLifetime(t, s, "password", pw, two)
	// refresh_token
	resp, rf := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {users},
		"refresh_token": {pw["refresh_token"].(string)}}, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("refresh: %d %v", resp.StatusCode, rf)
	}
	checkLifetime(t, s, "refresh_token", rf, two)
	// token exchange (masquerading into business A)
	resp, ex := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {users},
		"subject_token": {rf["access_token"].(string)}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"organisation_id": {e.bizA}}, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("token exchange: %d %v", resp.StatusCode, ex)
	}
	checkLifetime(t, s, "token exchange", ex, two)

	// OTP: a phone contact of business A, then a code for it.
	phone := map[string]string{"provider": "PHONE", "phone_number": "07566224395", "country_code": "GBR"}
	code, reg, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", e.live, map[string]any{"first_name": "Pat", "identity": phone})
	if code != 201 {
		t.Fatalf("register: %d %v", code, reg)
	}
	regID := reg["otp"].(map[string]any)["otp_id"].(string)
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+regID+"/validate", e.live, map[string]string{"code": e.gw.codeFor(regID)}); code != 200 {
		t.Fatalf("validate registration: %d %v", code, m)
	}
	code, o, _ := e.keyCall(t, "POST", "/self-service/v1/otps", e.live, map[string]string{"channel": "SMS", "phone_number": "07566224395", "country_code": "GBR"})
	if code != 201 {
		t.Fatalf("request otp: %d %v", code, o)
	}
	otpID := o["otp_id"].(string)
	resp, otp := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"urn:authd:params:oauth:grant-type:otp"}, "client_id": {contacts},
		"otp_id": {otpID}, "code": {e.gw.codeFor(otpID)}}, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("otp grant: %d %v", resp.StatusCode, otp)
	}
	checkLifetime(t, s, "otp", otp, two)

	// Facebook (token exchange with subject_issuer=facebook).
	e.graph.AddUser("EAAgood", facebook.Profile{ID: "fb-1", FirstName: "Fay", LastName: "Book", Email: "fay@example.com"})
	resp, fb := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {contacts},
		"subject_token": {"EAAgood"}, "subject_issuer": {"facebook"}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("facebook: %d %v", resp.StatusCode, fb)
	}
	checkLifetime(t, s, "facebook", fb, two)

	// client_credentials; a client without a lifetime keeps the default.
	code, cc := ccToken(t, s, svc, svcSecret)
	if code != 200 {
		t.Fatalf("client_credentials: %d %v", code, cc)
	}
	checkLifetime(t, s, "client_credentials", cc, two)
	if code, cc = ccToken(t, s, plain, plainSecret); code != 200 {
		t.Fatalf("client_credentials (default): %d %v", code, cc)
	}
	checkLifetime(t, s, "client_credentials of a client without its own lifetime", cc, def)

	// The token really ends at its exp: two minutes and a leeway later it
	// is expired, while the default-lifetime one still works.
	clk.Advance(two + 31*time.Second)
	if m := s.introspect(t, pw["access_token"].(string), ""); m["active"] != false {
		t.Fatalf("a two-minute token after 2m31s: %v", m)
	}
	if m := s.introspect(t, cc["access_token"].(string), ""); m["active"] != true {
		t.Fatalf("a default token after 2m31s: %v", m)
	}

	// The CRM endpoints issue for the backoffice client: they follow its
	// lifetime once it has one.
	admin = rootAdminToken(t, s)
	if r := akDo(t, s, "PATCH", clientsPath+"/backoffice", akBearer(admin), map[string]any{"access_token_ttl": 120}); r.Status != 200 || r.Body["access_token_ttl"] != float64(120) {
		t.Fatalf("patch backoffice: %d %s", r.Status, r.Raw)
	}
	crm := s.signIn(t, s.Boot.Admin.Email, s.Boot.Admin.Password)
	checkLifetime(t, s, "back-office sign-in", crm, two)
	code, crmRefresh, _ := s.call(t, "POST", "/backoffice/v1/users/refresh", "", map[string]any{"refresh_token": crm["refresh_token"]})
	if code != 200 {
		t.Fatalf("back-office refresh: %d %v", code, crmRefresh)
	}
	checkLifetime(t, s, "back-office refresh", crmRefresh, two)
}

// TestClientRefreshLifetimes: a client's refresh lifetimes end its
// families (idle, then absolute), introspection reports them, and the
// service's own lifetimes would have kept the family alive.
func TestClientRefreshLifetimes(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now())
	s := newTestServerWith(t, lenient(testConfig(t)), app.Options{Clock: clk.Now})
	admin := rootAdminToken(t, s)
	if s.App.Config.Tokens.RefreshIdleTTL <= 10*time.Minute || s.App.Config.Tokens.RefreshTokenTTL <= 10*time.Minute {
		t.Fatal("the service's lifetimes are as short as the client's: the test proves nothing")
	}
	id, _ := createClient(t, s, admin, map[string]any{"name": "Kiosk", "type": "public", "grant_types": []string{"password", "refresh_token"},
		"refresh_token_ttl": 600, "refresh_token_idle_ttl": 300})
	signIn := func() string {
		t.Helper()
		resp, m := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {id},
			"username": {s.Boot.Admin.Email}, "password": {s.Boot.Admin.Password}}, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("password: %d %v", resp.StatusCode, m)
		}
		return m["refresh_token"].(string)
	}
	refresh := func(rt string) (int, map[string]any) {
		t.Helper()
		resp, m := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {rt}}, "", "")
		return resp.StatusCode, m
	}

	// Idle: 300 s.
	rt := signIn()
	if m := s.introspect(t, rt, "refresh_token"); m["active"] != true || int64(m["exp"].(float64)) != clk.Now().Add(300*time.Second).Unix() {
		t.Fatalf("introspection of a new refresh token: %v (now %d)", m, clk.Now().Unix())
	}
	clk.Advance(299 * time.Second)
	code, m := refresh(rt)
	if code != 200 {
		t.Fatalf("refresh within the idle lifetime: %d %v", code, m)
	}
	rt = m["refresh_token"].(string)
	clk.Advance(301 * time.Second)
	if m := s.introspect(t, rt, "refresh_token"); m["active"] != false {
		t.Fatalf("introspection after the client's idle lifetime: %v", m)
	}
	if code, m := refresh(rt); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("refresh after the client's idle lifetime: %d %v", code, m)
	}

	// Absolute: 600 s, however often the family is used.
	rt = signIn()
	for range 2 {
		clk.Advance(250 * time.Second)
		code, m := refresh(rt)
		if code != 200 {
			t.Fatalf("refresh within the absolute lifetime: %d %v", code, m)
		}
		rt = m["refresh_token"].(string)
	}
	// 500 s in: the token's idle expiry (300 s) lies past the family's end.
	if m := s.introspect(t, rt, "refresh_token"); m["active"] != true || int64(m["exp"].(float64)) != clk.Now().Add(100*time.Second).Unix() {
		t.Fatalf("introspection near the family's end: %v", m)
	}
	clk.Advance(100 * time.Second)
	if code, m := refresh(rt); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("refresh at the client's absolute end: %d %v", code, m)
	}
}

// TestRevocationsOutliveLongClientTokens: a client may give its access
// tokens a longer life than the default; the revocations that end every
// token of a session or of a client last as long as such a token, so it
// can never outlive them (a service following the feed would otherwise
// accept it again once the entry expired).
func TestRevocationsOutliveLongClientTokens(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, lenient(testConfig(t)))
	admin := rootAdminToken(t, s)
	const long = 6 * time.Hour
	if long <= s.App.Config.Tokens.AccessTokenTTL || long > s.App.Config.Tokens.MaxAccessTokenTTL {
		t.Fatal("the lifetime under test is not between the default and the maximum")
	}
	id, secret := createClient(t, s, admin, map[string]any{"name": "Long", "type": "confidential",
		"grant_types": []string{"password", "refresh_token", "client_credentials"}, "access_token_ttl": int64(long / time.Second)})
	resp, pw := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"},
		"username": {s.Boot.Admin.Email}, "password": {s.Boot.Admin.Password}}, id, secret)
	if resp.StatusCode != 200 {
		t.Fatalf("password: %d %v", resp.StatusCode, pw)
	}
	checkLifetime(t, s, "password", pw, long)
	session := claimsOf(t, s, pw["access_token"].(string))
	_, cc := ccToken(t, s, id, secret)
	ccClaims := claimsOf(t, s, cc["access_token"].(string))

	until := func(kind, key string) int64 {
		t.Helper()
		for _, e := range feedEntriesUntil(t, s) {
			if e.Kind == kind && e.Key == key {
				return e.Until
			}
		}
		t.Fatalf("no %s entry for %s in the feed", kind, key)
		return 0
	}

	// Ending the session (RFC 7009 on its refresh token) revokes its
	// access tokens by sid, for as long as the longest of them lives.
	if resp, m := s.postForm(t, "/oauth2/revoke", url.Values{"token": {pw["refresh_token"].(string)}}, id, secret); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %v", resp.StatusCode, m)
	}
	if m := s.introspect(t, pw["access_token"].(string), ""); m["active"] != false {
		t.Fatalf("access token of an ended session: %v", m)
	}
	if u := until(store.RevokeFamily, session.Family); u < session.ExpiresAt {
		t.Fatalf("the session's revocation ends at %d, before its access token (exp %d)", u, session.ExpiresAt)
	}

	// Deleting the client revokes everything issued to it, as long.
	if r := akDo(t, s, "DELETE", clientsPath+"/"+id, akBearer(admin), nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	if u := until(store.RevokeClient, id); u < ccClaims.ExpiresAt {
		t.Fatalf("the client's revocation ends at %d, before its token (exp %d)", u, ccClaims.ExpiresAt)
	}
	// And a retired signing key stays published as long.
	if got := app.KeysConfig(s.App.Config).MaxTokenTTL; got < long {
		t.Fatalf("signing keys are kept %v after they last sign, less than a client's token lives", got)
	}
}

// feedEntriesUntil reads the revocation feed with each entry's end.
func feedEntriesUntil(t testing.TB, s *testServer) []struct {
	Kind  string `json:"kind"`
	Key   string `json:"key"`
	Until int64  `json:"until"`
} {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/oauth2/revocations?since=0", nil)
	req.SetBasicAuth(s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Revocations []struct {
			Kind  string `json:"kind"`
			Key   string `json:"key"`
			Until int64  `json:"until"`
		} `json:"revocations"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("feed: %d", resp.StatusCode)
	}
	return out.Revocations
}
