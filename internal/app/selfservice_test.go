package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/store"
)

// smsGateway is a user's SMS/email gateway behind the webhook sender: it
// checks the signature and keeps the codes.
type smsGateway struct {
	t      testing.TB
	srv    *httptest.Server
	secret []byte
	mu     sync.Mutex
	got    []map[string]string
	fail   int // answer this status instead of 200 when non-zero
}

func newGateway(t testing.TB) *smsGateway {
	g := &smsGateway{t: t}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := sender.VerifyWebhookSignature(g.secret, r.Header.Get("X-Authd-Signature"), body, time.Now(), sender.DefaultWebhookTolerance); err != nil {
			t.Errorf("webhook signature does not verify: %v", err)
			w.WriteHeader(401)
			return
		}
		var m map[string]string
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("webhook body %s", body)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.fail != 0 {
			w.WriteHeader(g.fail)
			return
		}
		g.got = append(g.got, m)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *smsGateway) messages() []map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]string(nil), g.got...)
}

// codeFor returns the last code sent for otpID.
func (g *smsGateway) codeFor(otpID string) string {
	for _, m := range g.messages() {
		if m["otp_id"] == otpID {
			return m["code"]
		}
	}
	g.t.Fatalf("no code was sent for %s (sent: %d)", otpID, len(g.messages()))
	return ""
}

type selfServiceEnv struct {
	*network
	gw             *smsGateway
	live, test     string // public keys
	liveSK, testSK string // secret keys
}

func newSelfService(t testing.TB, mutate func(*config.Config)) *selfServiceEnv {
	return newSelfServiceWith(t, mutate, app.Options{})
}

// newSelfServiceWith is newSelfService with parts of the wiring replaced
// (a fake clock).
func newSelfServiceWith(t testing.TB, mutate func(*config.Config), opts app.Options) *selfServiceEnv {
	gw := newGateway(t)
	cfg := lenient(testConfig(t))
	cfg.OTP.Sender = "webhook"
	cfg.OTP.WebhookURL = gw.srv.URL
	cfg.OTP.WebhookSecret = "gateway-shared-secret-0123456789"
	cfg.OTP.ResendCooldown = 0
	if mutate != nil {
		mutate(cfg)
	}
	gw.secret = []byte(cfg.OTP.WebhookSecret)
	n := newNetworkWith(t, cfg, opts)
	k := n.s.Boot.APIKeys
	return &selfServiceEnv{network: n, gw: gw, live: k["live"].Public, test: k["test"].Public, liveSK: k["live"].Secret, testSK: k["test"].Secret}
}

// keyCall calls a self-service endpoint with an api_key header.
func (e *selfServiceEnv) keyCall(t testing.TB, method, path, key string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = strings.NewReader(string(raw))
	}
	req, _ := http.NewRequest(method, e.s.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("api_key", key)
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

// register registers a contact (any identity: a code is always sent) and
// validates the code the gateway received: the auth response.
func (e *selfServiceEnv) register(t testing.TB, key string, body any) map[string]any {
	t.Helper()
	code, reg, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", key, body)
	if code != 201 || reg["otp"] == nil {
		t.Fatalf("register: %d %v", code, reg)
	}
	id := reg["otp"].(map[string]any)["otp_id"].(string)
	code, auth, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+id+"/validate", key, map[string]string{"code": e.gw.codeFor(id)})
	if code != 200 {
		t.Fatalf("validate the registration code: %d %v", code, auth)
	}
	return auth
}

// guideRegistration is the CRM guide's registration body, booleans as
// strings as in the guide.
const guideRegistration = `{"first_name":"Jimmy","last_name":"Connors","identity":{"provider":"PHONE","phone_number":"07566224395","country_code":"GBR"},"service_acceptance":"true","email_opt_out":"true","sms_opt_out":true}`

func TestSelfServicePhoneFlow(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)

	// 1. Register.
	code, reg, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", e.live, guideRegistration)
	if code != 201 {
		t.Fatalf("register: %d %v", code, reg)
	}
	contact := reg["contact"].(map[string]any)
	if contact["phone_number"] != "+447566224395" || contact["first_name"] != "Jimmy" || contact["service_acceptance"] != true ||
		contact["email_opt_out"] != true || contact["sms_opt_out"] != true {
		t.Fatalf("contact %v", contact)
	}
	otpID := reg["otp"].(map[string]any)["otp_id"].(string)

	// 2. The code went to the phone through the gateway.
	msgs := e.gw.messages()
	if len(msgs) != 1 || msgs[0]["to"] != "+447566224395" || msgs[0]["channel"] != "sms" || len(msgs[0]["code"]) != 6 || msgs[0]["purpose"] != "register" {
		t.Fatalf("gateway got %v", msgs)
	}

	// A wrong code first.
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+otpID+"/validate", e.live, map[string]string{"code": "000000x"}); code != 401 || m["code"] != "INVALID_OTP" {
		t.Fatalf("wrong code: %d %v", code, m)
	}
	// 3. Validate: the auth response.
	code, auth, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+otpID+"/validate", e.live, map[string]string{"code": e.gw.codeFor(otpID)})
	if code != 200 || auth["access_token"] == nil || auth["refresh_token"] == nil || auth["mode"] != "live" {
		t.Fatalf("validate: %d %v", code, auth)
	}
	ac := auth["contact"].(map[string]any)
	if ac["id"] != contact["id"] || ac["avatar_url"] != nil || auth["current_organisation"].(map[string]any)["id"] != e.bizA {
		t.Fatalf("auth contact %v", auth)
	}
	if _, ok := auth["organisations"].([]any); !ok {
		t.Fatalf("organisations missing: %v", auth)
	}
	claims := claimsOf(t, e.s, auth["access_token"].(string))
	if claims.Kind != "contact" || claims.Subject != contact["id"] || claims.Org != e.bizA || claims.Mode != "live" {
		t.Fatalf("claims %+v", claims)
	}
	// The code is single use.
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+otpID+"/validate", e.live, map[string]string{"code": e.gw.codeFor(otpID)}); code != 401 || m["code"] != "OTP_EXPIRED" {
		t.Fatalf("reused code: %d %v", code, m)
	}

	// 4. Signed out later: a new code for the phone, same response.
	code, o, _ := e.keyCall(t, "POST", "/self-service/v1/otps", e.live, map[string]string{"channel": "SMS", "phone_number": "07566 224395", "country_code": "GBR"})
	if code != 201 || o["otp_id"] == nil || o["expires_at"] == nil {
		t.Fatalf("otp: %d %v", code, o)
	}
	id2 := o["otp_id"].(string)
	code, auth2, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+id2+"/validate", e.live, map[string]string{"code": e.gw.codeFor(id2)})
	if code != 200 || auth2["contact"].(map[string]any)["id"] != contact["id"] {
		t.Fatalf("sign in by otp: %d %v", code, auth2)
	}

	// 5. Refresh: new tokens, same shape; the old refresh token is spent.
	code, r, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", e.live, map[string]string{"refresh_token": auth2["refresh_token"].(string)})
	if code != 200 || r["contact"] == nil || r["refresh_token"] == auth2["refresh_token"] {
		t.Fatalf("refresh: %d %v", code, r)
	}
	// A test-mode key cannot refresh a live contact's token.
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", e.test, map[string]string{"refresh_token": r["refresh_token"].(string)}); code != 401 {
		t.Fatalf("cross-mode refresh: %d %v", code, m)
	}

	// me, then logout ends the family.
	at := r["access_token"].(string)
	family := claimsOf(t, e.s, at).Family
	code, me, _ := e.s.call(t, "GET", "/self-service/v1/contacts/me", at, nil)
	if code != 200 || me["contact"].(map[string]any)["id"] != contact["id"] {
		t.Fatalf("me: %d %v", code, me)
	}
	if code, m, _ := e.s.call(t, "POST", "/self-service/v1/contacts/logout", at, map[string]string{"refresh_token": r["refresh_token"].(string)}); code != 204 {
		t.Fatalf("logout: %d %v", code, m)
	}
	// The refresh token is of the access token's session: the family is
	// ended (and logged) once.
	logged, err := e.s.App.Store.ListRevocations(context.Background(), 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	ended := 0
	for _, l := range logged {
		if l.Kind == store.RevokeFamily && l.Key == family {
			ended++
		}
	}
	if ended != 1 {
		t.Fatalf("logout logged the family %d times, want once", ended)
	}
	if code, _, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", e.live, map[string]string{"refresh_token": r["refresh_token"].(string)}); code != 401 {
		t.Fatalf("refresh after logout: %d", code)
	}
	if code, m, _ := e.s.call(t, "GET", "/self-service/v1/contacts/me", at, nil); code != 401 || m["code"] != "INVALID_TOKEN" {
		t.Fatalf("access token after logout: %d %v", code, m)
	}
	// Logout ended the family: the family's earlier access token is dead too.
	if code, _, _ := e.s.call(t, "GET", "/self-service/v1/contacts/me", auth2["access_token"].(string), nil); code != 401 {
		t.Fatalf("an earlier access token of the logged-out family: %d", code)
	}
	// Logout with a mistyped refresh token still ends the session the
	// access token belongs to: its 204 never leaves the family running.
	id3 := signInByOTP(t, e)
	if code, m, _ := e.s.call(t, "POST", "/self-service/v1/contacts/logout", id3["access_token"].(string),
		map[string]string{"refresh_token": "rt_" + strings.Repeat("A", 43)}); code != 204 {
		t.Fatalf("logout with a mistyped refresh token: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", e.live, map[string]string{"refresh_token": id3["refresh_token"].(string)}); code != 401 {
		t.Fatalf("the session's refresh token after logout: %d %v", code, m)
	}
	// A contact token cannot read contacts through the back office.
	if code, _, _ := e.s.call(t, "GET", "/backoffice/v1/contacts/"+contact["id"].(string), auth["access_token"].(string), nil); code != 403 {
		t.Fatalf("contact token on back office: %d", code)
	}

	// Registering the phone again: the same answer, the code goes to the
	// phone as "you already have an account" and signs the contact in,
	// changing nothing.
	before := len(e.gw.messages())
	again := strings.Replace(guideRegistration, `"first_name":"Jimmy"`, `"first_name":"Impostor"`, 1)
	code, dup, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", e.live, again)
	if code != 201 || dup["otp"] == nil || dup["contact"].(map[string]any)["first_name"] != "Impostor" {
		t.Fatalf("duplicate: %d %v", code, dup)
	}
	msgs = e.gw.messages()
	if len(msgs) != before+1 || msgs[before]["purpose"] != "register_existing" || msgs[before]["to"] != "+447566224395" {
		t.Fatalf("the duplicate's message: %v", msgs[before:])
	}
	dupID := dup["otp"].(map[string]any)["otp_id"].(string)
	code, back, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+dupID+"/validate", e.live, map[string]string{"code": e.gw.codeFor(dupID)})
	if code != 200 || back["contact"].(map[string]any)["id"] != contact["id"] || back["contact"].(map[string]any)["first_name"] != "Jimmy" {
		t.Fatalf("the duplicate's code signs the existing contact in unchanged: %d %v", code, back)
	}
}

func TestOTPAbuseAndNoEnumeration(t *testing.T) {
	e := newSelfService(t, func(c *config.Config) { c.OTP.ResendCooldown = 30 * time.Second })
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", e.live, guideRegistration); code != 201 {
		t.Fatalf("register: %d %v", code, m)
	}
	sent := len(e.gw.messages())

	// Unknown phone: same answer shape, nothing sent.
	code, unknown, _ := e.keyCall(t, "POST", "/self-service/v1/otps", e.live, map[string]string{"channel": "SMS", "phone_number": "07566224397", "country_code": "GBR"})
	if code != 201 || unknown["otp_id"] == nil || unknown["expires_at"] == nil || len(unknown) != 2 {
		t.Fatalf("unknown phone: %d %v", code, unknown)
	}
	if len(e.gw.messages()) != sent {
		t.Fatal("a code was sent to an unknown phone")
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+unknown["otp_id"].(string)+"/validate", e.live, map[string]string{"code": "123456"}); code != 401 || m["code"] != "INVALID_OTP" {
		t.Fatalf("unknown phone's otp: %d %v", code, m)
	}
	// The registration's cooldown: a second code for the phone within 30 s
	// is refused with Retry-After, and so is one for the unknown phone.
	for _, ph := range []string{"07566224395", "07566224397"} {
		code, m, h := e.keyCall(t, "POST", "/self-service/v1/otps", e.live, map[string]string{"channel": "SMS", "phone_number": ph, "country_code": "GBR"})
		if code != 429 || m["code"] != "RATE_LIMITED" || h.Get("Retry-After") == "" {
			t.Fatalf("cooldown %s: %d %v", ph, code, m)
		}
	}
	// Attempt limit: 5 wrong codes kill the code; then the right one fails.
	e2 := newSelfService(t, nil)
	code, reg, _ := e2.keyCall(t, "POST", "/self-service/v1/contacts/register", e2.live, guideRegistration)
	if code != 201 {
		t.Fatal(code)
	}
	id := reg["otp"].(map[string]any)["otp_id"].(string)
	for i := 0; i < 5; i++ {
		e2.keyCall(t, "POST", "/self-service/v1/otps/"+id+"/validate", e2.live, map[string]string{"code": "99999" + string(rune('a'+i))})
	}
	if code, m, _ := e2.keyCall(t, "POST", "/self-service/v1/otps/"+id+"/validate", e2.live, map[string]string{"code": e2.gw.codeFor(id)}); code != 401 || m["code"] != "OTP_EXPIRED" {
		t.Fatalf("after 5 wrong attempts: %d %v", code, m)
	}
	// The contact was never stored: registering again works.
	if code, m, _ := e2.keyCall(t, "POST", "/self-service/v1/contacts/register", e2.live, guideRegistration); code != 201 {
		t.Fatalf("re-register after a dead code: %d %v", code, m)
	}
}

func TestDeliveryFailure(t *testing.T) {
	e := newSelfService(t, func(c *config.Config) { c.OTP.SendTimeout = 2 * time.Second })
	e.gw.mu.Lock()
	e.gw.fail = 400
	e.gw.mu.Unlock()
	code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", e.live, guideRegistration)
	if code != 502 || m["code"] != "OTP_DELIVERY_FAILED" {
		t.Fatalf("delivery failure: %d %v", code, m)
	}
}

func TestEmailPasswordAndModes(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	body := map[string]any{"first_name": "Ann", "last_name": "Lee", "email_opt_out": false,
		"identity": map[string]string{"provider": "EMAIL", "email": "Ann@Example.com", "password": "a-long-secret-phrase"}}
	auth := e.register(t, e.test, body)
	if auth["access_token"] == nil || auth["contact"].(map[string]any)["email"] != "ann@example.com" || auth["mode"] != "test" {
		t.Fatalf("register email+password: %v", auth)
	}
	if m := e.gw.messages(); m[len(m)-1]["channel"] != "email" || m[len(m)-1]["to"] != "ann@example.com" || m[len(m)-1]["purpose"] != "register" {
		t.Fatalf("the registration's code went to %v, want the email", m[len(m)-1])
	}
	signIn := func(key, pw string) (int, map[string]any) {
		code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/authenticate", key,
			map[string]string{"provider": "EMAIL", "email": "ann@example.com", "password": pw})
		return code, m
	}
	if code, m := signIn(e.test, "a-long-secret-phrase"); code != 200 || m["contact"].(map[string]any)["id"] != auth["contact"].(map[string]any)["id"] {
		t.Fatalf("sign in: %d %v", code, m)
	}
	if code, m := signIn(e.test, "wrong-password"); code != 401 || m["code"] != "INVALID_CREDENTIALS" {
		t.Fatalf("wrong password: %d %v", code, m)
	}
	// Live never sees test-mode contacts.
	if code, m := signIn(e.live, "a-long-secret-phrase"); code != 401 {
		t.Fatalf("live key signed a test contact in: %d %v", code, m)
	}
	// The same email registers separately in live.
	e.register(t, e.live, body)
	// The OAuth password grant signs contacts in with the self-service
	// client (bound to the business, live).
	resp, tok := e.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"selfservice"},
		"username": {"ann@example.com"}, "password": {"a-long-secret-phrase"}}, "", "")
	if resp.StatusCode != 200 || claimsOf(t, e.s, tok["access_token"].(string)).Kind != "contact" {
		t.Fatalf("password grant for a contact: %d %v", resp.StatusCode, tok)
	}
	// EMAIL with OTP registration.
	code, reg, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", e.live,
		map[string]any{"first_name": "Otto", "identity": map[string]string{"provider": "EMAIL", "email": "otto@example.com"}})
	if code != 201 || reg["otp"] == nil {
		t.Fatalf("email otp registration: %d %v", code, reg)
	}
	id := reg["otp"].(map[string]any)["otp_id"].(string)
	if m := e.gw.messages(); m[len(m)-1]["channel"] != "email" || m[len(m)-1]["to"] != "otto@example.com" {
		t.Fatalf("email code: %v", m[len(m)-1])
	}
	// The OAuth OTP grant validates it.
	resp, tok = e.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"urn:authd:params:oauth:grant-type:otp"}, "client_id": {"selfservice"},
		"otp_id": {id}, "code": {e.gw.codeFor(id)}}, "", "")
	if resp.StatusCode != 200 || tok["refresh_token"] == nil {
		t.Fatalf("otp grant: %d %v", resp.StatusCode, tok)
	}
	if c := claimsOf(t, e.s, tok["access_token"].(string)); c.Kind != "contact" || c.Mode != "live" || c.Org != e.bizA {
		t.Fatalf("otp grant claims %+v", c)
	}
}

func TestBackofficeContactGainsCredentials(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	// A server creates a contact with a secret key: no credentials.
	code, c, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.liveSK,
		map[string]any{"id": "ext-123", "code": "CRM-9", "first_name": "Bea", "last_name": "Ng", "email": "bea@example.com"})
	if code != 201 || c["id"] != "ext-123" || c["code"] != "CRM-9" {
		t.Fatalf("create: %d %v", code, c)
	}
	if code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.liveSK, map[string]any{"id": "ext-123", "first_name": "X"}); code != 409 {
		t.Fatalf("duplicate id: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "GET", "/backoffice/v1/contacts/ext-123", e.liveSK, nil); code != 200 || m["email"] != "bea@example.com" {
		t.Fatalf("get: %d %v", code, m)
	}
	// Test-mode keys do not see live contacts; public keys may not create.
	if code, _, _ := e.keyCall(t, "GET", "/backoffice/v1/contacts/ext-123", e.testSK, nil); code != 404 {
		t.Fatalf("test key saw a live contact: %d", code)
	}
	if code, _, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.live, map[string]any{"first_name": "X"}); code != 403 {
		t.Fatalf("public key created a contact: %d", code)
	}
	// A user token of the business creates one too (generated id).
	alice := e.s.signIn(t, e.alice, userPassword)["access_token"].(string)
	code, u, _ := e.s.call(t, "POST", "/backoffice/v1/contacts", alice, map[string]any{"first_name": "Cy", "phone_number": "07566224396", "country_code": "GBR"})
	if code != 201 || len(u["id"].(string)) != 36 || u["phone_number"] != "+447566224396" {
		t.Fatalf("user create: %d %v", code, u)
	}

	// The person adds email + password, proving the email on record.
	sent := len(e.gw.messages())
	req := map[string]any{"match": map[string]string{"email": "bea@example.com"},
		"identity": map[string]string{"provider": "EMAIL", "email": "bea@example.com", "password": "bea-long-password"}}
	code, acc, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/credentials", e.live, req)
	if code != 202 || acc["otp_id"] == nil {
		t.Fatalf("credentials: %d %v", code, acc)
	}
	msgs := e.gw.messages()
	if len(msgs) != sent+1 || msgs[len(msgs)-1]["to"] != "bea@example.com" || msgs[len(msgs)-1]["purpose"] != "add_credentials" {
		t.Fatalf("credentials code: %v", msgs[sent:])
	}
	// Nothing matches: the same 202, nothing sent.
	code, none, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/credentials", e.live, map[string]any{
		"match": map[string]string{"email": "nobody@example.com"}, "identity": map[string]string{"provider": "EMAIL", "email": "nobody@example.com", "password": "x-long-password"}})
	if code != 202 || none["otp_id"] == nil || len(e.gw.messages()) != sent+1 {
		t.Fatalf("no match: %d %v", code, none)
	}
	// An identity that is not on the contact's record (someone else's
	// phone or email) is never attached: the same 202, nothing sent, so the
	// matched channel cannot vouch for it.
	for _, ident := range []map[string]string{
		{"provider": "PHONE", "phone_number": "07566224395", "country_code": "GBR"},
		{"provider": "EMAIL", "email": "victim@example.com", "password": "squatter-long-password"},
	} {
		code, sq, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/credentials", e.live,
			map[string]any{"match": map[string]string{"email": "bea@example.com"}, "identity": ident})
		if code != 202 || sq["otp_id"] == nil || len(e.gw.messages()) != sent+1 {
			t.Fatalf("identity not on record %v: %d %v, %d messages", ident, code, sq, len(e.gw.messages())-sent)
		}
	}
	// Validating attaches the credentials and signs the contact in.
	id := acc["otp_id"].(string)
	code, auth, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+id+"/validate", e.live, map[string]string{"code": e.gw.codeFor(id)})
	if code != 200 || auth["contact"].(map[string]any)["id"] != "ext-123" {
		t.Fatalf("validate credentials: %d %v", code, auth)
	}
	// The contact joins merchant M of the network; another business is refused.
	if code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts/ext-123/organisations", e.liveSK,
		map[string]string{"organisation_id": e.merchM, "relationship": "joined"}); code != 201 || len(m["organisations"].([]any)) != 1 {
		t.Fatalf("join merchant: %d %v", code, m)
	}
	for _, other := range []string{"no-such-org", e.bizB, e.so, e.bizA} {
		if code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts/ext-123/organisations", e.liveSK,
			map[string]string{"organisation_id": other, "relationship": "shared"}); code != 422 || m["field"] != "organisation_id" {
			t.Fatalf("link to %s (outside the business): %d %v", other, code, m)
		}
	}
	code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/authenticate", e.live,
		map[string]string{"provider": "EMAIL", "email": "bea@example.com", "password": "bea-long-password"})
	if code != 200 || m["contact"].(map[string]any)["id"] != "ext-123" {
		t.Fatalf("password after credentials: %d %v", code, m)
	}
	orgs := m["organisations"].([]any)
	if len(orgs) != 1 || orgs[0].(map[string]any)["id"] != e.merchM || orgs[0].(map[string]any)["relationship"] != "joined" {
		t.Fatalf("organisations in the auth response: %v", orgs)
	}
}

func TestSelfServiceBadInput(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	sent := len(e.gw.messages())
	reg := "/self-service/v1/contacts/register"
	tests := []struct {
		name   string
		key    string
		path   string
		body   string
		status int
		code   string
		field  string
	}{
		{"no key", "", reg, guideRegistration, 401, "INVALID_API_KEY", ""},
		{"typo in key", mistype(e.live), reg, guideRegistration, 401, "INVALID_API_KEY", ""},
		{"malformed JSON", e.live, reg, `{"first_name":`, 400, "BAD_REQUEST", ""},
		{"two values", e.live, reg, `{} {}`, 400, "BAD_REQUEST", ""},
		{"null body", e.live, reg, `null`, 400, "BAD_REQUEST", ""},
		{"array body", e.live, reg, `[]`, 400, "BAD_REQUEST", ""},
		{"NUL in a name", e.live, reg, `{"first_name":"A\u0000B","identity":{"provider":"PHONE","phone_number":"07566224395","country_code":"GBR"}}`, 400, "BAD_REQUEST", ""},
		{"invalid UTF-8", e.live, reg, "{\"first_name\":\"\xff\xfe\",\"identity\":{\"provider\":\"PHONE\",\"phone_number\":\"07566224395\",\"country_code\":\"GBR\"}}", 400, "BAD_REQUEST", ""},
		{"chosen code", e.live, reg, `{"code":"CRM-1","identity":{"provider":"PHONE","phone_number":"07566224395","country_code":"GBR"}}`, 422, "VALIDATION_FAILED", "code"},
		{"unknown field", e.live, reg, `{"first_name":"A","shoe_size":9,"identity":{"provider":"PHONE","phone_number":"07566224395","country_code":"GBR"}}`, 422, "VALIDATION_FAILED", "shoe_size"},
		{"wrong type", e.live, reg, `{"first_name":7,"identity":{"provider":"PHONE","phone_number":"07566224395","country_code":"GBR"}}`, 422, "VALIDATION_FAILED", "first_name"},
		{"bad boolean", e.live, reg, `{"sms_opt_out":"yes","identity":{"provider":"PHONE","phone_number":"07566224395","country_code":"GBR"}}`, 422, "VALIDATION_FAILED", "sms_opt_out"},
		{"missing identity", e.live, reg, `{"first_name":"A"}`, 422, "VALIDATION_FAILED", "identity"},
		{"bad provider", e.live, reg, `{"identity":{"provider":"PIGEON"}}`, 422, "VALIDATION_FAILED", "identity.provider"},
		{"invalid phone", e.live, reg, `{"identity":{"provider":"PHONE","phone_number":"0756","country_code":"GBR"}}`, 422, "VALIDATION_FAILED", "identity.phone_number"},
		{"alpha-2 country", e.live, reg, `{"identity":{"provider":"PHONE","phone_number":"07566224395","country_code":"GB"}}`, 422, "VALIDATION_FAILED", "country_code"},
		{"bad email", e.live, reg, `{"identity":{"provider":"EMAIL","email":"not-an-email"}}`, 422, "VALIDATION_FAILED", "identity.email"},
		{"weak password", e.live, reg, `{"identity":{"provider":"EMAIL","email":"a@example.com","password":"123456"}}`, 422, "VALIDATION_FAILED", "identity.password"},
		{"chosen id", e.live, reg, `{"id":"mine","identity":{"provider":"EMAIL","email":"a@example.com"}}`, 422, "VALIDATION_FAILED", "id"},
		{"bad channel", e.live, "/self-service/v1/otps", `{"channel":"FAX","phone_number":"07566224395"}`, 422, "VALIDATION_FAILED", "channel"},
		{"not JSON", e.live, reg, `first_name=A`, 400, "BAD_REQUEST", ""},
		{"oversized", e.live, reg, `{"first_name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "PAYLOAD_TOO_LARGE", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, m, h := e.keyCall(t, "POST", tc.path, tc.key, tc.body)
			if code != tc.status || m["code"] != tc.code || (tc.field != "" && m["field"] != tc.field) {
				t.Fatalf("%d %v", code, m)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("content type %q", h.Get("Content-Type"))
			}
		})
	}
	if len(e.gw.messages()) != sent {
		t.Fatal("bad input sent a code")
	}
	// Nothing was written: the phone is still free.
	if code, m, _ := e.keyCall(t, "POST", reg, e.live, guideRegistration); code != 201 {
		t.Fatalf("after bad input: %d %v", code, m)
	}
}

// mistype changes the last character of s to a different one.
func mistype(s string) string {
	c := byte('x')
	if s[len(s)-1] == c {
		c = 'y'
	}
	return s[:len(s)-1] + string(c)
}

// TestContactsBelongToTheBusiness: back-office contact calls act for a
// business itself (a merchant's or the service owner's credentials are
// refused), while a merchant's public key registers contacts into its
// business.
func TestContactsBelongToTheBusiness(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	ctx := context.Background()
	contact := map[string]any{"first_name": "Mo", "email": "mo@example.com"}

	mia := e.s.signIn(t, e.mia, userPassword)["access_token"].(string) // member of merchant M
	if code, m, _ := e.s.call(t, "POST", "/backoffice/v1/contacts", mia, contact); code != 403 || m["code"] != "FORBIDDEN_ORGANISATION" {
		t.Fatalf("merchant user creates a contact: %d %v", code, m)
	}
	so := e.s.signIn(t, e.s.Boot.Admin.Email, e.s.Boot.Admin.Password)
	if so["current_organisation"].(map[string]any)["id"] != e.so {
		t.Fatalf("the bootstrap admin's default organisation is not the service owner: %v", so["current_organisation"])
	}
	if code, m, _ := e.s.call(t, "POST", "/backoffice/v1/contacts", so["access_token"].(string), contact); code != 403 || m["code"] != "FORBIDDEN_ORGANISATION" {
		t.Fatalf("service-owner token creates a contact: %d %v", code, m)
	}
	merchantSK, err := e.s.App.KeyService.Create(ctx, apikey.Actor{Kind: store.KindSystem, ID: "test"}, apikey.CreateParams{
		OrganisationID: e.merchM, Mode: store.ModeLive, Type: store.APIKeySecret, Name: "merchant server", Scopes: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", merchantSK.Key, contact); code != 403 || m["code"] != "FORBIDDEN_ORGANISATION" {
		t.Fatalf("merchant secret key creates a contact: %d %v", code, m)
	}

	// A merchant's public key (its app) registers into the business.
	merchantPK, err := e.s.App.KeyService.Create(ctx, apikey.Actor{Kind: store.KindSystem, ID: "test"}, apikey.CreateParams{
		OrganisationID: e.merchM, Mode: store.ModeLive, Type: store.APIKeyPublic, Name: "merchant app", Scopes: []string{"contacts:register", "otp:send"}})
	if err != nil {
		t.Fatal(err)
	}
	reg := e.register(t, merchantPK.Key,
		map[string]any{"first_name": "Mo", "identity": map[string]string{"provider": "EMAIL", "email": "mo@example.com", "password": "mo-long-password-1"}})
	id := reg["contact"].(map[string]any)["id"].(string)
	if code, m, _ := e.keyCall(t, "GET", "/backoffice/v1/contacts/"+id, e.liveSK, nil); code != 200 || m["id"] != id {
		t.Fatalf("the business reads the contact its merchant's app registered: %d %v", code, m)
	}
	if c := claimsOf(t, e.s, reg["access_token"].(string)); c.Org != e.bizA || c.Kind != "contact" {
		t.Fatalf("contact token claims %+v: want the business", c)
	}
}

// TestAddCredentialsOnlyForBackofficeContacts: what a self-registered
// contact typed on its own record vouches for nothing. It can neither
// attach someone else's phone through add-credentials nor, by copying a
// back-office contact's email, block that contact's own add-credentials.
func TestAddCredentialsOnlyForBackofficeContacts(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	// Mallory registers with her email and password, typing the victim's
	// phone on her record.
	e.register(t, e.live, map[string]any{
		"first_name": "Mallory", "phone_number": "07566224395", "country_code": "GBR",
		"identity": map[string]string{"provider": "EMAIL", "email": "mallory@evil.example", "password": "mallory-long-password"}})
	sent := len(e.gw.messages())
	code, acc, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/credentials", e.live, map[string]any{
		"match":    map[string]string{"email": "mallory@evil.example"},
		"identity": map[string]string{"provider": "PHONE", "phone_number": "07566224395", "country_code": "GBR"}})
	if code != 202 || acc["otp_id"] == nil || len(e.gw.messages()) != sent {
		t.Fatalf("add the victim's phone to a self-registered contact: %d %v, %d sent", code, acc, len(e.gw.messages())-sent)
	}
	// The victim can still register that phone.
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", e.live, guideRegistration); code != 201 {
		t.Fatalf("the victim registers her phone: %d %v", code, m)
	}

	// A back-office contact; someone registers with a copy of its email on
	// their own record. The back-office contact still gains credentials.
	if code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.liveSK, map[string]any{"id": "crm-7", "email": "dee@example.com"}); code != 201 {
		t.Fatalf("create: %d %v", code, m)
	}
	e.register(t, e.live, map[string]any{
		"email": "dee@example.com", "identity": map[string]string{"provider": "EMAIL", "email": "copycat@evil.example", "password": "copycat-long-password"}})
	sent = len(e.gw.messages())
	code, acc, _ = e.keyCall(t, "POST", "/self-service/v1/contacts/credentials", e.live, map[string]any{
		"match":    map[string]string{"email": "dee@example.com"},
		"identity": map[string]string{"provider": "EMAIL", "email": "dee@example.com", "password": "dee-long-password-1"}})
	msgs := e.gw.messages()
	if code != 202 || len(msgs) != sent+1 || msgs[len(msgs)-1]["to"] != "dee@example.com" {
		t.Fatalf("the back-office contact's add-credentials: %d %v, %d sent", code, acc, len(msgs)-sent)
	}
	id := acc["otp_id"].(string)
	code, auth, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+id+"/validate", e.live, map[string]string{"code": e.gw.codeFor(id)})
	if code != 200 || auth["contact"].(map[string]any)["id"] != "crm-7" {
		t.Fatalf("validate: %d %v", code, auth)
	}
}

// signInByOTP signs the guide's phone contact in with a fresh SMS code.
func signInByOTP(t *testing.T, e *selfServiceEnv) map[string]any {
	t.Helper()
	code, o, _ := e.keyCall(t, "POST", "/self-service/v1/otps", e.live, map[string]string{"channel": "SMS", "phone_number": "07566224395", "country_code": "GBR"})
	if code != 201 {
		t.Fatalf("otp: %d %v", code, o)
	}
	id := o["otp_id"].(string)
	code, auth, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+id+"/validate", e.live, map[string]string{"code": e.gw.codeFor(id)})
	if code != 200 {
		t.Fatalf("sign in by otp: %d %v", code, auth)
	}
	return auth
}

// TestLogSenderOutsideDev: the log sender writes codes to the log, so
// outside `serve --dev` it sends nothing and every OTP request fails alike
// (known and unknown destinations answer the same 502).
func TestLogSenderOutsideDev(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.OTP.Sender = "log"
	s := newTestServer(t, cfg)
	live := s.Boot.APIKeys["live"].Public
	call := func(path string, body any) (int, map[string]any) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(string(raw)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("api_key", live)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	// A contact known by its email (registration needs a code, which the
	// log sender cannot deliver here).
	ct, err := s.App.Identity.BuildContact(s.Boot.Business.ID, store.ModeLive, identity.ContactInput{Email: "known@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Identity.RegisterContact(t.Context(), ct, store.Identity{Provider: store.ProviderEmail, Subject: "known@example.com"}); err != nil {
		t.Fatal(err)
	}
	if code, m := call("/self-service/v1/contacts/register", map[string]any{
		"identity": map[string]string{"provider": "EMAIL", "email": "new@example.com", "password": "new-long-password-1"}}); code != 502 || m["code"] != "OTP_DELIVERY_FAILED" {
		t.Fatalf("register with a password: %d %v", code, m)
	}
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		if code, m := call("/self-service/v1/otps", map[string]string{"channel": "EMAIL", "email": email}); code != 502 || m["code"] != "OTP_DELIVERY_FAILED" {
			t.Fatalf("OTP for %s: %d %v", email, code, m)
		}
	}
	if code, m := call("/self-service/v1/contacts/register", map[string]any{
		"identity": map[string]string{"provider": "PHONE", "phone_number": "07566224395", "country_code": "GBR"}}); code != 502 || m["code"] != "OTP_DELIVERY_FAILED" {
		t.Fatalf("register by SMS code: %d %v", code, m)
	}
}
