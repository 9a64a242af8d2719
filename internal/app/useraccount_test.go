package app_test

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// signInAs signs a back-office user in from a device: the user agent is
// what the sessions list shows.
func signInAs(t *testing.T, s *testServer, email, pw, userAgent string) map[string]any {
	t.Helper()
	r := akDo(t, s, "POST", "/backoffice/v1/users/authenticate", map[string]string{"User-Agent": userAgent},
		map[string]string{"username": email, "password": pw})
	if r.Status != 200 {
		t.Fatalf("sign in %s: %d %s", email, r.Status, r.Raw)
	}
	return r.Body
}

// sessionsOf lists the sessions path shows with bearer: id → session.
func sessionsOf(t *testing.T, s *testServer, path, bearer string) map[string]map[string]any {
	t.Helper()
	code, m, h := s.call(t, "GET", path, bearer, nil)
	if code != 200 || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET %s: %d %v", path, code, m)
	}
	out := map[string]map[string]any{}
	for _, x := range m["sessions"].([]any) {
		sess := x.(map[string]any)
		out[sess["id"].(string)] = sess
	}
	return out
}

// TestUserPasswordReset: a reset code goes to a known user's email only
// (the answer is the same otherwise); a refused password does not spend
// it; a contact's code cannot reset a user; the reset signs the user in
// and ends every other session (also one refreshing meanwhile); the code
// is single use.
func TestUserPasswordReset(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	n := e.network
	old := n.s.signIn(t, n.mia, userPassword)
	const path = "/backoffice/v1/users/password/reset"

	sent := len(e.gw.messages())
	code, unknown, h1 := n.s.call(t, "POST", path, "", map[string]string{"email": "ghost@m.example"})
	if code != 202 || unknown["otp_id"] == nil || unknown["expires_at"] == nil || len(e.gw.messages()) != sent {
		t.Fatalf("reset for an unknown email: %d %v (%d sent)", code, unknown, len(e.gw.messages())-sent)
	}
	code, known, h2 := n.s.call(t, "POST", path, "", map[string]string{"email": " MIA@m.example"})
	if code != 202 || len(known) != len(unknown) || h1.Get("Cache-Control") != "no-store" || h2.Get("Cache-Control") != "no-store" {
		t.Fatalf("reset: %d %v, unknown %v", code, known, unknown)
	}
	msgs := e.gw.messages()
	if len(msgs) != sent+1 || msgs[sent]["purpose"] != "user_password_reset" || msgs[sent]["to"] != n.mia {
		t.Fatalf("the reset message: %v", msgs[sent:])
	}
	oid := known["otp_id"].(string)
	reset := path + "/" + oid
	if code, m, _ := n.s.call(t, "POST", reset, "", map[string]string{"code": e.gw.codeFor(oid), "password": "password123"}); code != 422 || m["field"] != "password" {
		t.Fatalf("a refused password: %d %v", code, m)
	}
	if code, m, _ := n.s.call(t, "POST", reset, "", map[string]string{"code": "000000", "password": "new-long-password-1"}); code != 401 || m["code"] != "INVALID_OTP" {
		t.Fatalf("a wrong code: %d %v", code, m)
	}
	if code, m, _ := n.s.call(t, "POST", path+"/"+unknown["otp_id"].(string), "", map[string]string{"code": "123456", "password": "new-long-password-1"}); code != 401 {
		t.Fatalf("the unknown email's reset id: %d %v", code, m)
	}
	// A contact's reset code (a business's) cannot reset a user.
	e.register(t, e.live, map[string]any{"first_name": "Ann",
		"identity": map[string]string{"provider": "EMAIL", "email": "ann@example.com", "password": contactPassword}})
	code, cr, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/password/reset", e.live, map[string]string{"email": "ann@example.com"})
	if code != 202 {
		t.Fatalf("contact reset: %d %v", code, cr)
	}
	cid := cr["otp_id"].(string)
	if code, m, _ := n.s.call(t, "POST", path+"/"+cid, "", map[string]string{"code": e.gw.codeFor(cid), "password": "new-long-password-1"}); code != 401 || m["code"] != "OTP_EXPIRED" {
		t.Fatalf("a contact's code on the users' reset: %d %v", code, m)
	}

	// An access token of no session (a client that issues no refresh
	// token), issued a while ago.
	stray, err := n.s.App.Tokens.Issue(token.Claims{Subject: n.miaID, Kind: "user", ClientID: "backoffice", Org: n.merchM, Mode: "live",
		Audience: token.Audience{n.s.URL}, IssuedAt: time.Now().Add(-10 * time.Second).Unix(), ExpiresAt: time.Now().Add(10 * time.Minute).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if m := n.s.introspect(t, stray, ""); m["active"] != true {
		t.Fatalf("the token of no session before the reset: %v", m)
	}
	// A session refreshing meanwhile, on its own.
	stop := refreshing(old["refresh_token"].(string), func(rt string) (string, bool) {
		code, m := n.refresh(t, rt)
		if code != 200 {
			return "", false
		}
		return m["refresh_token"].(string), true
	})
	code, auth, _ := n.s.call(t, "POST", reset, "", map[string]string{"code": e.gw.codeFor(oid), "password": "new-long-password-1"})
	last := stop()
	if code != 200 || auth["user"].(map[string]any)["id"] != n.miaID || auth["access_token"] == nil || auth["refresh_token"] == nil {
		t.Fatalf("reset: %d %v", code, auth)
	}
	if code, m := n.refresh(t, last); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("the session refreshed during the reset still refreshes: %d %v", code, m)
	}
	for _, tok := range []string{old["access_token"].(string), stray} {
		if m := n.s.introspect(t, tok, ""); m["active"] != false {
			t.Fatalf("an old access token after the reset: %v", m)
		}
	}
	if code, _, _ := n.s.call(t, "GET", "/backoffice/v1/users/me/organisations", auth["access_token"].(string), nil); code != 200 {
		t.Fatalf("the reset's own token: %d", code)
	}
	if code, m, _ := n.s.call(t, "POST", reset, "", map[string]string{"code": e.gw.codeFor(oid), "password": "third-long-password"}); code != 401 || m["code"] != "OTP_EXPIRED" {
		t.Fatalf("the code again: %d %v", code, m)
	}
	signIn := func(pw string) int {
		code, _, _ := n.s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": n.mia, "password": pw})
		return code
	}
	if signIn(userPassword) != 401 || signIn("new-long-password-1") != 200 {
		t.Fatal("the password did not change")
	}
	if evs := auditOf(t, e, audit.PasswordReset, n.miaID); len(evs) != 1 || evs[0].OrganisationID != n.merchM || evs[0].ActorKind != store.KindUser {
		t.Fatalf("audit: %+v", evs)
	}

	// A disabled user gets the same answer and no code.
	if code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users/"+n.bobID+"/disable", n.adminToken, nil); code != 204 {
		t.Fatalf("disable bob: %d %v", code, m)
	}
	sent = len(e.gw.messages())
	if code, m, _ := n.s.call(t, "POST", path, "", map[string]string{"email": n.bob}); code != 202 || m["otp_id"] == nil || len(e.gw.messages()) != sent {
		t.Fatalf("reset of a disabled user: %d %v (%d sent)", code, m, len(e.gw.messages())-sent)
	}
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]string{}, "email"},
		{map[string]string{"email": "not an email"}, "email"},
		{map[string]string{"email": n.mia, "colour": "red"}, "colour"},
		{map[string]int{"email": 5}, "email"},
	} {
		if code, m, _ := n.s.call(t, "POST", path, "", tc.body); code != 422 || m["code"] != "VALIDATION_FAILED" || m["field"] != tc.field {
			t.Errorf("reset request %v: %d %v", tc.body, code, m)
		}
	}
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]string{"password": "new-long-password-2"}, "code"},
		{map[string]string{"code": "123456"}, "password"},
	} {
		if code, m, _ := n.s.call(t, "POST", reset, "", tc.body); code != 422 || m["field"] != tc.field {
			t.Errorf("reset %v: %d %v", tc.body, code, m)
		}
	}
}

// TestUserPasswordChange: the current password is checked; the other
// sessions end, this one stays; contacts' tokens are refused.
func TestUserPasswordChange(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	n := e.network
	other := n.s.signIn(t, n.alice, userPassword)
	me := n.s.signIn(t, n.alice, userPassword)
	tok := me["access_token"].(string)
	const path = "/backoffice/v1/users/me/password"
	for _, tc := range []struct {
		body   any
		status int
		field  string
	}{
		{map[string]string{"current_password": "wrong-password-here", "password": "new-long-password-1"}, 401, ""},
		{map[string]string{"current_password": userPassword, "password": "short"}, 422, "password"},
		{map[string]string{"current_password": userPassword, "password": "letmein1"}, 422, "password"},
		{map[string]string{"password": "new-long-password-1"}, 422, "current_password"},
		{map[string]string{"current_password": userPassword}, 422, "password"},
		{map[string]any{"current_password": userPassword, "password": "new-long-password-1", "email": "x@a.example"}, 422, "email"},
	} {
		code, m, _ := n.s.call(t, "PUT", path, tok, tc.body)
		if code != tc.status || (tc.field != "" && m["field"] != tc.field) || (tc.status == 401 && m["code"] != "INVALID_CREDENTIALS") {
			t.Errorf("%v: %d %v", tc.body, code, m)
		}
	}
	if code, m := n.refresh(t, other["refresh_token"].(string)); code != 200 {
		t.Fatalf("a refused change ended a session: %d %v", code, m)
	} else {
		other = m
	}
	ann := e.register(t, e.live, map[string]any{"first_name": "Ann",
		"identity": map[string]string{"provider": "EMAIL", "email": "ann@example.com", "password": contactPassword}})
	if code, m, _ := n.s.call(t, "PUT", path, ann["access_token"].(string), map[string]string{"current_password": contactPassword, "password": "new-long-password-1"}); code != 403 || m["code"] != "FORBIDDEN" {
		t.Fatalf("a contact's token: %d %v", code, m)
	}
	if code, m, _ := n.s.call(t, "PUT", path, tok, map[string]string{"current_password": userPassword, "password": "new-long-password-1"}); code != 204 {
		t.Fatalf("change: %d %v", code, m)
	}
	if code, m := n.refresh(t, other["refresh_token"].(string)); code != 400 {
		t.Fatalf("the other session still refreshes: %d %v", code, m)
	}
	if m := n.s.introspect(t, other["access_token"].(string), ""); m["active"] != false {
		t.Fatalf("the other session's access token: %v", m)
	}
	if code, m := n.refresh(t, me["refresh_token"].(string)); code != 200 {
		t.Fatalf("this session: %d %v", code, m)
	}
	if code, _, _ := n.s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": n.alice, "password": userPassword}); code != 401 {
		t.Fatal("the old password still signs in")
	}
	n.s.signIn(t, n.alice, "new-long-password-1")
	if evs := auditOf(t, e, audit.PasswordChanged, n.aliceID); len(evs) != 1 {
		t.Fatalf("audit: %+v", evs)
	}
}

// TestUserSessions: a user sees their sign-ins (client, times, address,
// user agent, which one is this), ends one or all others; an admin does
// the same for a user they manage, and nobody else can.
func TestUserSessions(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	phone := signInAs(t, n.s, n.mia, userPassword, "AuthdTest/phone")
	laptop := signInAs(t, n.s, n.mia, userPassword, "AuthdTest/laptop")
	tablet := signInAs(t, n.s, n.mia, userPassword, "AuthdTest/tablet")
	tok := laptop["access_token"].(string)
	sids := map[string]string{}
	sid := func(auth map[string]any) string {
		tok := auth["access_token"].(string)
		if sids[tok] == "" {
			sids[tok] = claimsOf(t, n.s, tok).Family
		}
		return sids[tok]
	}
	sid(phone)
	sid(tablet)

	got := sessionsOf(t, n.s, "/backoffice/v1/users/me/sessions", tok)
	if len(got) != 3 {
		t.Fatalf("sessions: %v", got)
	}
	for auth, ua := range map[*map[string]any]string{&phone: "AuthdTest/phone", &laptop: "AuthdTest/laptop", &tablet: "AuthdTest/tablet"} {
		s := got[sid(*auth)]
		if s == nil || s["user_agent"] != ua || s["ip"] != "127.0.0.1" || s["client_id"] != "backoffice" || s["organisation_id"] != n.merchM ||
			s["mode"] != "live" || s["created_at"] == nil || s["last_used_at"] == nil || s["expires_at"] == nil || s["current"] != (ua == "AuthdTest/laptop") {
			t.Errorf("session of %s: %v", ua, s)
		}
	}
	// Someone else's session id, and an unknown one, are not found.
	bob := n.s.signIn(t, n.bob, userPassword)
	sid(bob)
	for _, id := range []string{sid(bob), "no-such-session"} {
		if code, m, _ := n.s.call(t, "DELETE", "/backoffice/v1/users/me/sessions/"+id, tok, nil); code != 404 || m["code"] != "NOT_FOUND" {
			t.Fatalf("end session %s: %d %v", id, code, m)
		}
	}
	code, bobNow := n.refresh(t, bob["refresh_token"].(string))
	if code != 200 {
		t.Fatalf("bob's session after mia tried to end it: %d %v", code, bobNow)
	}
	// End the phone's.
	if code, m, _ := n.s.call(t, "DELETE", "/backoffice/v1/users/me/sessions/"+sid(phone), tok, nil); code != 204 {
		t.Fatalf("end the phone's session: %d %v", code, m)
	}
	if code, m := n.refresh(t, phone["refresh_token"].(string)); code != 400 {
		t.Fatalf("the ended session refreshes: %d %v", code, m)
	}
	if m := n.s.introspect(t, phone["access_token"].(string), ""); m["active"] != false {
		t.Fatalf("the ended session's access token: %v", m)
	}
	if code, m, _ := n.s.call(t, "DELETE", "/backoffice/v1/users/me/sessions/"+sid(phone), tok, nil); code != 404 {
		t.Fatalf("end it again: %d %v", code, m)
	}
	if got := sessionsOf(t, n.s, "/backoffice/v1/users/me/sessions", tok); len(got) != 2 || got[sid(phone)] != nil {
		t.Fatalf("after ending the phone's: %v", got)
	}
	// Sign out everywhere else: the tablet's ends, this one stays.
	if code, m, _ := n.s.call(t, "DELETE", "/backoffice/v1/users/me/sessions", tok, nil); code != 204 {
		t.Fatalf("end the others: %d %v", code, m)
	}
	if code, m := n.refresh(t, tablet["refresh_token"].(string)); code != 400 {
		t.Fatalf("the tablet still refreshes: %d %v", code, m)
	}
	code, again := n.refresh(t, laptop["refresh_token"].(string))
	if code != 200 {
		t.Fatalf("this session: %d %v", code, again)
	}
	tok = again["access_token"].(string)
	if got := sessionsOf(t, n.s, "/backoffice/v1/users/me/sessions", tok); len(got) != 1 || got[sid(laptop)]["current"] != true {
		t.Fatalf("after signing out elsewhere: %v", got)
	}

	// Admins of the users' organisations, and nobody else.
	alice := n.s.signIn(t, n.alice, userPassword)["access_token"].(string)
	mia := tok
	code, sw, _ := n.s.call(t, "POST", "/backoffice/v1/organisations/"+n.merchM+"/switch", alice, nil)
	if code != 200 {
		t.Fatalf("switch: %d %v", code, sw)
	}
	code, ann, _ := n.s.call(t, "POST", "/backoffice/v1/users", alice, map[string]any{"email": "ann@a.example", "password": userPassword,
		"memberships": []map[string]string{{"organisation_id": n.bizA, "role": "member"}}})
	if code != 201 {
		t.Fatalf("create ann: %d %v", code, ann)
	}
	annID := ann["id"].(string)
	for _, tc := range []struct {
		name, tok, method, path string
	}{
		{"a member reads her admin's sessions", mia, "GET", "/backoffice/v1/users/" + n.aliceID + "/sessions"},
		{"a member ends her admin's sessions", mia, "DELETE", "/backoffice/v1/users/" + n.aliceID + "/sessions"},
		{"an admin reads another business's owner", alice, "GET", "/backoffice/v1/users/" + n.bobID + "/sessions"},
		{"an admin ends another business's owner's session", alice, "DELETE", "/backoffice/v1/users/" + n.bobID + "/sessions/" + sid(bob)},
		{"an admin reads the service owner's admin", alice, "GET", "/backoffice/v1/users/" + n.s.Boot.Admin.ID + "/sessions"},
		{"an unknown user", alice, "GET", "/backoffice/v1/users/no-such-user/sessions"},
		{"a token switched below the admin's business acts upwards", sw["access_token"].(string), "GET", "/backoffice/v1/users/" + annID + "/sessions"},
		{"a token switched below the admin's business ends upwards", sw["access_token"].(string), "DELETE", "/backoffice/v1/users/" + annID + "/sessions"},
	} {
		if code, m, _ := n.s.call(t, tc.method, tc.path, tc.tok, nil); code != 403 || m["code"] != "FORBIDDEN" {
			t.Errorf("%s: %d %v", tc.name, code, m)
		}
	}
	if code, m := n.refresh(t, bobNow["refresh_token"].(string)); code != 200 {
		t.Fatalf("bob's session after alice tried to end it: %d %v", code, m)
	}
	if got := sessionsOf(t, n.s, "/backoffice/v1/users/"+annID+"/sessions", alice); len(got) != 0 {
		t.Fatalf("ann's sessions before she signed in: %v", got)
	}
	if got := sessionsOf(t, n.s, "/backoffice/v1/users/"+n.miaID+"/sessions", alice); len(got) != 1 || got[sid(laptop)] == nil || got[sid(laptop)]["current"] != false {
		t.Fatalf("alice's view of mia's sessions: %v", got)
	}
	if code, m, _ := n.s.call(t, "DELETE", "/backoffice/v1/users/"+n.miaID+"/sessions", alice, nil); code != 204 {
		t.Fatalf("alice signs mia out: %d %v", code, m)
	}
	if m := n.s.introspect(t, mia, ""); m["active"] != false {
		t.Fatalf("mia's token after her admin signed her out: %v", m)
	}
	if evs := auditOfNetwork(t, n, audit.SessionsEnded, n.miaID); len(evs) != 3 {
		t.Fatalf("audit of ended sessions: %+v", evs)
	}
	// No token, no sessions; a secret API key is no user.
	if code, _, _ := n.s.call(t, "GET", "/backoffice/v1/users/me/sessions", "", nil); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	for _, path := range []string{"/backoffice/v1/users/me/sessions", "/backoffice/v1/users/" + n.miaID + "/sessions"} {
		if r := akDo(t, n.s, "GET", path, map[string]string{"api_key": n.s.Boot.APIKeys["live"].Secret}, nil); r.Status != 401 {
			t.Fatalf("%s with a secret key: %d %s", path, r.Status, r.Raw)
		}
	}
}

// auditOfNetwork lists the events of action whose target is id.
func auditOfNetwork(t *testing.T, n *network, action, id string) []store.AuditEvent {
	t.Helper()
	return auditOf(t, &selfServiceEnv{network: n}, action, id)
}

// TestUserSessionEndedAcrossReplicas: a session ended on one replica is
// refused on the other within the revocation bound.
func TestUserSessionEndedAcrossReplicas(t *testing.T) {
	pg := os.Getenv("AUTHD_TEST_POSTGRES_DSN")
	if pg == "" {
		t.Skip("needs AUTHD_TEST_POSTGRES_DSN (two replicas on one database)")
	}
	base := lenient(testConfig(t))
	base.Database.DSN = akPostgresSchema(t, pg)
	a := akReplica(t, base, true)
	b := akReplica(t, base, false)
	b.Boot = a.Boot
	first := a.signIn(t, a.Boot.Admin.Email, a.Boot.Admin.Password)
	second := b.signIn(t, a.Boot.Admin.Email, a.Boot.Admin.Password)
	bearer := map[string]string{"Authorization": "Bearer " + first["access_token"].(string)}
	if code, _ := forwardAuth(t, a, bearer); code != 200 {
		t.Fatalf("before: %d", code)
	}
	id := claimsOf(t, a, first["access_token"].(string)).Family
	if code, m, _ := b.call(t, "DELETE", "/backoffice/v1/users/me/sessions/"+id, second["access_token"].(string), nil); code != 204 {
		t.Fatalf("end the first session on b: %d %v", code, m)
	}
	refusedWithin(t, revocationBound, "ended session", bearer, a, b)
}

// refreshing keeps a session refreshing on its own, from refresh token
// first, until stop is called or a refresh fails; stop returns the
// session's latest refresh token.
func refreshing(first string, refresh func(rt string) (next string, ok bool)) (stop func() string) {
	var wg sync.WaitGroup
	done := make(chan struct{})
	last := first
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			next, ok := refresh(last)
			if !ok {
				return
			}
			last = next
		}
	}()
	return func() string {
		close(done)
		wg.Wait()
		return last
	}
}
