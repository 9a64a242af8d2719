package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/pkg/verify"
)

// newBackend is a backend service verifying s's tokens in process with
// pkg/verify, following the revocation feed as the introspection client;
// it reaches the issuer at the address of replica (s itself when nil).
func newBackend(t *testing.T, s, replica *testServer) *verify.Verifier {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if replica == nil {
		replica = s
	}
	at, err := url.Parse(replica.URL)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: toHost{at.Host}}
	intro := s.Boot.Clients.Introspection
	v, err := verify.New(ctx, s.App.Config.Issuer, verify.WithAudience(s.App.Config.Issuer), verify.WithHTTPClient(hc),
		verify.WithRevocationFeed(intro.ClientID, intro.ClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// toHost sends every request to one host: the issuer's URL names the
// deployment, the test picks the replica that answers.
type toHost struct{ host string }

func (h toHost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Host, r.Host = h.host, h.host
	return http.DefaultTransport.RoundTrip(r)
}

// refusedBy waits until v refuses tok (ErrRevoked), failing after bound.
func refusedBy(t *testing.T, v *verify.Verifier, tok, what string) {
	t.Helper()
	start := time.Now()
	for {
		_, err := v.Verify(context.Background(), tok)
		if errors.Is(err, verify.ErrRevoked) {
			t.Logf("%s: refused by the backend after %v", what, time.Since(start))
			return
		}
		if err != nil {
			t.Fatalf("%s: %v, want ErrRevoked", what, err)
		}
		if time.Since(start) > revocationBound {
			t.Fatalf("%s: the backend still accepts the token after %v", what, time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestVerifierPackage: a backend using pkg/verify against a running authd
// verifies the tokens of every grant, refuses forgeries and tokens for
// another audience, hears of a logout and a disabled user within a second,
// and keeps verifying what it verified when authd goes away.
func TestVerifierPackage(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	s := e.s
	v := newBackend(t, s, nil)
	ctx := context.Background()

	// Tokens of every grant.
	cc, err := s.clientCredentials().Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	user := s.signIn(t, s.Boot.Admin.Email, s.Boot.Admin.Password)
	_, refreshed := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"backoffice"},
		"refresh_token": {user["refresh_token"].(string)}}, "", "")
	_, switched := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"client_id": {"backoffice"}, "subject_token": {refreshed["access_token"].(string)},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "mode": {"test"}}, "", "")
	code, reg, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", e.live, guideRegistration)
	if code != 201 {
		t.Fatalf("register: %d %v", code, reg)
	}
	otpID := reg["otp"].(map[string]any)["otp_id"].(string)
	_, contact := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"urn:authd:params:oauth:grant-type:otp"},
		"client_id": {"selfservice"}, "otp_id": {otpID}, "code": {e.gw.codeFor(otpID)}}, "", "")
	for _, tc := range []struct {
		grant, tok, kind, mode string
	}{
		{"client_credentials", cc.AccessToken, verify.KindClient, ""},
		{"password (CRM sign-in)", user["access_token"].(string), verify.KindUser, "live"},
		{"refresh_token", refreshed["access_token"].(string), verify.KindUser, "live"},
		{"token exchange", switched["access_token"].(string), verify.KindUser, "test"},
		{"OTP", contact["access_token"].(string), verify.KindContact, "live"},
	} {
		c, err := v.Verify(ctx, tc.tok)
		if err != nil || c.Kind != tc.kind || c.Mode != tc.mode || c.Subject == "" || c.ID == "" {
			t.Fatalf("%s: %+v %v", tc.grant, c, err)
		}
	}

	// Forgeries and other audiences.
	tok := user["access_token"].(string)
	parts := strings.Split(tok, ".")
	hs := func(header string) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(header))
		m := hmac.New(sha256.New, []byte("the public key as an HMAC secret"))
		m.Write([]byte(h + "." + parts[1]))
		return h + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	for name, forged := range map[string]string{
		"alg none":         base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + ".",
		"HMAC":             hs(`{"alg":"HS256","typ":"at+jwt"}`),
		"unknown kid":      base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"nope","typ":"at+jwt"}`)) + "." + parts[1] + "." + parts[2],
		"tampered payload": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"someone-else"}`)) + "." + parts[2],
		"bad signature":    parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
	} {
		if _, err := v.Verify(ctx, forged); !errors.Is(err, verify.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	other, err := verify.New(ctx, s.App.Config.Issuer, verify.WithAudience("https://another-service.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Verify(ctx, tok); !errors.Is(err, verify.ErrAudience) {
		t.Fatalf("a token for another audience: %v", err)
	}

	// A logout (the family ends) and a disabled user reach the backend.
	access, refresh := signInTokens(t, s)
	if _, err := v.Verify(ctx, access); err != nil {
		t.Fatal(err)
	}
	revokeAt(t, s, refresh)
	refusedBy(t, v, access, "logout")
	n := newNetwork(t, nil)
	vb := newBackend(t, n.s, nil)
	bob := n.s.signIn(t, n.bob, userPassword)
	if _, err := vb.Verify(ctx, bob["access_token"].(string)); err != nil {
		t.Fatal(err)
	}
	if code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users/"+n.bobID+"/disable", n.adminToken, nil); code != 204 {
		t.Fatalf("disable: %d %v", code, m)
	}
	refusedBy(t, vb, bob["access_token"].(string), "disabled user")

	// authd goes away: what was verified keeps verifying until it
	// expires; an unknown kid is refused.
	fresh, _ := signInTokens(t, s)
	if _, err := v.Verify(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	s.close()
	if _, err := v.Verify(ctx, fresh); err != nil {
		t.Fatalf("after authd went away: %v", err)
	}
	if _, err := v.Verify(ctx, base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"rotated-later","typ":"at+jwt"}`))+"."+parts[1]+"."+parts[2]); !errors.Is(err, verify.ErrInvalid) {
		t.Fatalf("unknown kid with authd away: %v", err)
	}
}

// TestFaultVerifierAcrossReplicas: a backend following replica B's feed
// refuses, within a second, a token whose sign-in was ended on replica A.
func TestFaultVerifierAcrossReplicas(t *testing.T) {
	e := newFaultEnv(t)
	v := newBackend(t, e.a, e.b)
	access, refresh := signInTokens(t, e.a)
	if _, err := v.Verify(context.Background(), access); err != nil {
		t.Fatal(err)
	}
	revokeAt(t, e.a, refresh)
	refusedBy(t, v, access, "logout on A, feed from B")
}
