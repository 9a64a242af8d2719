package app_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/upstream/facebook"
	"github.com/authd/authd/internal/upstream/facebook/facebooktest"
)

const (
	fbAppID     = "1234567890"
	fbAppSecret = "fb-app-secret-for-tests"
)

type fbEnv struct {
	*selfServiceEnv
	graph *facebooktest.Server
	ll    *facebooktest.LimitedLogin
}

func newFacebook(t *testing.T, mutate func(*config.Config)) *fbEnv {
	graph := facebooktest.NewServer(t, fbAppID, fbAppSecret)
	ll := facebooktest.NewLimitedLogin(t)
	e := newSelfService(t, func(c *config.Config) {
		c.Facebook.AppID, c.Facebook.AppSecret = fbAppID, fbAppSecret
		c.Facebook.GraphURL = graph.URL()
		c.Facebook.LimitedLoginJWKSURL, c.Facebook.LimitedLoginIssuer = ll.JWKSURL(), ll.Issuer()
		c.Facebook.Timeout = time.Second
		if mutate != nil {
			mutate(c)
		}
	})
	return &fbEnv{selfServiceEnv: e, graph: graph, ll: ll}
}

func (e *fbEnv) fbSignIn(t *testing.T, key, tok string) (int, map[string]any) {
	t.Helper()
	code, m, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/authenticate", key, map[string]string{"provider": "FACEBOOK", "token": tok})
	return code, m
}

func TestFacebookSignIn(t *testing.T) {
	t.Parallel()
	e := newFacebook(t, nil)
	e.graph.AddUser("EAAgood", facebook.Profile{ID: "fb-1", FirstName: "Fay", LastName: "Book", Email: "fay@example.com"})
	e.graph.AddUser("EAAother", facebook.Profile{ID: "fb-2"}, facebooktest.OtherApp("999"))
	e.graph.AddUser("EAAexpired", facebook.Profile{ID: "fb-3"}, facebooktest.Expired())
	e.graph.AddUser("EAArevoked", facebook.Profile{ID: "fb-4"}, facebooktest.Revoked())
	e.graph.AddUser("EAApage", facebook.Profile{ID: "fb-5"}, facebooktest.PageToken())

	// First sign-in registers a contact from the profile.
	code, first := e.fbSignIn(t, e.live, "EAAgood")
	if code != 200 || first["access_token"] == nil {
		t.Fatalf("first sign-in: %d %v", code, first)
	}
	c1 := first["contact"].(map[string]any)
	if c1["first_name"] != "Fay" || c1["email"] != "fay@example.com" {
		t.Fatalf("registered contact %v", c1)
	}
	// Second sign-in maps to the same contact.
	code, second := e.fbSignIn(t, e.live, "EAAgood")
	if code != 200 || second["contact"].(map[string]any)["id"] != c1["id"] {
		t.Fatalf("second sign-in: %d %v", code, second)
	}
	// A test-mode key gets its own contact (modes never mix).
	code, testMode := e.fbSignIn(t, e.test, "EAAgood")
	if code != 200 || testMode["contact"].(map[string]any)["id"] == c1["id"] || testMode["mode"] != "test" {
		t.Fatalf("test mode: %d %v", code, testMode)
	}
	for _, bad := range []string{"EAAother", "EAAexpired", "EAArevoked", "EAApage", "garbage", "eyJhbGciOiJub25lIn0.e30.x"} {
		if code, m := e.fbSignIn(t, e.live, bad); code != 401 || m["code"] != "INVALID_FACEBOOK_TOKEN" {
			t.Fatalf("%s: %d %v", bad, code, m)
		}
	}

	// The same through RFC 8693 token exchange (the self-service client is
	// bound to the business, live).
	resp, tok := e.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"client_id": {"selfservice"}, "subject_issuer": {"facebook"}, "subject_token": {"EAAgood"},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}, "", "")
	if resp.StatusCode != 200 || tok["refresh_token"] == nil {
		t.Fatalf("exchange: %d %v", resp.StatusCode, tok)
	}
	if c := claimsOf(t, e.s, tok["access_token"].(string)); c.Subject != c1["id"] || c.Kind != "contact" {
		t.Fatalf("exchange claims %+v", c)
	}
	resp, bad := e.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"client_id": {"selfservice"}, "subject_issuer": {"facebook"}, "subject_token": {"EAAexpired"},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}, "", "")
	if resp.StatusCode != 400 || bad["error"] != "invalid_grant" {
		t.Fatalf("exchange of an expired token: %d %v", resp.StatusCode, bad)
	}

	// Graph answers are cached by token hash: a retrying app does not
	// multiply Graph calls.
	calls := e.graph.Calls("/debug_token")
	e.fbSignIn(t, e.live, "EAAgood")
	if e.graph.Calls("/debug_token") != calls {
		t.Fatalf("Graph asked again: %d -> %d", calls, e.graph.Calls("/debug_token"))
	}
}

func TestFacebookLimitedLogin(t *testing.T) {
	t.Parallel()
	e := newFacebook(t, nil)
	p := facebook.Profile{ID: "ll-1", FirstName: "Lim", LastName: "Ited", Email: "lim@example.com"}
	claims := e.ll.Claims(fbAppID, p, time.Now())
	claims["nonce"] = "n-123"
	idt := e.ll.Sign(claims)
	exchange := func(tok, nonce string) (int, map[string]any) {
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {"selfservice"},
			"subject_issuer": {"facebook"}, "subject_token": {tok}, "subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"}}
		if nonce != "" {
			form.Set("nonce", nonce)
		}
		resp, m := e.s.postForm(t, "/oauth2/token", form, "", "")
		return resp.StatusCode, m
	}
	if code, m := exchange(idt, "n-123"); code != 200 {
		t.Fatalf("limited login: %d %v", code, m)
	}
	if code, m := exchange(idt, "other-nonce"); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("wrong nonce: %d %v", code, m)
	}
	wrongAud := e.ll.Claims("999", p, time.Now())
	if code, _ := exchange(e.ll.Sign(wrongAud), ""); code != 400 {
		t.Fatalf("other app's id token: %d", code)
	}
	if code, _ := exchange(e.ll.SignNone(claims), ""); code != 400 {
		t.Fatalf("alg none: %d", code)
	}
	// The self-service endpoint recognises an id token by its shape.
	code, m := e.fbSignIn(t, e.live, idt)
	if code != 200 || m["contact"].(map[string]any)["first_name"] != "Lim" {
		t.Fatalf("limited login via authenticate: %d %v", code, m)
	}
}

// TestFacebookNoMergeAndLinking: a Facebook email never merges into an
// existing contact; the contact links Facebook with its own token.
func TestFacebookNoMergeAndLinking(t *testing.T) {
	t.Parallel()
	e := newFacebook(t, nil)
	// An existing contact with an email and a password.
	body := map[string]any{"first_name": "Vic", "identity": map[string]string{"provider": "EMAIL", "email": "vic@example.com", "password": "vic-long-password"}}
	vic := e.register(t, e.live, body)
	vicID := vic["contact"].(map[string]any)["id"]
	// An attacker's Facebook account claims the same email.
	e.graph.AddUser("EAAattacker", facebook.Profile{ID: "fb-evil", FirstName: "Not", Email: "vic@example.com"})
	code, att := e.fbSignIn(t, e.live, "EAAattacker")
	if code != 200 || att["contact"].(map[string]any)["id"] == vicID {
		t.Fatalf("Facebook email merged into an existing contact: %d %v", code, att)
	}
	// Vic links her own Facebook account with her token.
	e.graph.AddUser("EAAvic", facebook.Profile{ID: "fb-vic", FirstName: "Vic"})
	at := vic["access_token"].(string)
	if code, m, _ := e.s.call(t, "POST", "/self-service/v1/contacts/me/identities", at, map[string]string{"provider": "FACEBOOK", "token": "EAAvic"}); code != 201 || m["subject"] != "fb-vic" {
		t.Fatalf("link: %d %v", code, m)
	}
	if code, m := e.fbSignIn(t, e.live, "EAAvic"); code != 200 || m["contact"].(map[string]any)["id"] != vicID {
		t.Fatalf("sign-in after link: %d %v", code, m)
	}
	// A Facebook account already signing another contact in cannot be linked.
	if code, m, _ := e.s.call(t, "POST", "/self-service/v1/contacts/me/identities", at, map[string]string{"provider": "FACEBOOK", "token": "EAAattacker"}); code != 409 {
		t.Fatalf("link of a taken account: %d %v", code, m)
	}
}

func TestFacebookDownAndNoAutoRegister(t *testing.T) {
	e := newFacebook(t, func(c *config.Config) { c.Facebook.AutoRegister = false })
	e.graph.AddUser("EAAnew", facebook.Profile{ID: "fb-new", FirstName: "New"})
	if code, m := e.fbSignIn(t, e.live, "EAAnew"); code != 404 || m["code"] != "CONTACT_NOT_FOUND" {
		t.Fatalf("no auto-registration: %d %v", code, m)
	}
	e.graph.AddUser("EAAdown", facebook.Profile{ID: "fb-down", FirstName: "Down"})
	e.graph.SetMode(facebooktest.Down)
	code, m := e.fbSignIn(t, e.live, "EAAdown")
	if code != 503 || m["code"] != "FACEBOOK_UNAVAILABLE" {
		t.Fatalf("graph down: %d %v", code, m)
	}
	e.graph.SetMode(facebooktest.Hang)
	start := time.Now()
	if code, _ := e.fbSignIn(t, e.live, "EAAdown"); code != 503 || time.Since(start) > 3*time.Second {
		t.Fatalf("graph hanging: %d after %s", code, time.Since(start))
	}
	// Nothing was written while Facebook was down: with it back (and
	// auto-registration off) the account is still unknown.
	e.graph.SetMode(facebooktest.Up)
	if code, m := e.fbSignIn(t, e.live, "EAAdown"); code != 404 {
		t.Fatalf("after outage: %d %v", code, m)
	}
}
