package app_test

import (
	"net/url"
	"testing"

	"github.com/authd/authd/internal/upstream/facebook"
)

// Look-alike spellings of an email: each displays like the plain address.
const (
	zeroWidth  = "\u200b"
	softHyphen = "\u00ad"
	cyrillicE  = "\u0435" // Cyrillic small ie, drawn like Latin e
)

// TestLookalikeUserEmails: a back-office user's email has one normal form
// (NFKC, lower case). The fullwidth spelling of a user's email is that
// user: creating it again is a conflict, signing in with it (CRM sign-in
// or the password grant) signs that user in. Spellings that only display
// like it (a zero-width space, a soft hyphen, a Cyrillic letter) are
// refused as invalid input; none becomes a second account.
func TestLookalikeUserEmails(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	newUser := func(email, first string) (int, map[string]any) {
		t.Helper()
		code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users", n.adminToken, map[string]any{
			"email": email, "password": userPassword, "first_name": first, "last_name": "Test",
			"memberships": []map[string]string{{"organisation_id": n.bizA, "role": "member"}}})
		return code, m
	}
	code, zed := newUser("zed@a.example", "Zed")
	if code != 201 {
		t.Fatalf("create zed: %d %v", code, zed)
	}
	if code, m := newUser("ｚｅｄ@ａ.ｅｘａｍｐｌｅ", "Zed"); code != 409 || m["code"] != "CONFLICT" {
		t.Fatalf("the fullwidth spelling of zed's email: %d %v, want 409 CONFLICT", code, m)
	}
	for _, email := range []string{"z" + zeroWidth + "ed@a.example", "ze" + softHyphen + "d@a.example", "z" + cyrillicE + "d@a.example", "zed@a." + cyrillicE + "xample"} {
		if code, m := newUser(email, "Zed"); code != 422 || m["code"] != "VALIDATION_FAILED" || m["field"] != "email" {
			t.Errorf("create %q: %d %v, want 422 on email", email, code, m)
		}
	}
	if code, m := newUser("zoe@a.example", "Zo"+zeroWidth+"e"); code != 422 || m["field"] != "first_name" {
		t.Errorf("an invisible character in a first name: %d %v, want 422 on first_name", code, m)
	}

	signIn := func(username string) (int, map[string]any) {
		t.Helper()
		code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": username, "password": userPassword})
		return code, m
	}
	for _, username := range []string{"ｚｅｄ@ａ.ｅｘａｍｐｌｅ", "ZED@A.EXAMPLE"} {
		if code, m := signIn(username); code != 200 || m["user"].(map[string]any)["id"] != zed["id"] {
			t.Errorf("sign in as %q: %d %v, want zed", username, code, m)
		}
	}
	for _, username := range []string{"z" + zeroWidth + "ed@a.example", "z" + cyrillicE + "d@a.example"} {
		if code, m := signIn(username); code != 422 || m["field"] != "username" {
			t.Errorf("sign in as %q: %d %v, want 422 on username", username, code, m)
		}
	}
	// The bootstrap admin, by the fullwidth spelling of their email.
	admin := []rune(n.s.Boot.Admin.Email)
	for i, r := range admin {
		if r >= 'a' && r <= 'z' {
			admin[i] = r - 'a' + 'ａ'
		}
	}
	code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": string(admin), "password": n.s.Boot.Admin.Password})
	if code != 200 || m["user"].(map[string]any)["id"] != n.s.Boot.Admin.ID {
		t.Fatalf("the admin by %q: %d %v", string(admin), code, m)
	}

	// The password grant alike.
	resp, tok := n.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"backoffice"},
		"username": {"ｚｅｄ@ａ.ｅｘａｍｐｌｅ"}, "password": {userPassword}}, "", "")
	if resp.StatusCode != 200 || claimsOf(t, n.s, tok["access_token"].(string)).Subject != zed["id"] {
		t.Fatalf("password grant, fullwidth username: %d %v", resp.StatusCode, tok)
	}
	resp, tok = n.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"backoffice"},
		"username": {"z" + softHyphen + "ed@a.example"}, "password": {userPassword}}, "", "")
	if resp.StatusCode != 400 || tok["error"] != "invalid_request" {
		t.Fatalf("password grant, soft hyphen in the username: %d %v, want 400 invalid_request", resp.StatusCode, tok)
	}

	// Business A has two members, alice and zed: no look-alike became an
	// account.
	code, users, _ := n.s.call(t, "GET", "/backoffice/v1/users?organisation_id="+n.bizA, n.adminToken, nil)
	if code != 200 || len(users["users"].([]any)) != 2 {
		t.Fatalf("members of A: %d %v, want alice and zed only", code, users)
	}
}

// TestLookalikeContactEmails: contacts' emails are normalised like users'
// wherever one comes in (registration, password sign-in, a one-time code
// by email, the back office, adding credentials, the password grant), so
// the fullwidth spelling reaches the same contact and look-alikes are
// refused; names and codes refuse invisible characters.
func TestLookalikeContactEmails(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	reg := "/self-service/v1/contacts/register"
	register := func(email string) (int, map[string]any) {
		t.Helper()
		code, m, _ := e.keyCall(t, "POST", reg, e.live, map[string]any{"first_name": "Ann",
			"identity": map[string]string{"provider": "EMAIL", "email": email, "password": "a-long-secret-phrase"}})
		return code, m
	}
	ann := e.register(t, e.live, map[string]any{"first_name": "Ann",
		"identity": map[string]string{"provider": "EMAIL", "email": "ann@example.com", "password": "a-long-secret-phrase"}})
	annID := ann["contact"].(map[string]any)["id"]
	// The fullwidth spelling is the same address: the code goes to it as
	// "you already have an account".
	if code, m := register("ａｎｎ@ｅｘａｍｐｌｅ.ｃｏｍ"); code != 201 {
		t.Fatalf("register the fullwidth spelling: %d %v", code, m)
	}
	if m := e.gw.messages(); m[len(m)-1]["to"] != "ann@example.com" || m[len(m)-1]["purpose"] != "register_existing" {
		t.Fatalf("the fullwidth registration's message: %v", m[len(m)-1])
	}
	for _, email := range []string{"a" + softHyphen + "nn@example.com", "ann@" + cyrillicE + "xample.com", "an" + zeroWidth + "n@example.com"} {
		if code, m := register(email); code != 422 || m["field"] != "identity.email" {
			t.Errorf("register %q: %d %v, want 422 on identity.email", email, code, m)
		}
	}
	if code, m, _ := e.keyCall(t, "POST", reg, e.live, map[string]any{"first_name": "An" + softHyphen + "n",
		"identity": map[string]string{"provider": "EMAIL", "email": "ann2@example.com"}}); code != 422 || m["field"] != "first_name" {
		t.Errorf("register with a soft hyphen in the first name: %d %v", code, m)
	}

	authenticate := func(email string) (int, map[string]any) {
		t.Helper()
		code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/authenticate", e.live,
			map[string]string{"provider": "EMAIL", "email": email, "password": "a-long-secret-phrase"})
		return code, m
	}
	if code, m := authenticate("ＡＮＮ@example.com"); code != 200 || m["contact"].(map[string]any)["id"] != annID {
		t.Fatalf("sign in by the fullwidth spelling: %d %v", code, m)
	}
	if code, m := authenticate("a" + zeroWidth + "nn@example.com"); code != 422 || m["field"] != "email" {
		t.Fatalf("sign in with a zero-width space: %d %v, want 422 on email", code, m)
	}
	resp, tok := e.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"selfservice"},
		"username": {"ａｎｎ@example.com"}, "password": {"a-long-secret-phrase"}}, "", "")
	if resp.StatusCode != 200 || claimsOf(t, e.s, tok["access_token"].(string)).Subject != annID {
		t.Fatalf("password grant for the contact, fullwidth username: %d %v", resp.StatusCode, tok)
	}

	// A one-time code asked for by the fullwidth spelling goes to ann.
	sent := len(e.gw.messages())
	code, o, _ := e.keyCall(t, "POST", "/self-service/v1/otps", e.live, map[string]string{"channel": "EMAIL", "email": "ａｎｎ@example.com"})
	if code != 201 {
		t.Fatalf("otp by the fullwidth spelling: %d %v", code, o)
	}
	if msgs := e.gw.messages(); len(msgs) != sent+1 || msgs[sent]["to"] != "ann@example.com" {
		t.Fatalf("code sent to %v, want ann@example.com", msgs[sent:])
	}
	id := o["otp_id"].(string)
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+id+"/validate", e.live, map[string]string{"code": e.gw.codeFor(id)}); code != 200 || m["contact"].(map[string]any)["id"] != annID {
		t.Fatalf("validate: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/otps", e.live, map[string]string{"channel": "EMAIL", "email": "a" + cyrillicE + "nn@example.com"}); code != 422 || m["field"] != "email" {
		t.Fatalf("otp for a mixed-script email: %d %v, want 422 on email", code, m)
	}

	// The back office: the stored email is the normal form; look-alikes,
	// and invisible characters in names and codes, are refused.
	bo := func(body map[string]any) (int, map[string]any) {
		t.Helper()
		code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.liveSK, body)
		return code, m
	}
	code, bea := bo(map[string]any{"id": "bea-1", "first_name": "Bea", "email": "ＢＥＡ@example.com"})
	if code != 201 || bea["email"] != "bea@example.com" {
		t.Fatalf("back-office contact, fullwidth email: %d %v", code, bea)
	}
	for _, tc := range []struct {
		field string
		body  map[string]any
	}{
		{"email", map[string]any{"email": "b" + cyrillicE + "a@example.com"}},
		{"email", map[string]any{"email": "be" + zeroWidth + "a@example.com"}},
		{"code", map[string]any{"code": "CRM" + zeroWidth + "-9"}},
		{"first_name", map[string]any{"first_name": "Be" + softHyphen + "a"}},
		{"last_name", map[string]any{"last_name": "\u202eNg"}},
	} {
		if code, m := bo(tc.body); code != 422 || m["field"] != tc.field {
			t.Errorf("back-office contact %v: %d %v, want 422 on %s", tc.body, code, m, tc.field)
		}
	}

	// Adding credentials matches the normal form too.
	sent = len(e.gw.messages())
	code, acc, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/credentials", e.live, map[string]any{
		"match":    map[string]string{"email": "ｂｅａ@example.com"},
		"identity": map[string]string{"provider": "EMAIL", "email": "Bea@Example.com", "password": "bea-long-password"}})
	if code != 202 {
		t.Fatalf("credentials by the fullwidth spelling: %d %v", code, acc)
	}
	if msgs := e.gw.messages(); len(msgs) != sent+1 || msgs[sent]["to"] != "bea@example.com" || msgs[sent]["purpose"] != "add_credentials" {
		t.Fatalf("credentials code: %v", msgs[sent:])
	}
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/credentials", e.live, map[string]any{
		"match":    map[string]string{"email": "be" + softHyphen + "a@example.com"},
		"identity": map[string]string{"provider": "EMAIL", "email": "bea@example.com"}}); code != 422 || m["field"] != "match.email" {
		t.Fatalf("credentials matched by a look-alike: %d %v, want 422 on match.email", code, m)
	}
	id = acc["otp_id"].(string)
	if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+id+"/validate", e.live, map[string]string{"code": e.gw.codeFor(id)}); code != 200 || m["contact"].(map[string]any)["id"] != "bea-1" {
		t.Fatalf("validate credentials: %d %v", code, m)
	}
}

// TestContactIDsAreSafePathSegments: a back-office contact's chosen id is
// 1 to 36 ASCII letters, digits, '-' or '_'. "." and ".." (which a
// URL-normalising proxy rewrites, so the contact could never be addressed)
// and any other dotted id answer 422 with field id and create nothing.
func TestContactIDsAreSafePathSegments(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	for _, id := range []string{".", "..", "a.b", "ext.123", "x/y", "thirty-seven-characters-long-id-xxxxx"} {
		code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.liveSK, map[string]any{"id": id, "first_name": "Dot"})
		if code != 422 || m["code"] != "VALIDATION_FAILED" || m["field"] != "id" {
			t.Fatalf("id %q: %d %v, want 422 on field id", id, code, m)
		}
	}
	if code, m, _ := e.keyCall(t, "GET", "/backoffice/v1/contacts/a.b", e.liveSK, nil); code != 404 {
		t.Fatalf("a refused id was stored: %d %v", code, m)
	}
	code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.liveSK, map[string]any{"id": "Ext_1-a", "first_name": "Ok"})
	if code != 201 || m["id"] != "Ext_1-a" {
		t.Fatalf("a valid id: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "GET", "/backoffice/v1/contacts/Ext_1-a", e.liveSK, nil); code != 200 || m["first_name"] != "Ok" {
		t.Fatalf("get the valid id: %d %v", code, m)
	}
}

// TestFacebookNamesLoseInvisibleCharacters: names from a Facebook profile
// are not typed into authd, so an invisible character in them is dropped
// rather than refusing the sign-in; a look-alike email on the profile is
// not stored (the contact registers without it).
func TestFacebookNamesLoseInvisibleCharacters(t *testing.T) {
	t.Parallel()
	e := newFacebook(t, nil)
	e.graph.AddUser("EAAzw", facebook.Profile{ID: "fb-zw", FirstName: "Fa" + zeroWidth + "y", LastName: "Bo" + softHyphen + "ok", Email: "fay@example.com"})
	e.graph.AddUser("EAAcyr", facebook.Profile{ID: "fb-cyr", FirstName: "Cy", Email: "c" + cyrillicE + "cil@example.com"})
	code, m := e.fbSignIn(t, e.live, "EAAzw")
	if code != 200 {
		t.Fatalf("sign-in: %d %v", code, m)
	}
	if c := m["contact"].(map[string]any); c["first_name"] != "Fay" || c["last_name"] != "Book" || c["email"] != "fay@example.com" {
		t.Fatalf("registered contact %v", c)
	}
	code, m = e.fbSignIn(t, e.live, "EAAcyr")
	if code != 200 {
		t.Fatalf("sign-in: %d %v", code, m)
	}
	if c := m["contact"].(map[string]any); c["first_name"] != "Cy" || c["email"] != nil {
		t.Fatalf("registered contact %v, want no email", c)
	}
}
