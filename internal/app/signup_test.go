package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/config"
)

const signupPassword = "a-long-secret-phrase"

// signupEnv is a network with a live public key of business A holding
// organisations:register, and the gateway that receives the codes.
type signupEnv struct {
	*selfServiceEnv
	key string // pk_live_… of business A
}

func newSignupEnv(t *testing.T, mutate func(*config.Config), opts app.Options) *signupEnv {
	t.Helper()
	e := newSelfServiceWith(t, func(cfg *config.Config) {
		cfg.OTP.PerIPPerHour, cfg.OTP.PerIdentifierPerHour, cfg.OTP.PerAPIKeyPerMinute = 10000, 10000, 10000
		cfg.RateLimits.SignupPerIPPerHour, cfg.RateLimits.SignupPerAPIKeyPerHour, cfg.RateLimits.SignupPerEmailPerHour = 10000, 10000, 10000
		if mutate != nil {
			mutate(cfg)
		}
	}, opts)
	k := akCreate(t, e.s, akAdmin(t, e.s, "live"), map[string]any{"type": "public", "name": "sign-up", "scopes": []string{"organisations:register"}})
	return &signupEnv{selfServiceEnv: e, key: k["key"].(string)}
}

func signupBody(name, typ, email string) map[string]any {
	return map[string]any{
		"organisation": map[string]any{"name": name, "type": typ},
		"owner":        map[string]any{"email": email, "first_name": "Ada", "last_name": "Lovelace", "password": signupPassword},
	}
}

// start asks for a sign-up and returns its otp_id (202 expected).
func (e *signupEnv) start(t *testing.T, key string, body any) string {
	t.Helper()
	code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/organisations/register", key, body)
	if code != http.StatusAccepted {
		t.Fatalf("register: %d %v", code, m)
	}
	id, _ := m["otp_id"].(string)
	if id == "" || len(m) != 1 {
		t.Fatalf("register answer %v: want exactly an otp_id", m)
	}
	return id
}

func (e *signupEnv) complete(t *testing.T, key, otpID, code string) (int, map[string]any) {
	t.Helper()
	status, m, _ := e.keyCall(t, "POST", "/backoffice/v1/organisations/register/"+otpID, key, map[string]string{"code": code})
	return status, m
}

// children lists the names of the organisations directly below org.
func (e *signupEnv) children(t *testing.T, org string) []string {
	t.Helper()
	code, m, _ := e.s.call(t, "GET", "/backoffice/v1/organisations?size=100&parent_id="+org, e.adminToken, nil)
	if code != 200 {
		t.Fatalf("list organisations: %d %v", code, m)
	}
	var out []string
	for _, o := range m["organisations"].([]any) {
		out = append(out, o.(map[string]any)["name"].(string))
	}
	sort.Strings(out)
	return out
}

// message is the last message the gateway got for otpID.
func (e *signupEnv) message(t *testing.T, otpID string) map[string]string {
	t.Helper()
	for _, m := range e.gw.messages() {
		if m["otp_id"] == otpID {
			return m
		}
	}
	t.Fatalf("nothing was sent for %s", otpID)
	return nil
}

func wantProblem(t *testing.T, what string, status int, m map[string]any, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus || m["code"] != code {
		t.Fatalf("%s: %d %v, want %d %s", what, status, m, wantStatus, code)
	}
}

// TestOrganisationSignUp: a live public key signs an organisation up
// below its own organisation; the code sent to the owner's email creates
// the organisation, the owner and the owner's admin membership, and
// answers the back-office auth response; the owner then signs in with the
// password. The code is single use; a wrong code is refused and counted.
func TestOrganisationSignUp(t *testing.T) {
	e := newSignupEnv(t, nil, app.Options{})
	email := "Owner@Corner.Example"
	id := e.start(t, e.key, signupBody("  Corner Shop ", "merchant", email))
	msg := e.message(t, id)
	if msg["to"] != "owner@corner.example" || msg["channel"] != "email" || msg["purpose"] != "organisation_register" {
		t.Fatalf("message %v", msg)
	}
	if slices.Contains(e.children(t, e.bizA), "Corner Shop") {
		t.Fatal("the organisation exists before its code was validated")
	}
	code := msg["code"]
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	status, m := e.complete(t, e.key, id, wrong)
	wantProblem(t, "wrong code", status, m, 401, "INVALID_OTP")
	if slices.Contains(e.children(t, e.bizA), "Corner Shop") {
		t.Fatal("a wrong code created the organisation")
	}

	status, auth := e.complete(t, e.key, id, code)
	if status != 200 {
		t.Fatalf("complete: %d %v", status, auth)
	}
	cur := auth["current_organisation"].(map[string]any)
	user := auth["user"].(map[string]any)
	orgID := cur["id"].(string)
	if cur["name"] != "Corner Shop" || cur["type"] != "merchant" || cur["parent_id"] != e.bizA || cur["role"] != "owner" {
		t.Fatalf("current_organisation %v", cur)
	}
	if user["email"] != "owner@corner.example" || user["first_name"] != "Ada" || user["last_name"] != "Lovelace" {
		t.Fatalf("user %v", user)
	}
	if auth["token_type"] != "Bearer" || auth["mode"] != "live" || auth["access_token"] == "" || auth["refresh_token"] == "" || auth["service_owner"] != false {
		t.Fatalf("auth response %v", auth)
	}
	orgs := auth["organisations"].([]any)
	if len(orgs) != 1 || orgs[0].(map[string]any)["id"] != orgID {
		t.Fatalf("organisations %v", orgs)
	}
	if c := claimsOf(t, e.s, auth["access_token"].(string)); c.Org != orgID || c.Subject != user["id"] || c.Kind != "user" || c.Mode != "live" {
		t.Fatalf("claims %+v", c)
	}
	if !slices.Contains(e.children(t, e.bizA), "Corner Shop") {
		t.Fatal("the organisation is not below the key's organisation")
	}
	// The owner acts for the new organisation with the tokens...
	if code, m, _ := e.s.call(t, "GET", "/backoffice/v1/users/me/organisations", auth["access_token"].(string), nil); code != 200 || len(m["organisations"].([]any)) != 1 {
		t.Fatalf("my organisations: %d %v", code, m)
	}
	// ...and signs in with the password (the email in any case).
	again := e.s.signIn(t, "OWNER@corner.example", signupPassword)
	if again["current_organisation"].(map[string]any)["id"] != orgID || again["user"].(map[string]any)["id"] != user["id"] {
		t.Fatalf("sign-in afterwards %v", again)
	}

	// Single use.
	status, m = e.complete(t, e.key, id, code)
	wantProblem(t, "reused code", status, m, 401, "OTP_EXPIRED")
	if n := strings.Count(strings.Join(e.children(t, e.bizA), "\n"), "Corner Shop"); n != 1 {
		t.Fatalf("%d organisations named Corner Shop", n)
	}

	// Audited, with ids only.
	code2, ev, _ := e.s.call(t, "GET", "/backoffice/v1/audit-events?action=organisation.registered", e.adminToken, nil)
	if code2 != 200 {
		t.Fatalf("audit: %d %v", code2, ev)
	}
	events := ev["events"].([]any)
	if len(events) != 1 {
		t.Fatalf("organisation.registered events: %v", events)
	}
	got := events[0].(map[string]any)
	details := got["details"].(map[string]any)
	if got["organisation_id"] != orgID || got["target_id"] != orgID || got["actor_kind"] != "api_key" || got["success"] != true ||
		details["owner_id"] != user["id"] || details["parent_id"] != e.bizA {
		t.Fatalf("audit event %v", got)
	}
	if raw := fmt.Sprint(got); strings.Contains(raw, "corner.example") || strings.Contains(raw, "Lovelace") || strings.Contains(raw, "Corner Shop") {
		t.Fatalf("the audit event holds personal data: %v", got)
	}
}

// TestOrganisationSignUpTakenEmail: an email that has an account gets the
// same 202 (status, body shape, headers, similar time) and a "you already
// have an account" message; its code creates nothing (409 CONFLICT). A
// new email that gets an account between the request and the code is
// refused alike.
func TestOrganisationSignUpTakenEmail(t *testing.T) {
	e := newSignupEnv(t, nil, app.Options{})
	before := e.children(t, e.bizA)

	call := func(email string) (time.Duration, int, map[string]any, http.Header) {
		start := time.Now()
		status, m, h := e.keyCall(t, "POST", "/backoffice/v1/organisations/register", e.key, signupBody("Taken Shop", "merchant", email))
		return time.Since(start), status, m, h
	}
	_, sNew, mNew, hNew := call("fresh-0@corner.example")
	_, sTaken, mTaken, hTaken := call(strings.ToUpper(e.alice)) // alice is a user
	if sNew != 202 || sTaken != 202 {
		t.Fatalf("statuses %d %v / %d %v", sNew, mNew, sTaken, mTaken)
	}
	if len(mNew) != len(mTaken) || len(mTaken["otp_id"].(string)) != len(mNew["otp_id"].(string)) {
		t.Fatalf("bodies differ in shape: %v / %v", mNew, mTaken)
	}
	for _, h := range []http.Header{hNew, hTaken} {
		h.Del("Date")
		h.Del("X-Request-Id")
	}
	if fmt.Sprint(hNew) != fmt.Sprint(hTaken) {
		t.Fatalf("headers differ:\n%v\n%v", hNew, hTaken)
	}
	// Comparable time: medians of a few requests each.
	var tNew, tTaken []time.Duration
	for i := range 7 {
		d, s, m, _ := call(fmt.Sprintf("fresh-%d@corner.example", i+1))
		if s != 202 {
			t.Fatalf("new email: %d %v", s, m)
		}
		tNew = append(tNew, d)
		if d, s, m, _ = call(e.alice); s != 202 {
			t.Fatalf("taken email: %d %v", s, m)
		}
		tTaken = append(tTaken, d)
	}
	slices.Sort(tNew)
	slices.Sort(tTaken)
	if mn, mt := tNew[3], tTaken[3]; mt > 3*mn+20*time.Millisecond || mn > 3*mt+20*time.Millisecond {
		t.Errorf("median times differ: new %s, taken %s", mn, mt)
	}

	takenID := mTaken["otp_id"].(string)
	msg := e.message(t, takenID)
	if msg["to"] != e.alice || msg["purpose"] != "organisation_register_existing" {
		t.Fatalf("message to the taken email %v", msg)
	}
	status, m := e.complete(t, e.key, takenID, msg["code"])
	wantProblem(t, "code of a taken email", status, m, 409, "CONFLICT")
	// Alice's account is as it was: her password still signs her in to
	// business A.
	if a := e.s.signIn(t, e.alice, userPassword); a["current_organisation"].(map[string]any)["id"] != e.bizA {
		t.Fatalf("alice after: %v", a)
	}

	// A new email taken between the request and the code.
	raceID := e.start(t, e.key, signupBody("Race Shop", "merchant", "race@corner.example"))
	if code, m, _ := e.s.call(t, "POST", "/backoffice/v1/users", e.adminToken, map[string]any{
		"email": "race@corner.example", "password": userPassword, "first_name": "R", "last_name": "Ace",
		"memberships": []map[string]string{{"organisation_id": e.bizB, "role": "member"}},
	}); code != 201 {
		t.Fatalf("create user: %d %v", code, m)
	}
	status, m = e.complete(t, e.key, raceID, e.gw.codeFor(raceID))
	wantProblem(t, "email taken meanwhile", status, m, 409, "CONFLICT")

	// Two pending sign-ups of one new email: the first code wins.
	first := e.start(t, e.key, signupBody("First Shop", "merchant", "twice@corner.example"))
	second := e.start(t, e.key, signupBody("Second Shop", "merchant", "twice@corner.example"))
	if status, m := e.complete(t, e.key, second, e.gw.codeFor(second)); status != 200 {
		t.Fatalf("second: %d %v", status, m)
	}
	status, m = e.complete(t, e.key, first, e.gw.codeFor(first))
	wantProblem(t, "the other pending sign-up", status, m, 409, "CONFLICT")

	after := e.children(t, e.bizA)
	want := append(slices.Clone(before), "Second Shop")
	sort.Strings(want)
	if !slices.Equal(after, want) {
		t.Fatalf("organisations below business A: %v, want %v", after, want)
	}
	code2, ev, _ := e.s.call(t, "GET", "/backoffice/v1/audit-events?action=organisation.register_refused", e.adminToken, nil)
	if code2 != 200 || len(ev["events"].([]any)) != 3 {
		t.Fatalf("organisation.register_refused events: %d %v", code2, ev)
	}
}

// TestOrganisationSignUpKeys: only a live public key holding
// organisations:register signs organisations up; secret keys, test keys,
// keys without the scope and bearer tokens are refused, before anything
// is sent.
func TestOrganisationSignUpKeys(t *testing.T) {
	e := newSignupEnv(t, nil, app.Options{})
	secret := akCreate(t, e.s, akAdmin(t, e.s, "live"), map[string]any{"type": "secret", "name": "s", "scopes": []string{"organisations:register"}})["key"].(string)
	testKey := akCreate(t, e.s, akAdmin(t, e.s, "test"), map[string]any{"type": "public", "name": "t", "scopes": []string{"organisations:register"}})["key"].(string)
	body := signupBody("Refused Shop", "merchant", "refused@corner.example")
	for _, tc := range []struct {
		name, key    string
		status       int
		code         string
		bearerHeader bool
	}{
		{"secret key", secret, 403, "INSUFFICIENT_SCOPE", false},
		{"secret key with every scope", e.liveSK, 403, "INSUFFICIENT_SCOPE", false},
		{"test key", testKey, 403, "FORBIDDEN", false},
		{"public key without the scope", e.live, 403, "INSUFFICIENT_SCOPE", false},
		{"no key", "", 401, "INVALID_API_KEY", false},
		{"bearer token", "", 401, "INVALID_API_KEY", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var m map[string]any
			if tc.bearerHeader {
				status, m, _ = e.s.call(t, "POST", "/backoffice/v1/organisations/register", e.adminToken, body)
			} else {
				status, m, _ = e.keyCall(t, "POST", "/backoffice/v1/organisations/register", tc.key, body)
			}
			wantProblem(t, "register", status, m, tc.status, tc.code)
			if tc.bearerHeader {
				status, m, _ = e.s.call(t, "POST", "/backoffice/v1/organisations/register/AAAAAAAAAAAAAAAAAAAAAAAA", e.adminToken, map[string]string{"code": "123456"})
			} else {
				status, m, _ = e.keyCall(t, "POST", "/backoffice/v1/organisations/register/AAAAAAAAAAAAAAAAAAAAAAAA", tc.key, map[string]string{"code": "123456"})
			}
			wantProblem(t, "complete", status, m, tc.status, tc.code)
		})
	}
	if n := len(e.gw.messages()); n != 0 {
		t.Fatalf("%d messages sent for refused keys", n)
	}
	// A code is bound to the organisation of the key it was asked with.
	id := e.start(t, e.key, body)
	other := akCreate(t, e.s, akUserToken(t, e.s, e.s.Boot.Admin.ID, e.bizB, "live"), map[string]any{"type": "public", "name": "b", "scopes": []string{"organisations:register"}})["key"].(string)
	status, m := e.complete(t, other, id, e.gw.codeFor(id))
	wantProblem(t, "another organisation's key", status, m, 401, "OTP_EXPIRED")
	if slices.Contains(e.children(t, e.bizA), "Refused Shop") || slices.Contains(e.children(t, e.bizB), "Refused Shop") {
		t.Fatal("a refused code created the organisation")
	}
}

// TestOrganisationSignUpBadInput: invalid input answers 422 naming the
// field, and sends nothing.
func TestOrganisationSignUpBadInput(t *testing.T) {
	e := newSignupEnv(t, nil, app.Options{})
	with := func(mut func(org, owner map[string]any)) map[string]any {
		b := signupBody("Shop", "merchant", "bad@corner.example")
		mut(b["organisation"].(map[string]any), b["owner"].(map[string]any))
		return b
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"missing name", with(func(o, _ map[string]any) { delete(o, "name") }), "organisation.name"},
		{"blank name", with(func(o, _ map[string]any) { o["name"] = "   " }), "organisation.name"},
		{"bad type", with(func(o, _ map[string]any) { o["type"] = "Shop!" }), "organisation.type"},
		{"service owner type", with(func(o, _ map[string]any) { o["type"] = "service_owner" }), "organisation.type"},
		{"bad email", with(func(_, u map[string]any) { u["email"] = "not-an-email" }), "owner.email"},
		{"look-alike email", with(func(_, u map[string]any) { u["email"] = "bad\u200b@corner.example" }), "owner.email"},
		{"weak password", with(func(_, u map[string]any) { u["password"] = "password123" }), "owner.password"},
		{"short password", with(func(_, u map[string]any) { u["password"] = "short" }), "owner.password"},
		{"missing first name", with(func(_, u map[string]any) { delete(u, "first_name") }), "owner.first_name"},
		{"long last name", with(func(_, u map[string]any) { u["last_name"] = strings.Repeat("x", 101) }), "owner.last_name"},
		{"missing organisation", map[string]any{"owner": signupBody("", "", "bad@corner.example")["owner"]}, "organisation"},
		{"missing owner", map[string]any{"organisation": map[string]any{"name": "Shop", "type": "merchant"}}, "owner"},
		{"unknown field", with(func(o, _ map[string]any) { o["parent_id"] = "elsewhere" }), "parent_id"},
		{"unknown top-level field", map[string]any{"organisation": map[string]any{"name": "Shop", "type": "merchant"}, "owner": signupBody("", "", "bad@corner.example")["owner"], "role": "owner"}, "role"},
		{"name of the wrong type", with(func(o, _ map[string]any) { o["name"] = 42 }), "organisation.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, m, h := e.keyCall(t, "POST", "/backoffice/v1/organisations/register", e.key, tc.body)
			if status != 422 || m["code"] != "VALIDATION_FAILED" || m["field"] != tc.field {
				t.Fatalf("%d %v, want 422 VALIDATION_FAILED on %s", status, m, tc.field)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Fatalf("content type %q", ct)
			}
		})
	}
	if status, m := e.complete(t, e.key, "AAAAAAAAAAAAAAAAAAAAAAAA", ""); status != 422 || m["field"] != "code" {
		t.Fatalf("empty code: %d %v", status, m)
	}
	if n := len(e.gw.messages()); n != 0 {
		t.Fatalf("%d messages sent for bad input", n)
	}
	if slices.Contains(e.children(t, e.bizA), "Shop") {
		t.Fatal("bad input created an organisation")
	}
}

// TestOrganisationSignUpLimits: sign-ups are limited per email (taken or
// not) and per client IP; an expired code creates nothing.
func TestOrganisationSignUpLimits(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newSignupEnv(t, func(cfg *config.Config) {
		cfg.RateLimits.SignupPerIPPerHour = 4
		cfg.RateLimits.SignupPerEmailPerHour = 1
	}, app.Options{Clock: clk.Now})
	id := e.start(t, e.key, signupBody("Late Shop", "merchant", "late@corner.example"))
	status, m, h := e.keyCall(t, "POST", "/backoffice/v1/organisations/register", e.key, signupBody("Late Shop", "merchant", "LATE@corner.example"))
	wantProblem(t, "second sign-up of one email", status, m, 429, "RATE_LIMITED")
	if h.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Per email whether or not it is taken.
	e.start(t, e.key, signupBody("Alice Shop", "merchant", e.alice))
	status, m, _ = e.keyCall(t, "POST", "/backoffice/v1/organisations/register", e.key, signupBody("Alice Shop", "merchant", e.alice))
	wantProblem(t, "per taken email", status, m, 429, "RATE_LIMITED")
	// The fifth request from one IP: the limit is four.
	status, m, _ = e.keyCall(t, "POST", "/backoffice/v1/organisations/register", e.key, signupBody("Other Shop", "merchant", "other@corner.example"))
	wantProblem(t, "per IP", status, m, 429, "RATE_LIMITED")

	// The code expires with the pending sign-up.
	clk.Advance(e.s.App.Config.OTP.TTL + time.Second)
	status, m = e.complete(t, e.key, id, e.gw.codeFor(id))
	wantProblem(t, "expired code", status, m, 401, "OTP_EXPIRED")
	if slices.Contains(e.children(t, e.bizA), "Late Shop") {
		t.Fatal("an expired code created the organisation")
	}
}
