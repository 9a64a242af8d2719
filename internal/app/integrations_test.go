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

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/bootstrap"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// A business's own OTP delivery end to end: configured over the back
// office, used by the self-service flows, tested, audited, never showing
// or logging its secrets.

const integrationsPath = "/backoffice/v1/integrations/otp"

type integrationEnv struct {
	s        *testServer
	logs     *syncBuffer
	fallback *sender.Fake // the service-wide sender
	bizB     string
	bobID    string
	pkB      string // business B's live public key
}

func newIntegrationEnv(t *testing.T, mutate func(*config.Config)) *integrationEnv {
	t.Helper()
	cfg := lenient(testConfig(t))
	cfg.OTP.ResendCooldown = 0
	cfg.OTP.Integrations.AllowPrivateNetworks = true // the receivers below are on loopback
	if mutate != nil {
		mutate(cfg)
	}
	e := &integrationEnv{logs: &syncBuffer{}, fallback: &sender.Fake{}}
	e.s = startTestServer(t, cfg, app.Options{OTPSender: e.fallback}, e.logs)
	root := akUserToken(t, e.s, e.s.Boot.Admin.ID, e.s.Boot.ServiceOwner.ID, "live")
	r := akDo(t, e.s, "POST", "/backoffice/v1/organisations", akBearer(root),
		map[string]any{"name": "Business B", "type": "business", "parent_id": e.s.Boot.ServiceOwner.ID})
	if r.Status != 201 {
		t.Fatalf("create business B: %d %s", r.Status, r.Raw)
	}
	e.bizB = r.Body["id"].(string)
	e.bobID = e.user(t, "bob@b.example", e.bizB, "owner")
	k := akCreate(t, e.s, akUserToken(t, e.s, e.bobID, e.bizB, "live"),
		map[string]any{"type": "public", "name": "B widget", "scopes": []string{"contacts:register", "otp:send"}})
	e.pkB = k["key"].(string)
	return e
}

func (e *integrationEnv) user(t *testing.T, email, org, role string) string {
	t.Helper()
	r := akDo(t, e.s, "POST", "/backoffice/v1/users", akBearer(akUserToken(t, e.s, e.s.Boot.Admin.ID, e.s.Boot.ServiceOwner.ID, "live")), map[string]any{
		"email": email, "password": userPassword, "first_name": "U", "last_name": "Test",
		"memberships": []map[string]string{{"organisation_id": org, "role": role}},
	})
	if r.Status != 201 {
		t.Fatalf("create user %s: %d %s", email, r.Status, r.Raw)
	}
	return r.Body["id"].(string)
}

// register registers a contact by phone with a public key and returns the
// otp id.
func (e *integrationEnv) register(t *testing.T, key, national string) string {
	t.Helper()
	r := akDo(t, e.s, "POST", "/self-service/v1/contacts/register", akKey(key), map[string]any{
		"first_name": "Jo", "last_name": "Doe", "service_acceptance": true,
		"identity": map[string]string{"provider": "PHONE", "phone_number": national, "country_code": "GBR"},
	})
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	return r.Body["otp"].(map[string]any)["otp_id"].(string)
}

func webhookBody(url, secret string) map[string]any {
	return map[string]any{"sender": "webhook", "webhook_url": url, "webhook_secret": secret}
}

func TestOTPIntegrationWebhook(t *testing.T) {
	t.Parallel()
	e := newIntegrationEnv(t, nil)
	s := e.s
	admin := akBearer(akAdmin(t, s, "live"))
	const secret = "business-a-webhook-secret-0123456789-abcdef"
	gw := newGateway(t)
	gw.secret = []byte(secret)

	// Nothing configured: 404 with its code.
	if r := akDo(t, s, "GET", integrationsPath, admin, nil); r.Status != 404 || r.Body["code"] != "INTEGRATION_NOT_CONFIGURED" {
		t.Fatalf("GET before any PUT: %d %s", r.Status, r.Raw)
	}

	body := webhookBody(gw.srv.URL+"/otp?tenant=a", secret)
	body["templates"] = map[string]any{
		"sms.register": map[string]string{"en": "ACME: welcome, your code is {{.Code}}", "FR": "ACME : bienvenue, {{.Code}}"},
		"sms.signin":   map[string]string{"en": "ACME sign-in {{.Code}} ({{.Minutes}} min)"},
	}
	r := akDo(t, s, "PUT", integrationsPath, admin, body)
	if r.Status != 201 {
		t.Fatalf("PUT: %d %s", r.Status, r.Raw)
	}
	if strings.Contains(r.Raw, secret) {
		t.Fatalf("PUT answer shows the secret: %s", r.Raw)
	}
	if ws, _ := r.Body["webhook_secret"].(map[string]any); ws["set"] != true || r.Body["sender"] != "webhook" || r.Body["mode"] != "live" ||
		r.Body["version"] != float64(1) || r.Body["organisation_id"] != s.Boot.Business.ID {
		t.Fatalf("PUT answer: %s", r.Raw)
	}
	if tpl := r.Body["templates"].(map[string]any)["sms.register"].(map[string]any); tpl["fr"] == nil {
		t.Errorf("locale not canonical in %v", tpl)
	}
	got := akDo(t, s, "GET", integrationsPath, admin, nil)
	if got.Status != 200 || strings.Contains(got.Raw, secret) || got.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET: %d %s", got.Status, got.Raw)
	}
	if got.Body["webhook_url"] != gw.srv.URL+"/otp?tenant=a" {
		t.Fatalf("GET webhook_url: %s", got.Raw)
	}

	// A contact of business A: its code goes to A's receiver, signed with
	// A's secret, in A's text; the service-wide sender sends nothing.
	otpID := e.register(t, s.Boot.APIKeys["live"].Public, "07566224395")
	msgs := gw.messages()
	if len(msgs) != 1 || msgs[0]["purpose"] != "register" || msgs[0]["to"] != "+447566224395" ||
		msgs[0]["text"] != "ACME: welcome, your code is "+msgs[0]["code"] {
		t.Fatalf("A's receiver got %v", msgs)
	}
	if n := len(e.fallback.Messages()); n != 0 {
		t.Fatalf("the service-wide sender sent %d messages for business A", n)
	}
	r = akDo(t, s, "POST", "/self-service/v1/otps/"+otpID+"/validate", akKey(s.Boot.APIKeys["live"].Public), map[string]string{"code": gw.codeFor(otpID)})
	if r.Status != 200 {
		t.Fatalf("validate: %d %s", r.Status, r.Raw)
	}
	// Signing in by code (the contact exists now).
	r = akDo(t, s, "POST", "/self-service/v1/otps", akKey(s.Boot.APIKeys["live"].Public),
		map[string]string{"channel": "SMS", "phone_number": "07566224395", "country_code": "GBR"})
	if r.Status != 201 {
		t.Fatalf("otps: %d %s", r.Status, r.Raw)
	}
	msgs = gw.messages()
	if len(msgs) != 2 || msgs[1]["purpose"] != "signin" || msgs[1]["text"] != "ACME sign-in "+msgs[1]["code"]+" (5 min)" {
		t.Fatalf("A's receiver got %v", msgs)
	}

	// Business B has none: the service-wide sender and texts.
	e.register(t, e.pkB, "07566224311")
	if fb := e.fallback.Messages(); len(fb) != 1 || fb[0].To != "+447566224311" || !strings.HasPrefix(fb[0].Body, "Your verification code is") {
		t.Fatalf("service-wide sender got %+v", fb)
	}
	// Business A in test mode has none either.
	e.register(t, s.Boot.APIKeys["test"].Public, "07566224312")
	if fb := e.fallback.Messages(); len(fb) != 2 || fb[1].To != "+447566224312" {
		t.Fatalf("test mode did not use the service-wide sender: %+v", fb)
	}
	if len(gw.messages()) != 2 {
		t.Fatal("A's live receiver got a test-mode code")
	}
	if r := akDo(t, s, "GET", integrationsPath, akBearer(akAdmin(t, s, "test")), nil); r.Status != 404 {
		t.Fatalf("GET in test mode: %d %s", r.Status, r.Raw)
	}

	// A PUT without the secret keeps it (and changes the texts).
	keep := webhookBody(gw.srv.URL+"/otp?tenant=a", "")
	delete(keep, "webhook_secret")
	if r := akDo(t, s, "PUT", integrationsPath, admin, keep); r.Status != 200 || r.Body["version"] != float64(2) ||
		len(r.Body["templates"].(map[string]any)) != 0 {
		t.Fatalf("PUT keeping the secret: %d %s", r.Status, r.Raw)
	}
	e.register(t, s.Boot.APIKeys["live"].Public, "07566224313")
	if msgs := gw.messages(); len(msgs) != 3 || !strings.HasPrefix(msgs[2]["text"], "Your verification code is") {
		t.Fatalf("after the change A's receiver got %v", msgs)
	}

	// Audited, without the secret.
	events, err := s.App.Store.ListAuditEvents(context.Background(), store.AuditFilter{Action: "integration.otp_updated"}, store.Page{})
	if err != nil || len(events) != 2 {
		t.Fatalf("audit events: %v %v", events, err)
	}
	ev := events[len(events)-1]
	if ev.OrganisationID != s.Boot.Business.ID || ev.ActorID != s.Boot.Admin.ID || ev.Details["sender"] != "webhook" || ev.Details["mode"] != "live" {
		t.Errorf("audit event %+v", ev)
	}
	for _, ev := range events {
		if b, _ := json.Marshal(ev.Details); strings.Contains(string(b), secret) {
			t.Errorf("audit details hold the secret: %s", b)
		}
	}

	// DELETE: back to the service-wide sender.
	if r := akDo(t, s, "DELETE", integrationsPath, admin, nil); r.Status != 204 {
		t.Fatalf("DELETE: %d %s", r.Status, r.Raw)
	}
	e.register(t, s.Boot.APIKeys["live"].Public, "07566224314")
	if len(gw.messages()) != 3 || len(e.fallback.Messages()) != 3 {
		t.Fatalf("after DELETE: receiver %d, service-wide %d messages", len(gw.messages()), len(e.fallback.Messages()))
	}
	if r := akDo(t, s, "DELETE", integrationsPath, admin, nil); r.Status != 404 || r.Body["code"] != "INTEGRATION_NOT_CONFIGURED" {
		t.Fatalf("DELETE again: %d %s", r.Status, r.Raw)
	}

	// Never in a log line.
	e.logs.mu.Lock()
	logged := e.logs.b.String()
	e.logs.mu.Unlock()
	if strings.Contains(logged, secret) {
		t.Fatal("the webhook secret was logged")
	}
	for _, m := range gw.messages() {
		if strings.Contains(logged, `"`+m["code"]+`"`) {
			t.Fatalf("a code was logged")
		}
	}
}

func TestOTPIntegrationAuthorization(t *testing.T) {
	t.Parallel()
	e := newIntegrationEnv(t, nil)
	s := e.s
	biz := s.Boot.Business.ID
	memberID := e.user(t, "mem@a.example", biz, "member")
	merch := akDo(t, s, "POST", "/backoffice/v1/organisations", akBearer(akAdmin(t, s, "live")),
		map[string]any{"name": "Merchant", "type": "merchant", "parent_id": biz})
	if merch.Status != 201 {
		t.Fatalf("merchant: %d %s", merch.Status, merch.Raw)
	}
	contactTok, err := s.App.Tokens.Issue(token.Claims{Kind: token.KindContact, Subject: "c1", Org: biz, Mode: "live",
		ClientID: bootstrap.ClientSelfService, Audience: token.Audience{s.App.Config.Issuer}, ExpiresAt: time.Now().Add(time.Minute).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	noScope := akCreate(t, s, akAdmin(t, s, "live"), map[string]any{"type": "secret", "name": "no scope", "scopes": []string{"contacts:read"}})["key"].(string)
	gw := newGateway(t)
	gw.secret = []byte("a-webhook-secret-of-thirty-two-characters")
	body := webhookBody(gw.srv.URL, string(gw.secret))
	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
		code    string
	}{
		{"nobody", nil, 401, "INVALID_TOKEN"},
		// A token for a business its user has no role in does not even
		// verify.
		{"another business's owner", akBearer(akUserToken(t, s, e.bobID, biz, "live")), 401, "INVALID_TOKEN"},
		{"a member", akBearer(akUserToken(t, s, memberID, biz, "live")), 403, "FORBIDDEN"},
		{"a merchant's token", akBearer(akUserToken(t, s, s.Boot.Admin.ID, merch.Body["id"].(string), "live")), 403, "FORBIDDEN_ORGANISATION"},
		{"a public key", akKey(s.Boot.APIKeys["live"].Public), 403, "INSUFFICIENT_SCOPE"},
		{"a secret key without the scope", akKey(noScope), 403, "INSUFFICIENT_SCOPE"},
		{"a contact token", akBearer(contactTok), 403, "FORBIDDEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []string{"GET", "PUT", "DELETE"} {
				var b any
				if m == "PUT" {
					b = body
				}
				if r := akDo(t, s, m, integrationsPath, tc.headers, b); r.Status != tc.status || r.Body["code"] != tc.code {
					t.Errorf("%s: %d %s, want %d %s", m, r.Status, r.Raw, tc.status, tc.code)
				}
			}
			if r := akDo(t, s, "POST", integrationsPath+"/test", tc.headers, map[string]string{"channel": "sms", "to": "+447566224395"}); r.Status != tc.status {
				t.Errorf("test: %d %s, want %d", r.Status, r.Raw, tc.status)
			}
		})
	}
	// Nothing was configured by the refused calls.
	if _, err := s.App.Store.GetOTPIntegration(context.Background(), biz, store.ModeLive); err == nil {
		t.Fatal("a refused call stored an integration")
	}
	// Another business's owner configures that business, never this one.
	if r := akDo(t, s, "PUT", integrationsPath, akBearer(akUserToken(t, s, e.bobID, e.bizB, "live")), body); r.Status != 201 || r.Body["organisation_id"] != e.bizB {
		t.Fatalf("bob's PUT: %d %s", r.Status, r.Raw)
	}
	if r := akDo(t, s, "GET", integrationsPath, akBearer(akAdmin(t, s, "live")), nil); r.Status != 404 {
		t.Fatalf("B's configuration shows for A: %d %s", r.Status, r.Raw)
	}
	e.register(t, e.pkB, "07566224399")
	if len(gw.messages()) != 1 {
		t.Fatal("B's code did not go through B's sender")
	}

	// The business's secret key configures its own mode only.
	liveSK, testSK := akKey(s.Boot.APIKeys["live"].Secret), akKey(s.Boot.APIKeys["test"].Secret)
	if r := akDo(t, s, "PUT", integrationsPath, testSK, body); r.Status != 201 || r.Body["mode"] != "test" {
		t.Fatalf("PUT with the test secret key: %d %s", r.Status, r.Raw)
	}
	if r := akDo(t, s, "GET", integrationsPath, liveSK, nil); r.Status != 404 {
		t.Fatalf("live sees test's configuration: %d %s", r.Status, r.Raw)
	}
	if r := akDo(t, s, "GET", integrationsPath, akBearer(akAdmin(t, s, "test")), nil); r.Status != 200 || r.Body["mode"] != "test" {
		t.Fatalf("test-mode admin: %d %s", r.Status, r.Raw)
	}
	e.register(t, s.Boot.APIKeys["live"].Public, "07566224395")
	if len(gw.messages()) != 1 || len(e.fallback.Messages()) != 1 {
		t.Fatal("a test-mode configuration delivered a live code")
	}
	e.register(t, s.Boot.APIKeys["test"].Public, "07566224395")
	if len(gw.messages()) != 2 {
		t.Fatal("the test-mode configuration did not deliver a test code")
	}
	events, _ := s.App.Store.ListAuditEvents(context.Background(), store.AuditFilter{Action: "integration.otp_updated"}, store.Page{})
	if len(events) != 2 {
		t.Fatalf("audit: %+v", events)
	}
}

func TestOTPIntegrationValidation(t *testing.T) {
	t.Parallel()
	e := newIntegrationEnv(t, nil)
	s := e.s
	admin := akBearer(akAdmin(t, s, "live"))
	const secret = "a-webhook-secret-of-thirty-two-characters"
	smtpBody := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{"host": "smtp.acme.example", "port": 587, "username": "u", "password": "p4ss", "from": "codes@acme.example"}
		mut(m)
		return map[string]any{"sender": "smtp", "smtp": m}
	}
	tpl := func(k, l, text string) map[string]any {
		b := webhookBody("https://gw.acme.example/otp", secret)
		b["templates"] = map[string]any{k: map[string]string{l: text}}
		return b
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"unknown sender", map[string]any{"sender": "carrier-pigeon"}, 422, "sender"},
		{"the log sender", map[string]any{"sender": "log"}, 422, "sender"},
		{"no sender", map[string]any{}, 422, "sender"},
		{"no url", map[string]any{"sender": "webhook", "webhook_secret": secret}, 422, "webhook_url"},
		{"http url", webhookBody("http://gw.acme.example/otp", secret), 422, "webhook_url"},
		{"relative url", webhookBody("/otp", secret), 422, "webhook_url"},
		{"url with credentials", webhookBody("https://u:p@gw.acme.example/otp", secret), 422, "webhook_url"},
		{"no secret", map[string]any{"sender": "webhook", "webhook_url": "https://gw.acme.example/otp"}, 422, "webhook_secret"},
		{"short secret", webhookBody("https://gw.acme.example/otp", "short"), 422, "webhook_secret"},
		{"smtp section with webhook", map[string]any{"sender": "webhook", "webhook_url": "https://gw.acme.example", "webhook_secret": secret, "smtp": map[string]any{"host": "h"}}, 422, "smtp"},
		{"smtp without section", map[string]any{"sender": "smtp"}, 422, "smtp"},
		{"smtp bad port", smtpBody(func(m map[string]any) { m["port"] = 70000 }), 422, "smtp.port"},
		{"smtp negative port", smtpBody(func(m map[string]any) { m["port"] = -1 }), 422, "smtp.port"},
		{"smtp port not a number", smtpBody(func(m map[string]any) { m["port"] = "587" }), 422, "smtp.port"},
		{"smtp bad from", smtpBody(func(m map[string]any) { m["from"] = "not an address" }), 422, "smtp.from"},
		{"smtp plaintext", smtpBody(func(m map[string]any) { m["tls"] = "none" }), 422, "smtp.tls"},
		{"smtp no host", smtpBody(func(m map[string]any) { m["host"] = "" }), 422, "smtp.host"},
		{"smtp bad host", smtpBody(func(m map[string]any) { m["host"] = "smtp acme" }), 422, "smtp.host"},
		{"smtp username without password", smtpBody(func(m map[string]any) { delete(m, "password") }), 422, "smtp.password"},
		{"twilio bad sid", map[string]any{"sender": "twilio", "twilio": map[string]any{"account_sid": "AC1", "auth_token": "0123456789abcdef0123", "from": "+447700900123"}}, 422, "twilio.account_sid"},
		{"twilio no from", map[string]any{"sender": "twilio", "twilio": map[string]any{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "0123456789abcdef0123"}}, 422, "twilio.from"},
		{"twilio no token", map[string]any{"sender": "twilio", "twilio": map[string]any{"account_sid": "AC0123456789abcdef0123456789abcdef", "from": "+447700900123"}}, 422, "twilio.auth_token"},
		{"template does not parse", tpl("sms.signin", "en", "Code {{.Code"), 422, "templates.sms.signin.en"},
		{"template without the code", tpl("sms.signin", "en", "Your code is 123456"), 422, "templates.sms.signin.en"},
		{"template unknown key", tpl("sms.bogus", "en", "{{.Code}}"), 422, "templates.sms.bogus"},
		{"template unknown field", tpl("sms.signin", "en", "{{.Code}} {{.Secret}}"), 422, "templates.sms.signin.en"},
		{"template bad locale", tpl("email.signin", "not a locale!", "{{.Code}}"), 422, "templates.email.signin.not a locale!"},
		{"template with range", tpl("sms.signin", "fr", "{{range 100000000}}x{{end}}{{.Code}}"), 422, "templates.sms.signin.fr"},
		{"template with call", tpl("sms.signin", "fr", "{{call .Code}}"), 422, "templates.sms.signin.fr"},
		{"unknown member", map[string]any{"sender": "webhook", "colour": "blue"}, 422, "colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := akDo(t, s, "PUT", integrationsPath, admin, tc.body)
			if r.Status != tc.status || r.Body["field"] != tc.field {
				t.Errorf("%d %s, want %d naming %s", r.Status, r.Raw, tc.status, tc.field)
			}
		})
	}
	if r := akDo(t, s, "GET", integrationsPath, admin, nil); r.Status != 404 {
		t.Fatalf("bad input stored something: %d %s", r.Status, r.Raw)
	}
	// Bad input changes nothing that is stored either; a new smtp host
	// needs the password again.
	good := smtpBody(func(map[string]any) {})
	if r := akDo(t, s, "PUT", integrationsPath, admin, good); r.Status != 201 {
		t.Fatalf("PUT smtp: %d %s", r.Status, r.Raw)
	}
	moved := smtpBody(func(m map[string]any) { m["host"] = "smtp.elsewhere.example"; delete(m, "password") })
	if r := akDo(t, s, "PUT", integrationsPath, admin, moved); r.Status != 422 || r.Body["field"] != "smtp.password" {
		t.Fatalf("new host without the password: %d %s", r.Status, r.Raw)
	}
	same := smtpBody(func(m map[string]any) { delete(m, "password"); m["from"] = "\"ACME\" <codes@acme.example>" })
	r := akDo(t, s, "PUT", integrationsPath, admin, same)
	if r.Status != 200 || r.Body["version"] != float64(2) || r.Body["smtp"].(map[string]any)["password"].(map[string]any)["set"] != true ||
		r.Body["smtp"].(map[string]any)["host"] != "smtp.acme.example" {
		t.Fatalf("same host without the password keeps it: %d %s", r.Status, r.Raw)
	}
}

// TestOTPIntegrationPublicAddressesOnly: without
// otp.integrations.allow_private_networks, internal addresses are refused.
func TestOTPIntegrationPublicAddressesOnly(t *testing.T) {
	t.Parallel()
	e := newIntegrationEnv(t, func(c *config.Config) { c.OTP.Integrations.AllowPrivateNetworks = false })
	admin := akBearer(akAdmin(t, e.s, "live"))
	const secret = "a-webhook-secret-of-thirty-two-characters"
	for _, u := range []string{"https://169.254.169.254/latest/meta-data", "https://127.0.0.1:8443/otp", "https://localhost/otp",
		"https://10.1.2.3/otp", "https://[::1]/otp", "https://[::ffff:192.168.0.1]/otp", "http://127.0.0.1/otp"} {
		if r := akDo(t, e.s, "PUT", integrationsPath, admin, webhookBody(u, secret)); r.Status != 422 || r.Body["field"] != "webhook_url" {
			t.Errorf("%s: %d %s", u, r.Status, r.Raw)
		}
	}
	smtp := map[string]any{"sender": "smtp", "smtp": map[string]any{"host": "192.168.1.10", "from": "a@b.example"}}
	if r := akDo(t, e.s, "PUT", integrationsPath, admin, smtp); r.Status != 422 || r.Body["field"] != "smtp.host" {
		t.Errorf("private smtp host: %d %s", r.Status, r.Raw)
	}
}

// fakeTwilio is Twilio's Messages API as far as authd uses it.
type fakeTwilio struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []url.Values
	auth []string
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	f := &fakeTwilio{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		user, pass, _ := r.BasicAuth()
		f.mu.Lock()
		f.got = append(f.got, form)
		f.auth = append(f.auth, user+":"+pass)
		f.mu.Unlock()
		if pass != "0123456789abcdef0123456789abcdef" {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"code":20003,"message":"Authenticate","status":401}`))
			return
		}
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"sid":"SM123"}`))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func TestOTPIntegrationTestMessage(t *testing.T) {
	t.Parallel()
	tw := newFakeTwilio(t)
	e := newIntegrationEnv(t, func(c *config.Config) {
		c.OTP.Twilio.BaseURL = tw.srv.URL
		c.OTP.Integrations.TestsPerHour = 3
	})
	s := e.s
	admin := akBearer(akAdmin(t, s, "live"))
	test := func(body any) akResp { return akDo(t, s, "POST", integrationsPath+"/test", admin, body) }

	if r := test(map[string]string{"channel": "sms", "to": "+447566224395"}); r.Status != 404 || r.Body["code"] != "INTEGRATION_NOT_CONFIGURED" {
		t.Fatalf("test without a configuration: %d %s", r.Status, r.Raw)
	}
	const sid = "AC0123456789abcdef0123456789abcdef"
	put := func(token string) {
		t.Helper()
		r := akDo(t, s, "PUT", integrationsPath, admin, map[string]any{"sender": "twilio",
			"twilio": map[string]any{"account_sid": sid, "auth_token": token, "from": "ACME"}})
		if r.Status != 200 && r.Status != 201 {
			t.Fatalf("PUT twilio: %d %s", r.Status, r.Raw)
		}
	}
	put("0123456789abcdef0123456789abcdef")
	if r := test(map[string]string{"channel": "email", "to": "a@b.example"}); r.Status != 422 || r.Body["field"] != "channel" {
		t.Fatalf("email through twilio: %d %s", r.Status, r.Raw)
	}
	if r := test(map[string]string{"channel": "sms", "to": "07566224395"}); r.Status != 422 || r.Body["field"] != "to" {
		t.Fatalf("national number: %d %s", r.Status, r.Raw)
	}
	r := test(map[string]string{"channel": "sms", "to": "+447566224395"})
	if r.Status != 202 || r.Body["status"] != "accepted" {
		t.Fatalf("test: %d %s", r.Status, r.Raw)
	}
	tw.mu.Lock()
	if len(tw.got) != 1 || tw.got[0].Get("To") != "+447566224395" || tw.got[0].Get("From") != "ACME" ||
		!strings.Contains(tw.got[0].Get("Body"), "test") || !strings.HasPrefix(tw.auth[0], sid+":") {
		t.Fatalf("twilio got %v %v", tw.got, tw.auth)
	}
	tw.mu.Unlock()

	// The provider refuses: 502 with the code, the provider's answer in
	// detail, never the token.
	put("ffffffffffffffffffffffffffffffff")
	r = test(map[string]string{"channel": "sms", "to": "+447566224395"})
	if r.Status != 502 || r.Body["code"] != "OTP_DELIVERY_FAILED" || !strings.Contains(r.Body["detail"].(string), "401") ||
		strings.Contains(r.Raw, "ffffffff") || strings.Contains(r.Raw, "+447566224395") {
		t.Fatalf("failing provider: %d %s", r.Status, r.Raw)
	}
	events, _ := s.App.Store.ListAuditEvents(context.Background(), store.AuditFilter{Action: "integration.otp_tested"}, store.Page{})
	if len(events) != 2 {
		t.Fatalf("audit: %+v", events)
	}
	var ok, failed int
	for _, ev := range events {
		if ev.Success {
			ok++
		} else {
			failed++
		}
	}
	if ok != 1 || failed != 1 {
		t.Fatalf("audit outcomes: %+v", events)
	}

	// A failing webhook receiver.
	gw := newGateway(t)
	gw.secret = []byte("a-webhook-secret-of-thirty-two-characters")
	gw.fail = 401
	if r := akDo(t, s, "PUT", integrationsPath, admin, webhookBody(gw.srv.URL, string(gw.secret))); r.Status != 200 {
		t.Fatalf("PUT webhook: %d %s", r.Status, r.Raw)
	}
	if r := test(map[string]string{"channel": "email", "to": "ops@acme.example"}); r.Status != 502 || r.Body["code"] != "OTP_DELIVERY_FAILED" {
		t.Fatalf("failing receiver: %d %s", r.Status, r.Raw)
	}
	// Three tests an hour: the fourth is refused.
	if r := test(map[string]string{"channel": "email", "to": "ops@acme.example"}); r.Status != 429 || r.Body["code"] != "RATE_LIMITED" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth test: %d %s", r.Status, r.Raw)
	}
}

// TestOTPIntegrationContactLocale: the contact's locale picks the
// business's text: at registration the registrant's, afterwards the one on
// record (also for a registration of its taken phone, whoever registers).
func TestOTPIntegrationContactLocale(t *testing.T) {
	t.Parallel()
	e := newIntegrationEnv(t, nil)
	s := e.s
	const secret = "business-a-webhook-secret-0123456789-abcdef"
	gw := newGateway(t)
	gw.secret = []byte(secret)
	body := webhookBody(gw.srv.URL, secret)
	body["templates"] = map[string]any{
		"sms.register":          map[string]string{"en": "Code {{.Code}}", "fr": "Votre code {{.Code}}"},
		"sms.signin":            map[string]string{"en": "Sign in {{.Code}}", "fr": "Connexion {{.Code}}"},
		"sms.register_existing": map[string]string{"en": "You have an account {{.Code}}", "fr": "Vous avez un compte {{.Code}}"},
	}
	if r := akDo(t, s, "PUT", integrationsPath, akBearer(akAdmin(t, s, "live")), body); r.Status != 201 {
		t.Fatalf("PUT: %d %s", r.Status, r.Raw)
	}
	pk := akKey(s.Boot.APIKeys["live"].Public)
	phone := map[string]string{"provider": "PHONE", "phone_number": "07566224395", "country_code": "GBR"}
	r := akDo(t, s, "POST", "/self-service/v1/contacts/register", pk, map[string]any{"first_name": "Zoé", "locale": "fr-CA", "identity": phone})
	if r.Status != 201 || r.Body["contact"].(map[string]any)["locale"] != "fr-CA" {
		t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	id := r.Body["otp"].(map[string]any)["otp_id"].(string)
	last := func() map[string]string { m := gw.messages(); return m[len(m)-1] }
	if m := last(); m["text"] != "Votre code "+m["code"] {
		t.Fatalf("fr-CA registration text: %v", m)
	}
	if r := akDo(t, s, "POST", "/self-service/v1/otps/"+id+"/validate", pk, map[string]string{"code": gw.codeFor(id)}); r.Status != 200 {
		t.Fatalf("validate: %d %s", r.Status, r.Raw)
	}
	if r := akDo(t, s, "POST", "/self-service/v1/otps", pk, map[string]string{"channel": "SMS", "phone_number": "07566224395", "country_code": "GBR"}); r.Status != 201 {
		t.Fatalf("otps: %d %s", r.Status, r.Raw)
	}
	if m := last(); m["text"] != "Connexion "+m["code"] {
		t.Fatalf("sign-in text for a French contact: %v", m)
	}
	// Someone registers the taken phone in English: the owner reads French.
	if r := akDo(t, s, "POST", "/self-service/v1/contacts/register", pk, map[string]any{"first_name": "X", "locale": "en", "identity": phone}); r.Status != 201 {
		t.Fatalf("register again: %d %s", r.Status, r.Raw)
	}
	if m := last(); m["purpose"] != "register_existing" || m["text"] != "Vous avez un compte "+m["code"] {
		t.Fatalf("the owner's message: %v", m)
	}
	// A contact without a locale: English.
	e.register(t, s.Boot.APIKeys["live"].Public, "07566224396")
	if m := last(); m["text"] != "Code "+m["code"] {
		t.Fatalf("default text: %v", m)
	}
}
