package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/token"
)

// The fuzz targets below run the wired app in every fuzzing process, and
// each bootstrap draws its own secrets, keys and tokens. So inputs name the
// real credentials by placeholders ({secret}, {basic}, {user}, {sk_live}…)
// that each process replaces with its own; the oracles judge the request
// after the replacement.

// fuzzConfig is testConfig with limits that let a fuzzer through: the rate
// limits would otherwise answer 429 to nearly every input, and the
// password hash cost would dominate each execution.
func fuzzConfig(tb testing.TB) *config.Config {
	cfg := testConfig(tb)
	cfg.RateLimits.PasswordPerIPPerMinute = 1 << 30
	cfg.RateLimits.PasswordPerAccountPerHour = 1 << 30
	cfg.Passwords.MemoryKiB = 8 * 1024
	cfg.Passwords.Iterations = 1
	return cfg
}

// validHeaderValue reports whether net/http's server would pass v on to
// the handler (no control characters but HTAB), and the value it passes
// (without leading and trailing spaces and tabs).
func validHeaderValue(v string) (string, bool) {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return "", false
		}
	}
	return strings.Trim(v, " \t"), true
}

// rfc6749Error is the syntax of an error code (RFC 6749 §5.2, NQSCHAR).
var rfc6749Error = regexp.MustCompile(`^[\x20-\x21\x23-\x5B\x5D-\x7E]+$`)

// FuzzTokenEndpoint posts arbitrary bodies, Content-Types and
// Authorization headers to /oauth2/token. The answer is never a 5xx;
// anything but 200 is a JSON object with an RFC 6749 error; and a 200
// only answers grant_type=client_credentials from the introspection client
// with its real secret (in Basic or in the form), the one credential the
// inputs can name.
func FuzzTokenEndpoint(f *testing.F) {
	ts := newTestServer(f, fuzzConfig(f))
	h := ts.App.Public
	id, secret := ts.Boot.Clients.Introspection.ClientID, ts.Boot.Clients.Introspection.ClientSecret
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	fill := strings.NewReplacer("{secret}", secret, "{basic}", basic, "{admin}", ts.Boot.Admin.Email).Replace

	const form = "application/x-www-form-urlencoded"
	for _, s := range [][3]string{
		{form, "grant_type=client_credentials&scope=tokens%3Aintrospect", "{basic}"},
		{form, "grant_type=client_credentials", "{basic}"},
		{form, "grant_type=client_credentials&client_id=introspection&client_secret={secret}", ""},
		{form + "; charset=utf-8", "grant_type=client_credentials&scope=tokens:introspect+tokens:revoke", "{basic}"},
		{form, "grant_type=client_credentials&client_id=introspection&client_secret={secret}x", ""},
		{form, "grant_type=client_credentials", "Basic aW50cm9zcGVjdGlvbjp3cm9uZw=="},
		{form, "grant_type=client_credentials", "Basic !!!"},
		{form, "grant_type=client_credentials", "Basic " + base64.StdEncoding.EncodeToString([]byte("introspection"))},
		{form, "grant_type=client_credentials", "Basic " + base64.StdEncoding.EncodeToString([]byte("intro%zzspection:x"))},
		{form, "grant_type=client_credentials", "Basic " + base64.StdEncoding.EncodeToString([]byte("intro%00spection:x"))},
		{form, "grant_type=client_credentials", "Bearer x"},
		{form, "grant_type=client_credentials&scope=openid", "{basic}"},
		{form, "grant_type=client_credentials&grant_type=password", "{basic}"},
		{form, "grant_type=password&client_id=backoffice&username={admin}&password=wrong-password", ""},
		{form, "grant_type=password&client_id=backoffice&username=&password=", ""},
		{form, "grant_type=password&client_id=introspection&username={admin}&password=x", "{basic}"},
		{form, "grant_type=refresh_token&client_id=backoffice&refresh_token=garbage", ""},
		{form, "grant_type=refresh_token&client_id=backoffice&refresh_token=", ""},
		{form, "grant_type=authorization_code&code=x&client_id=backoffice&redirect_uri=http://x", ""},
		{form, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&client_id=backoffice&subject_token=x&subject_token_type=urn:ietf:params:oauth:token-type:access_token", ""},
		{form, "grant_type=urn:authd:params:oauth:grant-type:otp&client_id=selfservice&otp=123456&otp_id=x", ""},
		{form, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=a.b.c", ""},
		{form, "grant_type=implicit", ""},
		{form, "grant_type=", ""},
		{form, "", ""},
		{form, "%zz", ""},
		{form, "grant_type=client_credentials&client_id=%00", ""},
		{form, "grant_type=client_credentials&client_id=\xff", ""},
		{form, "grant_type=client_credentials&" + strings.Repeat("a", 4096), "{basic}"},
		{"application/json", `{"grant_type":"client_credentials"}`, "{basic}"},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n", "{basic}"},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\nintro\x00\r\n--x--\r\n", ""},
		{"multipart/form-data", "", ""},
		{"text/plain", "grant_type=client_credentials", "{basic}"},
		{"", "grant_type=client_credentials", "{basic}"},
		{form + "; charset=latin1", "grant_type=client_credentials", "{basic}"},
	} {
		f.Add(s[0], s[1], s[2])
	}

	// The oracle below is not vacuous: the real credentials get a token.
	for _, r := range []*http.Request{
		tokenRequest(form, "grant_type=client_credentials", basic),
		tokenRequest(form, "grant_type=client_credentials&client_id="+id+"&client_secret="+url.QueryEscape(secret), ""),
	} {
		rec := httptest.NewRecorder()
		if h.ServeHTTP(rec, r); rec.Code != http.StatusOK {
			f.Fatalf("the introspection client's credentials: %d %s", rec.Code, rec.Body)
		}
	}

	f.Fuzz(func(t *testing.T, contentType, body, authorization string) {
		contentType, ok1 := validHeaderValue(fill(contentType))
		authorization, ok2 := validHeaderValue(fill(authorization))
		if !ok1 || !ok2 {
			return // net/http's server refuses such a request before any handler
		}
		body = fill(body)
		newReq := func() *http.Request { return tokenRequest(contentType, body, authorization) }
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq())

		if rec.Code >= 500 {
			t.Fatalf("%d for %q %q %q: %s", rec.Code, contentType, body, authorization, rec.Body)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || !strings.Contains(rec.Header().Get("Content-Type"), "json") {
			t.Fatalf("%d for %q %q %q: not a JSON object (%s): %s", rec.Code, contentType, body, authorization,
				rec.Header().Get("Content-Type"), rec.Body)
		}
		if rec.Code != http.StatusOK {
			if e, _ := answer["error"].(string); !rfc6749Error.MatchString(e) {
				t.Fatalf("%d for %q %q %q without an RFC 6749 error: %s", rec.Code, contentType, body, authorization, rec.Body)
			}
			return
		}
		if tok, _ := answer["access_token"].(string); tok == "" || !strings.EqualFold(answer["token_type"].(string), "bearer") {
			t.Fatalf("200 without a bearer access token: %s", rec.Body)
		}
		// What fosite read: the form (urlencoded or multipart) and the
		// client's credentials, Basic ones form-urlencoded (RFC 6749 §2.3.1).
		r := newReq()
		_ = r.ParseMultipartForm(1 << 20)
		if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
			t.Fatalf("200 for grant_type %q (%q %q %q): %s", g, contentType, body, authorization, rec.Body)
		}
		user, pass, hasBasic := r.BasicAuth()
		user, _ = url.QueryUnescape(user)
		pass, _ = url.QueryUnescape(pass)
		viaBasic := hasBasic && user == id && pass == secret
		viaForm := r.PostForm.Get("client_id") == id && r.PostForm.Get("client_secret") == secret
		if !viaBasic && !viaForm {
			t.Fatalf("200 without the client's credentials (%q %q %q): %s", contentType, body, authorization, rec.Body)
		}
	})
}

// tokenRequest is a POST to /oauth2/token; empty headers are left out.
func tokenRequest(contentType, body, authorization string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

// forwardAuthRequest is a GET of /forward-auth; empty headers are left out.
func forwardAuthRequest(uriHeader, authorization, apiKey, uri string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/forward-auth", nil)
	for k, v := range map[string]string{"Authorization": authorization, "api_key": apiKey, uriHeader: uri} {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	return r
}

// FuzzForwardAuth sends arbitrary Authorization, api_key and X-Original-URI
// values to GET /forward-auth (with path rules configured). The answer is
// 200, 401 or 403, never a 5xx, always Cache-Control: no-store, with
// WWW-Authenticate exactly on a 401; a 200 carries identity headers and
// happens only for a genuinely valid credential: a live bearer token issued
// by this app or a bootstrap API key, byte for byte.
func FuzzForwardAuth(f *testing.F) {
	cfg := fuzzConfig(f)
	cfg.ForwardAuth.Rules = faRules
	ts := newTestServer(f, cfg)
	h := ts.App.Public
	uriHeader := cfg.ForwardAuth.URIHeader

	user := akAdmin(f, ts, "live")
	cc, err := ts.clientCredentials("tokens:introspect").Token(f.Context())
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	expired, err := ts.App.Tokens.Issue(token.Claims{Kind: token.KindUser, Subject: ts.Boot.Admin.ID, Org: ts.Boot.Business.ID,
		Mode: "live", IssuedAt: now.Add(-2 * time.Hour).Unix(), ExpiresAt: now.Add(-time.Hour).Unix()})
	if err != nil {
		f.Fatal(err)
	}
	revokedTok := akAdmin(f, ts, "test")
	revoked, err := ts.App.Tokens.Parse(revokedTok)
	if err != nil {
		f.Fatal(err)
	}
	if err := ts.App.Tokens.Revoke(f.Context(), revoked); err != nil {
		f.Fatal(err)
	}
	live, test := ts.Boot.APIKeys["live"], ts.Boot.APIKeys["test"]
	validTokens := map[string]bool{user: true, cc.AccessToken: true}
	validKeys := map[string]bool{live.Public: true, live.Secret: true, test.Public: true, test.Secret: true}
	fill := strings.NewReplacer("{user}", user, "{client}", cc.AccessToken, "{expired}", expired, "{revoked}", revokedTok,
		"{pk_live}", live.Public, "{sk_live}", live.Secret, "{pk_test}", test.Public, "{sk_test}", test.Secret).Replace

	for _, s := range [][3]string{
		{"Bearer {user}", "", "/somewhere"},
		{"Bearer {user}", "", "/admin/users"},
		{"Bearer {client}", "", "/contacts/1"},
		{"bearer   {user}  ", "", "/"},
		{"Bearer {user}", "{sk_live}", "/x"},
		{"Basic eDp5", "{sk_live}", "/x"},
		{"", "{sk_live}", "/admin/users"},
		{"", "{sk_live}", "/contacts/42?x=1"},
		{"", "{pk_live}", "/contacts/42"},
		{"", "{pk_test}", "/register"},
		{"", "{sk_test}", "/live-only/x"},
		{"", "{sk_live}", "/x/../admin/users"},
		{"", "{sk_live}", "/%61dmin/users"},
		{"", "{sk_live}", `\admin\users`},
		{"", "{sk_live}", "//admin//users"},
		{"", "{sk_live}", "http://example.com/admin/users?x"},
		{"", "{sk_live}", "/%zz"},
		{"", "{sk_live}", "/%00"},
		{"", "{sk_live}", ""},
		{"", "{sk_live}x", "/"},
		{"", " {sk_live}", "/"},
		{"", "sk_live_nope", "/"},
		{"Bearer {expired}", "", "/"},
		{"Bearer {revoked}", "", "/"},
		{"Bearer {user}x", "", "/"},
		{"Bearer nope", "{sk_live}", "/"},
		{"Bearer ", "{sk_live}", "/"},
		{"Bearer", "", "/"},
		{"DPoP {user}", "", "/"},
		{"Bearer {user} {user}", "", "/"},
		{"Bearer {sk_live}", "", "/"},
		{"", "{user}", "/"},
		{"", "", ""},
		{"", "", "/admin"},
	} {
		f.Add(s[0], s[1], s[2])
	}

	// The oracle below is not vacuous: the real credentials pass.
	for _, c := range [][3]string{{"Bearer " + user, "", "/admin/users"}, {"Bearer " + cc.AccessToken, "", "/x"}, {"", live.Secret, "/x"}} {
		rec := httptest.NewRecorder()
		if h.ServeHTTP(rec, forwardAuthRequest(uriHeader, c[0], c[1], c[2])); rec.Code != http.StatusOK {
			f.Fatalf("%q %q on %s: %d %s", c[0], c[1], c[2], rec.Code, rec.Body)
		}
	}

	f.Fuzz(func(t *testing.T, authorization, apiKey, uri string) {
		authorization, ok1 := validHeaderValue(fill(authorization))
		apiKey, ok2 := validHeaderValue(fill(apiKey))
		uri, ok3 := validHeaderValue(uri)
		if !ok1 || !ok2 || !ok3 {
			return // net/http's server refuses such a request before any handler
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, forwardAuthRequest(uriHeader, authorization, apiKey, uri))
		hdr := rec.Header()
		desc := func() string { return fmt.Sprintf("Authorization %q, api_key %q, URI %q", authorization, apiKey, uri) }

		switch rec.Code {
		case http.StatusOK, http.StatusUnauthorized, http.StatusForbidden:
		default:
			t.Fatalf("%d for %s: %s", rec.Code, desc(), rec.Body)
		}
		if hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d without Cache-Control: no-store for %s", rec.Code, desc())
		}
		if (rec.Code == http.StatusUnauthorized) != (hdr.Get("WWW-Authenticate") != "") {
			t.Fatalf("%d with WWW-Authenticate %q for %s", rec.Code, hdr.Get("WWW-Authenticate"), desc())
		}
		if rec.Code != http.StatusOK {
			if hdr.Get("X-Authd-Subject") != "" {
				t.Fatalf("identity headers on a %d for %s", rec.Code, desc())
			}
			var problem map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &problem); err != nil || problem["code"] == nil {
				t.Fatalf("%d for %s without a problem body: %s", rec.Code, desc(), rec.Body)
			}
			return
		}
		if hdr.Get("X-Authd-Subject") == "" {
			t.Fatalf("200 without X-Authd-Subject for %s", desc())
		}
		if hdr.Get("X-Authd-Subject-Type") == "api_key" {
			if !validKeys[apiKey] {
				t.Fatalf("200 as an API key for %s", desc())
			}
			return
		}
		if fields := strings.Fields(authorization); len(fields) != 2 || !strings.EqualFold(fields[0], "Bearer") || !validTokens[fields[1]] {
			t.Fatalf("200 as %s for %s", hdr.Get("X-Authd-Subject-Type"), desc())
		}
	})
}
