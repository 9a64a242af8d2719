package verify

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestMiddleware(t *testing.T) {
	e := start(t, feedOn()...)
	now := e.clock.Now()
	var seen *Claims
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = FromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	mw := Middleware(e.v, Realm("orders"))
	mux := http.NewServeMux()
	mux.Handle("/any", mw(ok))
	mux.Handle("/scoped", mw(RequireScopes("orders:read", "orders:write")(ok)))
	mux.Handle("/users", mw(RequireKind(KindUser)(ok)))
	mux.Handle("/contacts", mw(RequireKind(KindContact, KindClient)(ok)))
	mux.Handle("/test-mode", mw(RequireMode(ModeTest)(ok)))
	mux.Handle("/unprotected", RequireScopes("x")(ok))

	valid := e.token(func(c map[string]any) { c["scope"] = "orders:read orders:write" })
	readOnly := e.token(func(c map[string]any) { c["scope"] = "orders:read" })
	expired := e.token(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })
	revoked := e.token(func(c map[string]any) { c["jti"] = "gone" })
	seq := e.authd.Revoke("token", "gone", now, now.Add(time.Hour))
	e.waitFor("the revocation", func() bool { return e.v.Status().Cursor == seq })
	foreign := e.token(func(c map[string]any) { c["aud"] = "https://elsewhere.example" })

	const (
		challenge   = `Bearer realm="orders"`
		invalid     = `Bearer realm="orders", error="invalid_token", error_description="The access token is not valid"`
		malformed   = `Bearer realm="orders", error="invalid_request", error_description="The Authorization header is not a single Bearer token"`
		noScope     = `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a scope this request needs", scope="orders:read orders:write"`
		wrongKind   = `Bearer realm="orders", error="insufficient_scope", error_description="This request needs a token for a contact or client"`
		wrongMode   = `Bearer realm="orders", error="insufficient_scope", error_description="This request needs a token in test mode"`
		expiredDesc = `Bearer realm="orders", error="invalid_token", error_description="The access token expired"`
		revokedDesc = `Bearer realm="orders", error="invalid_token", error_description="The access token was revoked"`
		foreignDesc = `Bearer realm="orders", error="invalid_token", error_description="The access token is not for this service"`
	)
	tests := []struct {
		name      string
		path      string
		auth      []string
		status    int
		challenge string
		errCode   string
	}{
		{"valid", "/any", []string{"Bearer " + valid}, 204, "", ""},
		{"scheme in lower case", "/any", []string{"bearer " + valid}, 204, "", ""},
		{"no header", "/any", nil, 401, challenge, ""},
		{"another scheme", "/any", []string{"Basic dXNlcjpwYXNz"}, 401, challenge, ""},
		{"Bearer without a token", "/any", []string{"Bearer "}, 400, malformed, "invalid_request"},
		{"two tokens", "/any", []string{"Bearer a b"}, 400, malformed, "invalid_request"},
		{"two headers", "/any", []string{"Bearer " + valid, "Bearer " + valid}, 400, malformed, "invalid_request"},
		{"garbage", "/any", []string{"Bearer garbage"}, 401, invalid, "invalid_token"},
		{"expired", "/any", []string{"Bearer " + expired}, 401, expiredDesc, "invalid_token"},
		{"revoked", "/any", []string{"Bearer " + revoked}, 401, revokedDesc, "invalid_token"},
		{"other audience", "/any", []string{"Bearer " + foreign}, 401, foreignDesc, "invalid_token"},
		{"scopes held", "/scoped", []string{"Bearer " + valid}, 204, "", ""},
		{"a scope missing", "/scoped", []string{"Bearer " + readOnly}, 403, noScope, "insufficient_scope"},
		{"scopes without a token", "/scoped", nil, 401, challenge, ""},
		{"kind", "/users", []string{"Bearer " + valid}, 204, "", ""},
		{"wrong kind", "/contacts", []string{"Bearer " + valid}, 403, wrongKind, "insufficient_scope"},
		{"wrong mode", "/test-mode", []string{"Bearer " + valid}, 403, wrongMode, "insufficient_scope"},
		{"Require without Middleware", "/unprotected", []string{"Bearer " + valid}, 401, "Bearer", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			for _, a := range tc.auth {
				r.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate\n got %s\nwant %s", got, tc.challenge)
			}
			if tc.status == 204 {
				if seen == nil || seen.Subject != "user-1" {
					t.Fatalf("claims in the handler: %+v", seen)
				}
				return
			}
			if seen != nil {
				t.Fatal("a refused request reached the handler")
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("refusal without Cache-Control: no-store")
			}
			if tc.errCode == "" {
				if w.Body.Len() != 0 {
					t.Fatalf("body %q", w.Body)
				}
				return
			}
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != tc.errCode || body.Description == "" {
				t.Fatalf("body %q (%v)", w.Body, err)
			}
		})
	}
}

func TestMiddlewareDefaultRealmAndQuoting(t *testing.T) {
	e := start(t)
	w := httptest.NewRecorder()
	Middleware(e.v)(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if got, want := w.Header().Get("WWW-Authenticate"), `Bearer realm="`+e.authd.URL()+`"`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	w = httptest.NewRecorder()
	Middleware(e.v, Realm(`a "quoted" \ realm`+"\n"))(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if got, want := w.Header().Get("WWW-Authenticate"), `Bearer realm="a \"quoted\" \\ realm"`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestNewContext(t *testing.T) {
	c := &Claims{Subject: "s", Kind: KindUser, Scopes: []string{"a"}}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r = r.WithContext(NewContext(r.Context(), c))
	w := httptest.NewRecorder()
	RequireScopes("a")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if FromContext(r.Context()) != c {
			t.Fatal("claims")
		}
		w.WriteHeader(http.StatusTeapot)
	})).ServeHTTP(w, r)
	if w.Code != http.StatusTeapot {
		t.Fatalf("status %d", w.Code)
	}
	if FromContext(httptest.NewRequest(http.MethodGet, "/", nil).Context()) != nil {
		t.Fatal("claims from nowhere")
	}
}
