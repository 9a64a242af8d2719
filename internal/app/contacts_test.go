package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

const contactPassword = "a-long-secret-phrase"

// secretKeyOf makes a secret key of org in mode holding scopes.
func secretKeyOf(t *testing.T, e *selfServiceEnv, org string, mode store.Mode, scopes ...string) string {
	t.Helper()
	k, err := e.s.App.KeyService.Create(context.Background(), apikey.Actor{Kind: store.KindSystem, ID: "test"}, apikey.CreateParams{
		OrganisationID: org, Mode: mode, Type: store.APIKeySecret, Name: "server", Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return k.Key
}

// bearerCall calls path with a bearer token.
func (e *selfServiceEnv) bearerCall(t *testing.T, method, path, tok string, body any) (int, map[string]any) {
	t.Helper()
	code, m, _ := e.s.call(t, method, path, tok, body)
	return code, m
}

// auditOf returns the audit events of action about the contact id.
func auditOf(t *testing.T, e *selfServiceEnv, action, id string) []store.AuditEvent {
	t.Helper()
	evs, err := e.s.App.Store.ListAuditEvents(context.Background(), store.AuditFilter{Action: action}, store.Page{Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEvent
	for _, ev := range evs {
		if ev.TargetID == id {
			out = append(out, ev)
		}
	}
	return out
}

// TestRegistrationNeverRevealsATakenIdentity: registering a phone, an
// email or an email with a password answers alike (status, body shape,
// headers, timing) whether or not the identity already signs a contact in;
// the taken identity's owner gets a "you already have an account" code
// that signs them in unchanged, the new identity a registration code.
func TestRegistrationNeverRevealsATakenIdentity(t *testing.T) {
	e := newSelfService(t, func(c *config.Config) {
		c.OTP.PerIdentifierPerHour, c.OTP.PerIPPerHour, c.OTP.PerAPIKeyPerMinute = 1000, 1000, 1000
	})
	taken := map[string]map[string]string{
		"PHONE":          {"provider": "PHONE", "phone_number": "07566224395", "country_code": "GBR"},
		"EMAIL":          {"provider": "EMAIL", "email": "taken@example.com"},
		"EMAIL+password": {"provider": "EMAIL", "email": "pw-taken@example.com", "password": contactPassword},
	}
	for _, id := range taken {
		e.register(t, e.live, map[string]any{"first_name": "Owner", "identity": id})
	}
	fresh := func(kind string, i int) map[string]string {
		switch kind {
		case "PHONE":
			return map[string]string{"provider": "PHONE", "phone_number": fmt.Sprintf("+4475662%05d", 30000+i)}
		case "EMAIL":
			return map[string]string{"provider": "EMAIL", "email": fmt.Sprintf("new%d@example.com", i)}
		}
		return map[string]string{"provider": "EMAIL", "email": fmt.Sprintf("pw-new%d@example.com", i), "password": contactPassword}
	}
	shape := func(m map[string]any) string {
		var keys []string
		for k, v := range m {
			keys = append(keys, k)
			if sub, ok := v.(map[string]any); ok {
				for k2 := range sub {
					keys = append(keys, k+"."+k2)
				}
			}
		}
		slices.Sort(keys)
		return strings.Join(keys, ",")
	}
	headerNames := func(h http.Header) string {
		var names []string
		for k := range h {
			if k != "Date" && k != "X-Request-Id" && k != "Content-Length" {
				names = append(names, k+"="+strings.Join(h.Values(k), ";"))
			}
		}
		slices.Sort(names)
		return strings.Join(names, ",")
	}
	const samples = 21
	for kind, tid := range taken {
		t.Run(kind, func(t *testing.T) {
			var dTaken, dFresh []time.Duration
			for i := range samples {
				try := func(id map[string]string) (int, map[string]any, http.Header, time.Duration) {
					start := time.Now()
					code, m, h := e.keyCall(t, "POST", "/self-service/v1/contacts/register", e.live, map[string]any{"first_name": "Someone", "identity": id})
					return code, m, h, time.Since(start)
				}
				c1, m1, h1, d1 := try(tid)
				c2, m2, h2, d2 := try(fresh(kind, i))
				if c1 != 201 || c2 != 201 || shape(m1) != shape(m2) || headerNames(h1) != headerNames(h2) {
					t.Fatalf("taken %d %v %v\nfresh %d %v %v", c1, m1, h1, c2, m2, h2)
				}
				dTaken, dFresh = append(dTaken, d1), append(dFresh, d2)
			}
			slices.Sort(dTaken)
			slices.Sort(dFresh)
			mt, mf := dTaken[samples/2], dFresh[samples/2]
			if ratio := float64(mt) / float64(mf); ratio < 0.5 || ratio > 2 {
				t.Fatalf("timing tells them apart: median taken %v, fresh %v", mt, mf)
			}
			t.Logf("median taken %v, fresh %v", mt, mf)
		})
	}
	// What the owners received: the "already have an account" text.
	var purposes []string
	for _, m := range e.gw.messages() {
		if m["to"] == "+447566224395" || m["to"] == "taken@example.com" || m["to"] == "pw-taken@example.com" {
			purposes = append(purposes, m["purpose"])
		}
	}
	if len(purposes) != 3+3*samples || slices.ContainsFunc(purposes[3:], func(p string) bool { return p != "register_existing" }) {
		t.Fatalf("messages to the taken identities: %v", purposes)
	}
}

// TestRegistrationOfATakenEmailChangesNothing: registering someone's email
// with another name and password, then validating the code the owner
// received, signs the owner in with their data and password unchanged.
func TestRegistrationOfATakenEmailChangesNothing(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	owner := e.register(t, e.live, map[string]any{"first_name": "Vera",
		"identity": map[string]string{"provider": "EMAIL", "email": "vera@example.com", "password": contactPassword}})
	ownerID := owner["contact"].(map[string]any)["id"]
	// Before the code validates, nothing exists for a pending registration.
	code, pending, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", e.live, map[string]any{"first_name": "Pending",
		"identity": map[string]string{"provider": "EMAIL", "email": "pending@example.com", "password": contactPassword}})
	if code != 201 {
		t.Fatalf("register: %d %v", code, pending)
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/authenticate", e.live,
		map[string]string{"provider": "EMAIL", "email": "pending@example.com", "password": contactPassword}); code != 401 {
		t.Fatalf("a registration signed in before its code was validated: %d %v", code, m)
	}

	auth := e.register(t, e.live, map[string]any{"first_name": "Mallory",
		"identity": map[string]string{"provider": "EMAIL", "email": "vera@example.com", "password": "mallory-long-password"}})
	c := auth["contact"].(map[string]any)
	if c["id"] != ownerID || c["first_name"] != "Vera" {
		t.Fatalf("the code signed in %v, want Vera unchanged", c)
	}
	signIn := func(pw string) int {
		code, _, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/authenticate", e.live,
			map[string]string{"provider": "EMAIL", "email": "vera@example.com", "password": pw})
		return code
	}
	if signIn(contactPassword) != 200 || signIn("mallory-long-password") != 401 {
		t.Fatal("the password of a taken email changed")
	}
}

// TestContactProfileUpdate: a contact changes its profile; refresh and
// me answer the new data; the back office changes the record; bad input
// is 422 naming the field and changes nothing; other tenants and modes
// cannot reach the contact.
func TestContactProfileUpdate(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	auth := e.register(t, e.live, guideRegistration)
	at, rt := auth["access_token"].(string), auth["refresh_token"].(string)
	id := auth["contact"].(map[string]any)["id"].(string)

	code, c := e.bearerCall(t, "PATCH", "/self-service/v1/contacts/me", at, map[string]any{
		"first_name": "Jim", "title": "Mr", "avatar_url": "https://cdn.example.com/a/jim.png", "locale": "en-gb",
		"email_opt_out": "false", "type": "person"})
	if code != 200 || c["first_name"] != "Jim" || c["avatar_url"] != "https://cdn.example.com/a/jim.png" || c["locale"] != "en-GB" ||
		c["email_opt_out"] != false || c["sms_opt_out"] != true || c["last_name"] != "Connors" {
		t.Fatalf("patch me: %d %v", code, c)
	}
	code, ref, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", "", map[string]string{"refresh_token": rt})
	if code != 200 || ref["contact"].(map[string]any)["first_name"] != "Jim" || ref["contact"].(map[string]any)["title"] != "Mr" {
		t.Fatalf("refresh after the update: %d %v", code, ref)
	}
	if code, me := e.bearerCall(t, "GET", "/self-service/v1/contacts/me", at, nil); code != 200 || me["contact"].(map[string]any)["locale"] != "en-GB" {
		t.Fatalf("me after the update: %d %v", code, me)
	}
	evs := auditOf(t, e, audit.ContactUpdated, id)
	if len(evs) != 1 || evs[0].ActorKind != store.KindContact || evs[0].Details["fields"] != "title,first_name,avatar_url,locale,type,email_opt_out" {
		t.Fatalf("audit of the update: %+v", evs)
	}
	if strings.Contains(fmt.Sprint(evs[0]), "Jim") {
		t.Fatalf("the audit event holds a value: %+v", evs[0])
	}

	_, snapshot := e.bearerCall(t, "GET", "/self-service/v1/contacts/me", at, nil)
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"http avatar", map[string]any{"avatar_url": "http://cdn.example.com/a.png"}, "avatar_url"},
		{"oversized avatar", map[string]any{"avatar_url": "https://cdn.example.com/" + strings.Repeat("a", 2100)}, "avatar_url"},
		{"avatar with credentials", map[string]any{"avatar_url": "https://u:p@cdn.example.com/a.png"}, "avatar_url"},
		{"unknown field", map[string]any{"first_name": "X", "shoe_size": 9}, "shoe_size"},
		{"type outside the list", map[string]any{"type": "robot"}, "type"},
		{"id", map[string]any{"id": "other"}, "id"},
		{"code", map[string]any{"code": "X-1"}, "code"},
		{"identity", map[string]any{"identity": map[string]string{"provider": "EMAIL"}}, "identity"},
		{"email on record from self-service", map[string]any{"email": "x@example.com"}, "email"},
		{"phone on record from self-service", map[string]any{"phone_number": "07566224396", "country_code": "GBR"}, "phone_number"},
		{"locale not BCP 47", map[string]any{"locale": "english please"}, "locale"},
		{"locale with a bad subtag", map[string]any{"locale": "en-GB-x"}, "locale"},
		{"first name too long", map[string]any{"first_name": strings.Repeat("é", 101)}, "first_name"},
		{"opt-out not a boolean", map[string]any{"sms_opt_out": "maybe"}, "sms_opt_out"},
	} {
		code, m := e.bearerCall(t, "PATCH", "/self-service/v1/contacts/me", at, tc.body)
		if code != 422 || m["code"] != "VALIDATION_FAILED" || m["field"] != tc.field {
			t.Errorf("%s: %d %v, want 422 on %s", tc.name, code, m, tc.field)
		}
	}
	if _, now := e.bearerCall(t, "GET", "/self-service/v1/contacts/me", at, nil); fmt.Sprint(now) != fmt.Sprint(snapshot) {
		t.Fatalf("refused updates changed the contact:\n%v\n%v", snapshot, now)
	}

	// The back office: secret key of the business, live.
	path := "/backoffice/v1/contacts/" + id
	code, bo, _ := e.keyCall(t, "PATCH", path, e.liveSK, map[string]any{"type": "company", "email": "Jim@Example.com",
		"phone_number": "07566224396", "country_code": "GBR", "title": ""})
	if code != 200 || bo["type"] != "company" || bo["email"] != "jim@example.com" || bo["phone_number"] != "+447566224396" || bo["title"] != nil {
		t.Fatalf("back-office patch: %d %v", code, bo)
	}
	// The sign-in identity did not move with the phone on record.
	signInByOTP(t, e)
	// A user of the business with a role there.
	alice := e.s.signIn(t, e.alice, userPassword)["access_token"].(string)
	if code, m := e.bearerCall(t, "PATCH", path, alice, map[string]any{"last_name": "C."}); code != 200 || m["last_name"] != "C." {
		t.Fatalf("alice's patch: %d %v", code, m)
	}
	if code, m := e.bearerCall(t, "PATCH", "/self-service/v1/contacts/me", alice, map[string]any{"first_name": "X"}); code != 403 || m["code"] != "FORBIDDEN" {
		t.Errorf("a user's token on PATCH me: %d %v", code, m)
	}
	if code, m := e.bearerCall(t, "PUT", "/self-service/v1/contacts/me/password", alice, map[string]any{"current_password": userPassword, "password": "new-long-password-1"}); code != 403 {
		t.Errorf("a user's token changes a contact password: %d %v", code, m)
	}
	if code, m := e.bearerCall(t, "DELETE", "/self-service/v1/contacts/me", alice, map[string]any{"password": userPassword}); code != 403 {
		t.Errorf("a user's token erases: %d %v", code, m)
	}
	otherSK := secretKeyOf(t, e, e.bizB, store.ModeLive, "contacts:read", "contacts:write")
	for _, tc := range []struct {
		name   string
		key    string
		bearer string
		status int
		code   string
	}{
		{"another business's secret key", otherSK, "", 404, "NOT_FOUND"},
		{"a test-mode secret key", e.testSK, "", 404, "NOT_FOUND"},
		{"a public key", e.live, "", 403, "INSUFFICIENT_SCOPE"},
		{"the contact's own token", "", at, 403, "FORBIDDEN"},
		{"bob, acting for his own business", "", e.s.signIn(t, e.bob, userPassword)["access_token"].(string), 404, "NOT_FOUND"},
	} {
		var code int
		var m map[string]any
		if tc.key != "" {
			code, m, _ = e.keyCall(t, "PATCH", path, tc.key, map[string]any{"first_name": "Hijacked"})
		} else {
			code, m = e.bearerCall(t, "PATCH", path, tc.bearer, map[string]any{"first_name": "Hijacked"})
		}
		if code != tc.status || m["code"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, code, m, tc.status, tc.code)
		}
	}
	if code, m, _ := e.keyCall(t, "GET", path, e.liveSK, nil); code != 200 || m["first_name"] != "Jim" {
		t.Fatalf("after refused patches: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "PATCH", "/backoffice/v1/contacts/nobody", e.liveSK, map[string]any{"first_name": "X"}); code != 404 {
		t.Fatalf("patch an unknown contact: %d %v", code, m)
	}
}

// TestContactLookup: exact matches by code, email and phone, paginated,
// within the caller's business and mode.
func TestContactLookup(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	for i := range 5 {
		body := map[string]any{"id": fmt.Sprintf("ext-%d", i), "first_name": fmt.Sprint("C", i), "email": "Shared@Example.com"}
		if i == 2 {
			body["code"] = "LOYAL-2"
			body["phone_number"], body["country_code"] = "07566224399", "GBR"
		}
		if code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.liveSK, body); code != 201 {
			t.Fatalf("create: %d %v", code, m)
		}
	}
	if code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.testSK, map[string]any{"id": "ext-test", "email": "shared@example.com"}); code != 201 {
		t.Fatalf("create test: %d %v", code, m)
	}
	list := func(key, query string) (int, map[string]any) {
		code, m, _ := e.keyCall(t, "GET", "/backoffice/v1/contacts"+query, key, nil)
		return code, m
	}
	idsOf := func(m map[string]any) []string {
		var out []string
		for _, c := range m["contacts"].([]any) {
			out = append(out, c.(map[string]any)["id"].(string))
		}
		return out
	}
	if code, m := list(e.liveSK, "?code=LOYAL-2"); code != 200 || m["total"] != 1.0 || fmt.Sprint(idsOf(m)) != "[ext-2]" {
		t.Fatalf("by code: %d %v", code, m)
	}
	if code, m := list(e.liveSK, "?phone_number=%2B447566224399"); code != 200 || fmt.Sprint(idsOf(m)) != "[ext-2]" {
		t.Fatalf("by international phone: %d %v", code, m)
	}
	if code, m := list(e.liveSK, "?phone_number=07566224399&country_code=GBR"); code != 200 || fmt.Sprint(idsOf(m)) != "[ext-2]" {
		t.Fatalf("by national phone: %d %v", code, m)
	}
	var all []string
	for p := 1; p <= 3; p++ {
		code, m := list(e.liveSK, fmt.Sprintf("?email=SHARED@example.com&size=2&page=%d", p))
		if code != 200 || m["total"] != 5.0 || m["page"] != float64(p) || m["size"] != 2.0 {
			t.Fatalf("page %d: %d %v", p, code, m)
		}
		all = append(all, idsOf(m)...)
	}
	if fmt.Sprint(all) != "[ext-0 ext-1 ext-2 ext-3 ext-4]" {
		t.Fatalf("pages: %v", all)
	}
	if code, m := list(e.testSK, "?email=shared@example.com"); code != 200 || fmt.Sprint(idsOf(m)) != "[ext-test]" {
		t.Fatalf("test mode: %d %v", code, m)
	}
	otherSK := secretKeyOf(t, e, e.bizB, store.ModeLive, "contacts:read")
	if code, m := list(otherSK, "?email=shared@example.com"); code != 200 || m["total"] != 0.0 {
		t.Fatalf("another business sees: %d %v", code, m)
	}
	if code, m := list(e.liveSK, "?code=nothing"); code != 200 || m["total"] != 0.0 || len(m["contacts"].([]any)) != 0 {
		t.Fatalf("no match: %d %v", code, m)
	}
	for _, tc := range []struct{ query, field string }{
		{"?email=not-an-email", "email"},
		{"?phone_number=%2B44123", "phone_number"},
		{"?country_code=GBR", "country_code"},
		{"?code=a&code=b", "code"},
		{"?size=0", "size"},
	} {
		if code, m := list(e.liveSK, tc.query); code != 422 || m["field"] != tc.field {
			t.Errorf("%s: %d %v, want 422 on %s", tc.query, code, m, tc.field)
		}
	}
	if code, m := list(e.live, ""); code != 403 || m["code"] != "INSUFFICIENT_SCOPE" {
		t.Fatalf("a public key lists contacts: %d %v", code, m)
	}
	contact := e.register(t, e.live, guideRegistration)
	if code, m := e.bearerCall(t, "GET", "/backoffice/v1/contacts", contact["access_token"].(string), nil); code != 403 || m["code"] != "FORBIDDEN" {
		t.Fatalf("a contact token lists contacts: %d %v", code, m)
	}
	// The five, and the contact registered just now.
	if code, m := e.bearerCall(t, "GET", "/backoffice/v1/contacts", e.s.signIn(t, e.alice, userPassword)["access_token"].(string), nil); code != 200 || m["total"] != 6.0 {
		t.Fatalf("alice lists: %d %v", code, m)
	}
}

// TestContactErasure: the back office erases a contact: its tokens stop
// at once, a second erase is 404, the audit event holds no personal data,
// and the same phone registers afresh. A contact erases itself with its
// password or a fresh code.
func TestContactErasure(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	auth := e.register(t, e.live, guideRegistration)
	id := auth["contact"].(map[string]any)["id"].(string)
	second := signInByOTP(t, e)
	path := "/backoffice/v1/contacts/" + id

	otherSK := secretKeyOf(t, e, e.bizB, store.ModeLive, "contacts:write")
	if code, m, _ := e.keyCall(t, "DELETE", path, otherSK, nil); code != 404 {
		t.Fatalf("another business erases: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "DELETE", path, e.testSK, nil); code != 404 {
		t.Fatalf("a test key erases a live contact: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "DELETE", path, e.live, nil); code != 403 {
		t.Fatalf("a public key erases: %d %v", code, m)
	}
	if code, m := e.bearerCall(t, "DELETE", path, auth["access_token"].(string), nil); code != 403 {
		t.Fatalf("a contact token erases through the back office: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "DELETE", path, e.liveSK, nil); code != 204 {
		t.Fatalf("erase: %d %v", code, m)
	}
	for _, tok := range []string{auth["access_token"].(string), second["access_token"].(string)} {
		if code, m := e.bearerCall(t, "GET", "/self-service/v1/contacts/me", tok, nil); code != 401 {
			t.Fatalf("an erased contact's token: %d %v", code, m)
		}
		if code, _ := forwardAuth(t, e.s, map[string]string{"Authorization": "Bearer " + tok}); code != 401 {
			t.Fatalf("forward-auth lets an erased contact's token through: %d", code)
		}
	}
	for _, rt := range []string{auth["refresh_token"].(string), second["refresh_token"].(string)} {
		if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", "", map[string]string{"refresh_token": rt}); code != 401 {
			t.Fatalf("an erased contact's refresh token: %d %v", code, m)
		}
	}
	if code, m, _ := e.keyCall(t, "DELETE", path, e.liveSK, nil); code != 404 {
		t.Fatalf("erase again: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "GET", "/backoffice/v1/contacts?phone_number=%2B447566224395", e.liveSK, nil); code != 200 || m["total"] != 0.0 {
		t.Fatalf("the erased contact is still found: %d %v", code, m)
	}
	evs := auditOf(t, e, audit.ContactErased, id)
	if len(evs) != 1 || evs[0].ActorKind != store.KindAPIKey {
		t.Fatalf("audit: %+v", evs)
	}
	if s := fmt.Sprint(evs[0]); strings.Contains(s, "7566224395") || strings.Contains(s, "Jimmy") || strings.Contains(s, "Connors") {
		t.Fatalf("the erase event holds personal data: %s", s)
	}
	fresh := e.register(t, e.live, guideRegistration)
	if fresh["contact"].(map[string]any)["id"] == id {
		t.Fatal("the same phone signed the erased contact in again")
	}

	// Self-erasure with the password.
	ann := e.register(t, e.live, map[string]any{"first_name": "Ann",
		"identity": map[string]string{"provider": "EMAIL", "email": "ann@example.com", "password": contactPassword}})
	annTok := ann["access_token"].(string)
	if code, m := e.bearerCall(t, "DELETE", "/self-service/v1/contacts/me", annTok, map[string]string{"password": "wrong-password-1"}); code != 401 || m["code"] != "INVALID_CREDENTIALS" {
		t.Fatalf("self-erase with a wrong password: %d %v", code, m)
	}
	if code, m := e.bearerCall(t, "DELETE", "/self-service/v1/contacts/me", annTok, map[string]string{}); code != 422 || m["field"] != "password" {
		t.Fatalf("self-erase without proof: %d %v", code, m)
	}
	if code, m := e.bearerCall(t, "DELETE", "/self-service/v1/contacts/me", annTok, map[string]string{"password": contactPassword}); code != 204 {
		t.Fatalf("self-erase: %d %v", code, m)
	}
	if code, _ := e.bearerCall(t, "GET", "/self-service/v1/contacts/me", annTok, nil); code != 401 {
		t.Fatalf("token after self-erase: %d", code)
	}

	// Self-erasure with a fresh code; a code of someone else's is refused.
	jim := fresh["access_token"].(string)
	code, other, _ := e.keyCall(t, "POST", "/self-service/v1/otps", e.live, map[string]string{"channel": "SMS", "phone_number": "07566224396", "country_code": "GBR"})
	if code != 201 {
		t.Fatal(code)
	}
	if code, m := e.bearerCall(t, "DELETE", "/self-service/v1/contacts/me", jim, map[string]string{"otp_id": other["otp_id"].(string), "code": "123456"}); code != 401 {
		t.Fatalf("self-erase with a code sent to nobody: %d %v", code, m)
	}
	code, o, _ := e.keyCall(t, "POST", "/self-service/v1/otps", e.live, map[string]string{"channel": "SMS", "phone_number": "07566224395", "country_code": "GBR"})
	if code != 201 {
		t.Fatal(code)
	}
	oid := o["otp_id"].(string)
	if code, m := e.bearerCall(t, "DELETE", "/self-service/v1/contacts/me", jim, map[string]string{"otp_id": oid, "code": e.gw.codeFor(oid)}); code != 204 {
		t.Fatalf("self-erase with a code: %d %v", code, m)
	}
	if evs := auditOf(t, e, audit.ContactErased, fresh["contact"].(map[string]any)["id"].(string)); len(evs) != 1 || evs[0].ActorKind != store.KindContact {
		t.Fatalf("self-erase audit: %+v", evs)
	}
}

// TestContactPasswordReset: a reset code goes to a known email only (the
// answer is the same for unknown ones); a refused password does not spend
// it; the reset signs the contact in and ends every other session, also
// one being refreshed meanwhile; the code is single use and a sign-in
// code cannot reset.
func TestContactPasswordReset(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	ann := e.register(t, e.live, map[string]any{"first_name": "Ann",
		"identity": map[string]string{"provider": "EMAIL", "email": "ann@example.com", "password": contactPassword}})
	old := e.keyCallOK(t, "/self-service/v1/contacts/authenticate", map[string]string{"provider": "EMAIL", "email": "ann@example.com", "password": contactPassword})

	sent := len(e.gw.messages())
	code, unknown, h1 := e.keyCall(t, "POST", "/self-service/v1/contacts/password/reset", e.live, map[string]string{"email": "ghost@example.com"})
	if code != 202 || unknown["otp_id"] == nil || len(e.gw.messages()) != sent {
		t.Fatalf("reset for an unknown email: %d %v (%d sent)", code, unknown, len(e.gw.messages())-sent)
	}
	code, known, h2 := e.keyCall(t, "POST", "/self-service/v1/contacts/password/reset", e.live, map[string]string{"email": "ANN@example.com"})
	if code != 202 || len(known) != len(unknown) || h1.Get("Cache-Control") != h2.Get("Cache-Control") {
		t.Fatalf("reset: %d %v, unknown %v", code, known, unknown)
	}
	msgs := e.gw.messages()
	if len(msgs) != sent+1 || msgs[sent]["purpose"] != "password_reset" || msgs[sent]["to"] != "ann@example.com" {
		t.Fatalf("the reset message: %v", msgs[sent:])
	}
	oid := known["otp_id"].(string)
	resetPath := "/self-service/v1/contacts/password/reset/" + oid
	if code, m, _ := e.keyCall(t, "POST", resetPath, e.live, map[string]string{"code": e.gw.codeFor(oid), "password": "short"}); code != 422 || m["field"] != "password" {
		t.Fatalf("a refused password: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/password/reset/"+unknown["otp_id"].(string), e.live,
		map[string]string{"code": "123456", "password": "new-long-password-1"}); code != 401 {
		t.Fatalf("the unknown email's reset id: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "POST", resetPath, e.test, map[string]string{"code": e.gw.codeFor(oid), "password": "new-long-password-1"}); code != 401 || m["code"] != "OTP_EXPIRED" {
		t.Fatalf("the code with a test-mode key: %d %v", code, m)
	}

	// An access token of no session (a client that issues no refresh
	// token), issued a while ago.
	annID := ann["contact"].(map[string]any)["id"].(string)
	stray, err := e.s.App.Tokens.Issue(token.Claims{Subject: annID, Kind: "contact", ClientID: "selfservice", Org: e.bizA, Mode: "live",
		Audience: token.Audience{e.s.URL}, IssuedAt: time.Now().Add(-10 * time.Second).Unix(), ExpiresAt: time.Now().Add(10 * time.Minute).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if m := e.s.introspect(t, stray, ""); m["active"] != true {
		t.Fatalf("the token of no session before the reset: %v", m)
	}
	// A session refreshing meanwhile, on its own.
	stop := refreshing(old["refresh_token"].(string), func(rt string) (string, bool) {
		code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", "", map[string]string{"refresh_token": rt})
		if code != 200 {
			return "", false
		}
		return m["refresh_token"].(string), true
	})
	code, auth, _ := e.keyCall(t, "POST", resetPath, e.live, map[string]string{"code": e.gw.codeFor(oid), "password": "new-long-password-1"})
	last := stop()
	if code != 200 || auth["contact"].(map[string]any)["id"] != ann["contact"].(map[string]any)["id"] || auth["access_token"] == nil {
		t.Fatalf("reset: %d %v", code, auth)
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", "", map[string]string{"refresh_token": last}); code != 401 {
		t.Fatalf("the session refreshed during the reset still refreshes: %d %v", code, m)
	}
	for _, tok := range []string{ann["access_token"].(string), old["access_token"].(string), stray} {
		if code, _ := e.bearerCall(t, "GET", "/self-service/v1/contacts/me", tok, nil); code != 401 {
			t.Fatalf("an old access token after the reset: %d", code)
		}
		if m := e.s.introspect(t, tok, ""); m["active"] != false {
			t.Fatalf("an old access token introspects after the reset: %v", m)
		}
	}
	if code, _ := e.bearerCall(t, "GET", "/self-service/v1/contacts/me", auth["access_token"].(string), nil); code != 200 {
		t.Fatalf("the reset's own token: %d", code)
	}
	if code, m, _ := e.keyCall(t, "POST", resetPath, e.live, map[string]string{"code": e.gw.codeFor(oid), "password": "third-long-password"}); code != 401 || m["code"] != "OTP_EXPIRED" {
		t.Fatalf("the code again: %d %v", code, m)
	}
	signIn := func(pw string) int {
		code, _, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/authenticate", e.live, map[string]string{"provider": "EMAIL", "email": "ann@example.com", "password": pw})
		return code
	}
	if signIn(contactPassword) != 401 || signIn("new-long-password-1") != 200 {
		t.Fatal("the password did not change")
	}
	if evs := auditOf(t, e, audit.PasswordReset, ann["contact"].(map[string]any)["id"].(string)); len(evs) != 1 {
		t.Fatalf("audit: %+v", evs)
	}
	// A sign-in code cannot reset.
	code, o, _ := e.keyCall(t, "POST", "/self-service/v1/otps", e.live, map[string]string{"channel": "EMAIL", "email": "ann@example.com"})
	if code != 201 {
		t.Fatal(code)
	}
	sid := o["otp_id"].(string)
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/password/reset/"+sid, e.live, map[string]string{"code": e.gw.codeFor(sid), "password": "fourth-long-password"}); code != 401 || m["code"] != "OTP_EXPIRED" {
		t.Fatalf("a sign-in code resets: %d %v", code, m)
	}
	// ... nor is it spent there: it still signs in.
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+sid+"/validate", e.live, map[string]string{"code": e.gw.codeFor(sid)}); code != 200 {
		t.Fatalf("the sign-in code after the reset endpoint refused it: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/password/reset", e.live, map[string]string{"email": "not an email"}); code != 422 || m["field"] != "email" {
		t.Fatalf("bad email: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/password/reset", "", map[string]string{"email": "ann@example.com"}); code != 401 || m["code"] != "INVALID_API_KEY" {
		t.Fatalf("no key: %d %v", code, m)
	}
}

// keyCallOK posts body to path with the live public key and wants 200.
func (e *selfServiceEnv) keyCallOK(t *testing.T, path string, body any) map[string]any {
	t.Helper()
	code, m, _ := e.keyCall(t, "POST", path, e.live, body)
	if code != 200 {
		t.Fatalf("%s: %d %v", path, code, m)
	}
	return m
}

// TestContactPasswordChange: the current password is checked; the other
// sessions end, this one stays.
func TestContactPasswordChange(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	me := e.register(t, e.live, map[string]any{"first_name": "Ann",
		"identity": map[string]string{"provider": "EMAIL", "email": "ann@example.com", "password": contactPassword}})
	other := e.keyCallOK(t, "/self-service/v1/contacts/authenticate", map[string]string{"provider": "EMAIL", "email": "ann@example.com", "password": contactPassword})
	at := me["access_token"].(string)
	path := "/self-service/v1/contacts/me/password"
	for _, tc := range []struct {
		body   map[string]string
		status int
		field  string
	}{
		{map[string]string{"current_password": "wrong-password-1", "password": "new-long-password-1"}, 401, ""},
		{map[string]string{"current_password": contactPassword, "password": "short"}, 422, "password"},
		{map[string]string{"current_password": contactPassword, "password": "password123"}, 422, "password"},
		{map[string]string{"password": "new-long-password-1"}, 422, "current_password"},
	} {
		if code, m := e.bearerCall(t, "PUT", path, at, tc.body); code != tc.status || (tc.field != "" && m["field"] != tc.field) {
			t.Errorf("%v: %d %v, want %d %s", tc.body, code, m, tc.status, tc.field)
		}
	}
	if code, m := e.bearerCall(t, "PUT", path, at, map[string]string{"current_password": contactPassword, "password": "new-long-password-1"}); code != 204 {
		t.Fatalf("change: %d %v", code, m)
	}
	if code, _ := e.bearerCall(t, "GET", "/self-service/v1/contacts/me", at, nil); code != 200 {
		t.Fatalf("this session's access token: %d", code)
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", "", map[string]string{"refresh_token": me["refresh_token"].(string)}); code != 200 {
		t.Fatalf("this session's refresh: %d %v", code, m)
	}
	if code, _ := e.bearerCall(t, "GET", "/self-service/v1/contacts/me", other["access_token"].(string), nil); code != 401 {
		t.Fatalf("the other session's access token: %d", code)
	}
	if code, _, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", "", map[string]string{"refresh_token": other["refresh_token"].(string)}); code != 401 {
		t.Fatalf("the other session's refresh: %d", code)
	}
	if evs := auditOf(t, e, audit.PasswordChanged, me["contact"].(map[string]any)["id"].(string)); len(evs) != 1 {
		t.Fatalf("audit: %+v", evs)
	}
	// A contact without a password sets one by reset.
	phone := e.register(t, e.live, guideRegistration)
	if code, m := e.bearerCall(t, "PUT", path, phone["access_token"].(string), map[string]string{"current_password": "anything-long-1", "password": "new-long-password-1"}); code != 422 || m["field"] != "current_password" {
		t.Fatalf("change without a password: %d %v", code, m)
	}
}

// TestContactRefreshWithoutAPIKey: the refresh token alone refreshes; a
// key that is sent must be of the token's business and mode, else
// INVALID_API_KEY and the token is not spent.
func TestContactRefreshWithoutAPIKey(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	auth := e.register(t, e.live, guideRegistration)
	rt := auth["refresh_token"].(string)
	code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", "", map[string]string{"refresh_token": rt})
	if code != 200 || m["contact"].(map[string]any)["id"] != auth["contact"].(map[string]any)["id"] {
		t.Fatalf("refresh without a key: %d %v", code, m)
	}
	rt = m["refresh_token"].(string)
	otherPK, err := e.s.App.KeyService.Create(context.Background(), apikey.Actor{Kind: store.KindSystem, ID: "test"}, apikey.CreateParams{
		OrganisationID: e.bizB, Mode: store.ModeLive, Type: store.APIKeyPublic, Name: "b app", Scopes: []string{"contacts:authenticate"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]string{"another business's key": otherPK.Key, "a test-mode key": e.test} {
		if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", key, map[string]string{"refresh_token": rt}); code != 401 || m["code"] != "INVALID_API_KEY" {
			t.Fatalf("%s: %d %v", name, code, m)
		}
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", "pk_live_not-a-key", map[string]string{"refresh_token": rt}); code != 401 || m["code"] != "INVALID_API_KEY" {
		t.Fatalf("a malformed key: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", e.live, map[string]string{"refresh_token": rt}); code != 200 {
		t.Fatalf("the right key after refused ones (the token was not spent): %d %v", code, m)
	}
	// A user's refresh token is not a contact's.
	user := e.s.signIn(t, e.alice, userPassword)
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", "", map[string]string{"refresh_token": user["refresh_token"].(string)}); code != 401 || m["code"] != "INVALID_REFRESH_TOKEN" {
		t.Fatalf("a user's refresh token: %d %v", code, m)
	}
}

// TestContactErasureAcrossReplicas: a contact erased through one replica
// is refused by the other within the revocation bound, and its refresh
// token is dead there at once.
func TestContactErasureAcrossReplicas(t *testing.T) {
	pg := os.Getenv("AUTHD_TEST_POSTGRES_DSN")
	if pg == "" {
		t.Skip("needs AUTHD_TEST_POSTGRES_DSN (two replicas on one database)")
	}
	gw := newGateway(t)
	base := lenient(testConfig(t))
	base.Database.DSN = akPostgresSchema(t, pg)
	base.OTP.Sender, base.OTP.WebhookURL, base.OTP.WebhookSecret = "webhook", gw.srv.URL, "gateway-shared-secret-0123456789"
	gw.secret = []byte(base.OTP.WebhookSecret)
	a := akReplica(t, base, true)
	b := akReplica(t, base, false)
	b.Boot = a.Boot
	e := &selfServiceEnv{network: &network{s: a}, gw: gw, live: a.Boot.APIKeys["live"].Public, liveSK: a.Boot.APIKeys["live"].Secret}
	auth := e.register(t, e.live, guideRegistration)
	bearer := map[string]string{"Authorization": "Bearer " + auth["access_token"].(string)}
	if code, _ := forwardAuth(t, a, bearer); code != 200 {
		t.Fatalf("before: %d", code)
	}
	eb := &selfServiceEnv{network: &network{s: b}, gw: gw}
	if code, m, _ := eb.keyCall(t, "DELETE", "/backoffice/v1/contacts/"+auth["contact"].(map[string]any)["id"].(string), e.liveSK, nil); code != 204 {
		t.Fatalf("erase on b: %d %v", code, m)
	}
	refusedWithin(t, revocationBound, "erased contact", bearer, a, b)
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/refresh", "", map[string]string{"refresh_token": auth["refresh_token"].(string)}); code != 401 {
		t.Fatalf("refresh on a after the erase on b: %d %v", code, m)
	}
}
