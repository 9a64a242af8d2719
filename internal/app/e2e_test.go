package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authd/authd/internal/token"
)

func (s *testServer) clientCredentials(scopes ...string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:     s.Boot.Clients.Introspection.ClientID,
		ClientSecret: s.Boot.Clients.Introspection.ClientSecret,
		TokenURL:     s.URL + "/oauth2/token",
		Scopes:       scopes,
	}
}

func (s *testServer) postForm(t testing.TB, path string, form url.Values, basicUser, basicPass string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%s: non-JSON body %q", path, body)
		}
	}
	return resp, m
}

func (s *testServer) introspect(t testing.TB, tok, hint string) map[string]any {
	t.Helper()
	form := url.Values{"token": {tok}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	resp, m := s.postForm(t, "/oauth2/introspect", form, s.Boot.Clients.Introspection.ClientID, s.Boot.Clients.Introspection.ClientSecret)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect status %d: %v", resp.StatusCode, m)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("introspection Cache-Control = %q", cc)
	}
	return m
}

// TestClientCredentialsVerifiedWithJWKS: a real OAuth client gets a token,
// and go-oidc verifies it against the published key set.
func TestClientCredentialsVerifiedWithJWKS(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	ctx := context.Background()
	tok, err := s.clientCredentials(oauthScopeIntrospect).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "bearer" && tok.TokenType != "Bearer" {
		t.Fatalf("token_type %q", tok.TokenType)
	}
	if tok.RefreshToken != "" {
		t.Fatal("client_credentials must not return a refresh token")
	}
	if d := time.Until(tok.Expiry); d < 14*time.Minute || d > 16*time.Minute {
		t.Fatalf("expiry in %s, want ~15m", d)
	}

	// go-oidc discovers the provider (issuer must match) and verifies the
	// JWT against the remote key set, choosing the key by kid.
	provider, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil || meta.JWKS != s.URL+"/.well-known/jwks.json" {
		t.Fatalf("jwks_uri %q %v", meta.JWKS, err)
	}
	keySet := oidc.NewRemoteKeySet(ctx, meta.JWKS)
	verifier := oidc.NewVerifier(s.URL, keySet, &oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: []string{"ES256"}})
	idt, err := verifier.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("go-oidc cannot verify the access token: %v", err)
	}
	var claims token.Claims
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Subject != "introspection" || claims.ClientID != "introspection" || claims.Kind != token.KindClient ||
		claims.Scope != oauthScopeIntrospect || claims.ID == "" || len(claims.Audience) != 1 || claims.Audience[0] != s.URL {
		t.Fatalf("claims %+v", claims)
	}

	// RFC 9068 §2.1: typ at+jwt.
	hdr := decodeHeader(t, tok.AccessToken)
	if hdr["typ"] != "at+jwt" || hdr["alg"] != "ES256" || hdr["kid"] == "" {
		t.Fatalf("header %v", hdr)
	}

	// A tampered token is refused by the same verifier.
	parts := strings.Split(tok.AccessToken, ".")
	tampered := parts[0] + "." + parts[1] + "A." + parts[2]
	if _, err := verifier.Verify(ctx, tampered); err == nil {
		t.Fatal("tampered token verified")
	}
}

const oauthScopeIntrospect = "tokens:introspect"

func decodeHeader(t testing.TB, jwt string) map[string]any {
	t.Helper()
	seg := strings.SplitN(jwt, ".", 2)[0]
	b, err := base64URLDecode(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	ctx := context.Background()
	tok, err := s.clientCredentials().Token(ctx)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("valid access token", func(t *testing.T) {
		for _, hint := range []string{"", "access_token", "refresh_token", "api_key"} {
			m := s.introspect(t, tok.AccessToken, hint)
			if m["active"] != true || m["sub"] != "introspection" || m["client_id"] != "introspection" ||
				m["kind"] != "client" || m["iss"] != s.URL || m["token_type"] != "Bearer" || m["exp"] == nil {
				t.Fatalf("hint %q: %v", hint, m)
			}
		}
	})
	t.Run("garbage", func(t *testing.T) {
		for _, g := range []string{"garbage", "a.b.c", strings.Repeat("x", 5000), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."} {
			if m := s.introspect(t, g, ""); len(m) != 1 || m["active"] != false {
				t.Fatalf("%q: %v", g, m)
			}
		}
	})
	t.Run("expired", func(t *testing.T) {
		now := time.Now()
		exp, err := s.App.Tokens.Issue(token.Claims{Subject: "u1", Kind: token.KindUser, ClientID: "backoffice",
			Audience: token.Audience{s.URL}, IssuedAt: now.Add(-2 * time.Hour).Unix(), ExpiresAt: now.Add(-time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		if m := s.introspect(t, exp, ""); len(m) != 1 || m["active"] != false {
			t.Fatalf("expired token: %v", m)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		other, err := s.clientCredentials().Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		resp, m := s.postForm(t, "/oauth2/revoke", url.Values{"token": {other.AccessToken}, "token_type_hint": {"access_token"}},
			"introspection", s.Boot.Clients.Introspection.ClientSecret)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke %d %v", resp.StatusCode, m)
		}
		if m := s.introspect(t, other.AccessToken, ""); m["active"] != false {
			t.Fatalf("revoked token still active: %v", m)
		}
		if m := s.introspect(t, tok.AccessToken, ""); m["active"] != true {
			t.Fatalf("revoking one token affected another: %v", m)
		}
	})
}

func TestIntrospectionRequiresAnAuthorisedClient(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	tok, err := s.clientCredentials().Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"token": {tok.AccessToken}}
	tests := []struct {
		name       string
		user, pass string
		form       url.Values
		status     int
		errCode    string
	}{
		{"no client auth", "", "", form, 401, "invalid_client"},
		{"wrong secret", "introspection", "wrong", form, 401, "invalid_client"},
		{"unknown client", "nobody", "x", form, 401, "invalid_client"},
		{"public client", "", "", url.Values{"token": {tok.AccessToken}, "client_id": {"backoffice"}}, 400, "unauthorized_client"},
		{"missing token", "introspection", s.Boot.Clients.Introspection.ClientSecret, url.Values{"x": {"y"}}, 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, m := s.postForm(t, "/oauth2/introspect", tc.form, tc.user, tc.pass)
			if resp.StatusCode != tc.status || m["error"] != tc.errCode {
				t.Fatalf("status %d body %v, want %d %s", resp.StatusCode, m, tc.status, tc.errCode)
			}
			if _, leaked := m["active"]; leaked {
				t.Fatal("an unauthorised caller learned about the token")
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	secret := s.Boot.Clients.Introspection.ClientSecret
	tests := []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		errCode    string
	}{
		{"unknown grant", url.Values{"grant_type": {"urn:example:magic"}}, "introspection", secret, 400, "unsupported_grant_type"},
		{"authorization_code not offered", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, "introspection", secret, 400, "unsupported_grant_type"},
		{"missing grant", url.Values{"scope": {"x"}}, "introspection", secret, 400, "invalid_request"},
		{"bad secret", url.Values{"grant_type": {"client_credentials"}}, "introspection", "nope", 401, "invalid_client"},
		{"public client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"backoffice"}}, "", "", 400, "unauthorized_client"},
		{"no client at all", url.Values{"grant_type": {"client_credentials"}}, "", "", 401, "invalid_client"},
		{"repeated parameter", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, "introspection", secret, 400, "invalid_request"},
		{"Basic and client_secret both", url.Values{"grant_type": {"client_credentials"}, "client_secret": {secret}}, "introspection", secret, 400, "invalid_request"},
		{"body client_id is another client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"backoffice"}}, "introspection", secret, 400, "invalid_request"},
		{"scope not allowed", url.Values{"grant_type": {"client_credentials"}, "scope": {"contacts:write"}}, "introspection", secret, 400, "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, m := s.postForm(t, "/oauth2/token", tc.form, tc.user, tc.pass)
			if resp.StatusCode != tc.status || (tc.errCode != "" && m["error"] != tc.errCode) || m["access_token"] != nil {
				t.Fatalf("status %d body %v, want %d %s", resp.StatusCode, m, tc.status, tc.errCode)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	ctx := context.Background()
	tok, err := s.clientCredentials().Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A public client may not revoke another client's token.
	resp, m := s.postForm(t, "/oauth2/revoke", url.Values{"token": {tok.AccessToken}, "client_id": {"backoffice"}}, "", "")
	if resp.StatusCode != 400 || m["error"] != "unauthorized_client" {
		t.Fatalf("foreign revoke: %d %v", resp.StatusCode, m)
	}
	if m := s.introspect(t, tok.AccessToken, ""); m["active"] != true {
		t.Fatal("refused revocation still revoked the token")
	}
	// Unknown tokens answer 200 (RFC 7009 §2.2).
	resp, _ = s.postForm(t, "/oauth2/revoke", url.Values{"token": {"not-a-token"}}, "introspection", s.Boot.Clients.Introspection.ClientSecret)
	if resp.StatusCode != 200 {
		t.Fatalf("unknown token revoke: %d", resp.StatusCode)
	}
	// Bad client credentials are refused.
	resp, m = s.postForm(t, "/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, "introspection", "wrong")
	if resp.StatusCode != 401 || m["error"] != "invalid_client" {
		t.Fatalf("bad creds revoke: %d %v", resp.StatusCode, m)
	}
	// The owner revokes it; it is then inactive and refused by the verifier.
	resp, _ = s.postForm(t, "/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, "introspection", s.Boot.Clients.Introspection.ClientSecret)
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if _, err := s.App.Tokens.Verify(ctx, tok.AccessToken); !errors.Is(err, token.ErrRevoked) {
		t.Fatalf("Verify after revoke: %v", err)
	}
}

// TestOAuthResponseDetails: the shapes RFC 6749, 7009 and 8693 ask for
// beyond the error table above.
func TestOAuthResponseDetails(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	s := n.s
	secret := s.Boot.Clients.Introspection.ClientSecret

	// Basic with the same client_id in the body is one method; the token
	// type is spelled Bearer; no scope granted means no scope member.
	resp, m := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"introspection"}}, "introspection", secret)
	if resp.StatusCode != 200 || m["token_type"] != "Bearer" {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, m)
	}
	if _, ok := m["scope"]; ok {
		t.Fatalf("empty scope answered: %v", m)
	}

	// RFC 7009 §2.2.1: an API key is a token type /oauth2/revoke does not
	// revoke; saying 200 would make a leak-response script believe it did.
	key := s.Boot.APIKeys["live"].Secret
	for _, hint := range []string{"api_key", ""} {
		form := url.Values{"token": {key}}
		if hint != "" {
			form.Set("token_type_hint", hint)
		}
		resp, m = s.postForm(t, "/oauth2/revoke", form, "introspection", secret)
		if resp.StatusCode != 400 || m["error"] != "unsupported_token_type" {
			t.Fatalf("revoke an API key (hint %q): %d %v", hint, resp.StatusCode, m)
		}
	}
	if in := s.introspect(t, key, ""); in["active"] != true {
		t.Fatalf("the key after a refused revocation: %v", in)
	}

	alice := s.signIn(t, n.alice, userPassword)
	// RFC 8693 §2.2.2: a target authd will not honour is invalid_target.
	exchange := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {"backoffice"},
		"subject_token": {alice["access_token"].(string)}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "mode": {"test"}}
	for name, extra := range map[string]url.Values{
		"audience":      {"audience": {"https://api.example"}},
		"two resources": {"resource": {"urn:authd:organisation:" + n.bizA, "https://elsewhere.example"}},
	} {
		form := url.Values{}
		for k, v := range exchange {
			form[k] = v
		}
		for k, v := range extra {
			form[k] = v
		}
		if resp, m := s.postForm(t, "/oauth2/token", form, "", ""); resp.StatusCode != 400 || m["error"] != "invalid_target" {
			t.Fatalf("exchange with %s: %d %v", name, resp.StatusCode, m)
		}
	}

	// RFC 6749 §6: a refresh may not ask for a scope the family lacks, and
	// the refusal leaves the token usable.
	rt := alice["refresh_token"].(string)
	resp, m = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"backoffice"},
		"refresh_token": {rt}, "scope": {"contacts:write"}}, "", "")
	if resp.StatusCode != 400 || m["error"] != "invalid_scope" {
		t.Fatalf("refresh asking for more scope: %d %v", resp.StatusCode, m)
	}
	if code, m := n.refresh(t, rt); code != 200 || m["token_type"] != "Bearer" {
		t.Fatalf("refresh after the refused scope: %d %v", code, m)
	}
}
