package forwardauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

type fakeTokens map[string]struct {
	c   token.Claims
	err error
}

func (f fakeTokens) Verify(_ context.Context, raw string) (token.Claims, error) {
	r, ok := f[raw]
	if !ok {
		return token.Claims{}, token.ErrInvalid
	}
	return r.c, r.err
}

type fakeKeys map[string]struct {
	k   apikey.Key
	err error
}

func (f fakeKeys) Verify(_ context.Context, raw string) (apikey.Key, error) {
	r, ok := f[raw]
	if !ok {
		return apikey.Key{}, apikey.ErrInvalid
	}
	return r.k, r.err
}

var (
	tokens = fakeTokens{
		"user":    {c: token.Claims{Subject: "u1", Kind: token.KindUser, Org: "biz", Mode: "live", Scope: "openid backoffice", Audience: token.Audience{"https://authd.example"}}},
		"billing": {c: token.Claims{Subject: "u1", Kind: token.KindUser, Org: "biz", Mode: "live", Audience: token.Audience{"https://authd.example", "billing"}}},
		"contact": {c: token.Claims{Subject: "c1", Kind: token.KindContact, Org: "biz", Mode: "test", Scope: "contacts:read"}},
		"client":  {c: token.Claims{Subject: "introspection", Kind: token.KindClient, Scope: "tokens:introspect"}},
		"owner":   {c: token.Claims{Subject: "u0", Kind: token.KindUser, Org: "so", Mode: "live", ServiceOwner: true}},
		"expired": {c: token.Claims{Subject: "u1", Kind: token.KindUser}, err: token.ErrExpired},
		"revoked": {c: token.Claims{Subject: "u1", Kind: token.KindUser}, err: token.ErrRevoked},
		"down":    {err: errors.New("cache down")},
	}
	keys = fakeKeys{
		"sk": {k: apikey.Key{ID: "k1", OrganisationID: "biz", Mode: store.ModeLive, Type: store.APIKeySecret, Scopes: []string{"*"}}},
		"pk": {k: apikey.Key{ID: "k2", OrganisationID: "biz", Mode: store.ModeTest, Type: store.APIKeyPublic, Scopes: []string{"contacts:register", "otp:send"}}},
		"rl": {err: &apikey.RateLimitError{RetryAfter: 2 * time.Second}},
	}
)

func TestDecideCredentials(t *testing.T) {
	d := New(tokens, keys, nil)
	for _, tc := range []struct {
		name    string
		req     Request
		status  int
		reason  Reason
		subject string
		typ     string
		org     string
		mode    string
		scopes  string
	}{
		{"user token", Request{Authorization: "Bearer user"}, 200, Allowed, "u1", "user", "biz", "live", "openid backoffice"},
		{"scheme is case-insensitive", Request{Authorization: "bearer user"}, 200, Allowed, "u1", "user", "biz", "live", "openid backoffice"},
		{"contact token", Request{Authorization: "Bearer contact"}, 200, Allowed, "c1", "contact", "biz", "test", "contacts:read"},
		{"client token", Request{Authorization: "Bearer client"}, 200, Allowed, "introspection", "client", "", "", "tokens:introspect"},
		{"secret key", Request{APIKey: "sk"}, 200, Allowed, "k1", "api_key", "biz", "live", "*"},
		{"public key", Request{APIKey: "pk"}, 200, Allowed, "k2", "api_key", "biz", "test", "contacts:register otp:send"},
		{"bearer wins over a key", Request{Authorization: "Bearer user", APIKey: "sk"}, 200, Allowed, "u1", "user", "biz", "live", "openid backoffice"},
		{"basic auth falls back to the key", Request{Authorization: "Basic eDp5", APIKey: "sk"}, 200, Allowed, "k1", "api_key", "biz", "live", "*"},
		{"nothing", Request{}, 401, NoCredentials, "", "", "", "", ""},
		{"basic only", Request{Authorization: "Basic eDp5"}, 401, NoCredentials, "", "", "", "", ""},
		{"empty bearer", Request{Authorization: "Bearer "}, 401, NoCredentials, "", "", "", "", ""},
		{"bad token", Request{Authorization: "Bearer nope"}, 401, InvalidToken, "", "", "", "", ""},
		{"revoked token", Request{Authorization: "Bearer revoked"}, 401, InvalidToken, "", "", "", "", ""},
		{"expired token", Request{Authorization: "Bearer expired"}, 401, ExpiredToken, "", "", "", "", ""},
		{"bad key", Request{APIKey: "sk_live_nope"}, 401, InvalidKey, "", "", "", "", ""},
		{"bad token does not fall back to a good key", Request{Authorization: "Bearer nope", APIKey: "sk"}, 401, InvalidToken, "", "", "", "", ""},
		{"rate limited key", Request{APIKey: "rl"}, 429, RateLimited, "", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.Decide(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.status || got.Reason != tc.reason {
				t.Fatalf("got %d/%v, want %d/%v", got.Status, got.Reason, tc.status, tc.reason)
			}
			if got.Subject != tc.subject || got.SubjectType != tc.typ || got.Organisation != tc.org || got.Mode != tc.mode || strings.Join(got.Scopes, " ") != tc.scopes {
				t.Fatalf("identity %+v", got)
			}
			if (tc.status == http.StatusUnauthorized) != (got.Challenge != "") {
				t.Fatalf("challenge %q on %d", got.Challenge, got.Status)
			}
			if tc.status == 429 && got.RetryAfter != 2*time.Second {
				t.Fatalf("retry after %v", got.RetryAfter)
			}
		})
	}
	if _, err := d.Decide(context.Background(), Request{Authorization: "Bearer down"}); err == nil {
		t.Fatal("a backend failure was not reported")
	}
}

func TestDecisionHeaders(t *testing.T) {
	d, _ := New(tokens, keys, nil).Decide(context.Background(), Request{APIKey: "pk"})
	want := [][2]string{
		{"X-Authd-Subject", "k2"}, {"X-Authd-Subject-Type", "api_key"}, {"X-Authd-Organisation", "biz"},
		{"X-Authd-Mode", "test"}, {"X-Authd-Scopes", "contacts:register otp:send"}, {"X-Authd-Service-Owner", ""},
	}
	if got := d.Headers(); !slices.Equal(got, want) {
		t.Fatalf("headers %v", got)
	}
	d, _ = New(tokens, keys, nil).Decide(context.Background(), Request{Authorization: "Bearer owner"})
	if got := d.Headers(); got[5] != [2]string{"X-Authd-Service-Owner", "true"} {
		t.Fatalf("service owner's headers %v", got)
	}
}

func TestRules(t *testing.T) {
	d := New(tokens, keys, []Rule{
		{PathPrefix: "/admin/", Kinds: []string{"user"}, Modes: []string{"live"}},
		{PathPrefix: "/contacts", Scopes: []string{"contacts:read"}},
		{PathPrefix: "/register", Kinds: []string{"api_key"}, Scopes: []string{"contacts:register"}},
		{PathPrefix: "/live", Modes: []string{"live"}},
		{PathPrefix: "/billing", Audiences: []string{"billing", "invoices"}},
	})
	for _, tc := range []struct {
		name   string
		req    Request
		status int
		reason Reason
	}{
		{"user in live may use admin", Request{Authorization: "Bearer user", URI: "/admin/users?x=1"}, 200, Allowed},
		{"admin without trailing slash", Request{APIKey: "sk", URI: "/admin"}, 403, DeniedKind},
		{"a key may not use admin", Request{APIKey: "sk", URI: "/admin/users"}, 403, DeniedKind},
		{"a contact may not use admin", Request{Authorization: "Bearer contact", URI: "/admin/x"}, 403, DeniedKind},
		{"dot segments do not escape a rule", Request{APIKey: "sk", URI: "/public/../admin/users"}, 403, DeniedKind},
		{"encoded path does not escape a rule", Request{APIKey: "sk", URI: "/%61dmin/users"}, 403, DeniedKind},
		{"double slash does not escape a rule", Request{APIKey: "sk", URI: "//admin//users"}, 403, DeniedKind},
		{"backslash does not escape a rule", Request{APIKey: "sk", URI: `/\admin\users`}, 403, DeniedKind},
		{"absolute URI", Request{APIKey: "sk", URI: "http://crm.example/admin/users"}, 403, DeniedKind},
		{"scope held", Request{Authorization: "Bearer contact", URI: "/contacts/1"}, 200, Allowed},
		{"scope held through *", Request{APIKey: "sk", URI: "/contacts/1"}, 200, Allowed},
		{"scope missing", Request{APIKey: "pk", URI: "/contacts/1"}, 403, InsufficientScope},
		{"token scope missing", Request{Authorization: "Bearer user", URI: "/contacts"}, 403, InsufficientScope},
		{"public key registers", Request{APIKey: "pk", URI: "/register"}, 200, Allowed},
		{"test mode refused by a live rule", Request{APIKey: "pk", URI: "/live/x"}, 403, DeniedMode},
		{"no rule matches", Request{APIKey: "pk", URI: "/elsewhere"}, 200, Allowed},
		{"a token for the resource", Request{Authorization: "Bearer billing", URI: "/billing/x"}, 200, Allowed},
		{"a token for another audience", Request{Authorization: "Bearer user", URI: "/billing/x"}, 403, DeniedAudience},
		{"an API key has no audience", Request{APIKey: "sk", URI: "/billing/x"}, 403, DeniedAudience},
		{"missing URI with rules", Request{APIKey: "pk"}, 403, UnknownURI},
		{"bad escape", Request{APIKey: "pk", URI: "/%zz"}, 403, UnknownURI},
		{"invalid credential is 401 before rules", Request{APIKey: "nope", URI: "/admin/x"}, 401, InvalidKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.Decide(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.status || got.Reason != tc.reason {
				t.Fatalf("got %d/%v, want %d/%v", got.Status, got.Reason, tc.status, tc.reason)
			}
			if got.Status != 200 && got.Subject != "" {
				t.Fatalf("a refused request carries an identity: %+v", got)
			}
		})
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b?c=d":      "/a/b",
		"/a/./b/../c":   "/a/c",
		"a":             "/a",
		"/a%2Fb":        "/a/b",
		"/../../etc":    "/etc",
		"/a#frag":       "/a",
		"/a/":           "/a",
		"https://x/y/z": "/y/z",
	} {
		if got, ok := cleanPath(in); !ok || got != want {
			t.Errorf("cleanPath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "/a%00b", "/%"} {
		if _, ok := cleanPath(bad); ok {
			t.Errorf("cleanPath(%q) accepted", bad)
		}
	}
}
