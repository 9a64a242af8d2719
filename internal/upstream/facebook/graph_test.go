package facebook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/upstream/facebook"
	fbt "github.com/authd/authd/internal/upstream/facebook/facebooktest"
)

// The fake enforces appsecret_proof on /me; the client's successful
// verifications therefore prove it sends the right one.
func TestAppSecretProof(t *testing.T) {
	e := newEnv(t)
	const token = "EAAproof"
	e.graph.AddUser(token, alice)

	t.Run("fake refuses a missing or wrong proof", func(t *testing.T) {
		tests := []struct {
			name, proof, wantMsg string
			wantStatus           int
		}{
			{name: "missing", proof: "", wantStatus: 400, wantMsg: "require an appsecret_proof"},
			{name: "not hex", proof: "nope", wantStatus: 400, wantMsg: "Invalid appsecret_proof"},
			{name: "keyed by another secret", proof: proofOf("other-secret", token), wantStatus: 400, wantMsg: "Invalid appsecret_proof"},
			{name: "of another token", proof: proofOf(appSecret, "EAAsomethingelse"), wantStatus: 400, wantMsg: "Invalid appsecret_proof"},
			{name: "right", proof: proofOf(appSecret, token), wantStatus: 200},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				q := url.Values{"access_token": {token}, "fields": {"id"}}
				if tc.proof != "" {
					q.Set("appsecret_proof", tc.proof)
				}
				resp, err := http.Get(e.graph.URL() + "/" + version + "/me?" + q.Encode())
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body struct {
					ID    string `json:"id"`
					Error *struct {
						Message string `json:"message"`
						Code    int    `json:"code"`
					} `json:"error"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
				}
				if tc.wantStatus == 200 {
					if body.ID != alice.ID {
						t.Errorf("id = %q, want %q", body.ID, alice.ID)
					}
					return
				}
				if body.Error == nil || body.Error.Code != 100 || !strings.Contains(body.Error.Message, tc.wantMsg) {
					t.Errorf("error = %+v, want code 100 %q", body.Error, tc.wantMsg)
				}
			})
		}
	})

	t.Run("client sends hex HMAC-SHA256 of the token keyed by the app secret", func(t *testing.T) {
		var mu sync.Mutex
		var seen []string
		hc := &http.Client{Transport: rewriteTransport{base: http.DefaultTransport, rewrite: func(r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/me") {
				mu.Lock()
				seen = append(seen, r.URL.Query().Get("appsecret_proof"))
				mu.Unlock()
			}
		}}}
		c, err := facebook.New(e.cfg, nil, hc, e.clock.Now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.VerifyAccessToken(background(), token); err != nil {
			t.Fatal(err)
		}
		if want := proofOf(appSecret, token); len(seen) != 1 || seen[0] != want {
			t.Fatalf("proofs sent = %q, want [%q]", seen, want)
		}
	})

	t.Run("a tampered proof fails the verification", func(t *testing.T) {
		hc := &http.Client{Transport: rewriteTransport{base: http.DefaultTransport, rewrite: func(r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/me") {
				q := r.URL.Query()
				q.Set("appsecret_proof", proofOf("not-the-app-secret", token))
				r.URL.RawQuery = q.Encode()
			}
		}}}
		c, err := facebook.New(e.cfg, nil, hc, e.clock.Now, nil)
		if err != nil {
			t.Fatal(err)
		}
		before := e.graph.Calls("me")
		if _, err := c.VerifyAccessToken(background(), token); !errors.Is(err, facebook.ErrInvalidToken) {
			t.Fatalf("err = %v, want ErrInvalidToken", err)
		}
		if e.graph.Calls("me") != before+1 {
			t.Fatalf("/me was not called")
		}
	})
}

// A wrong app secret is our misconfiguration: 503 and a loud log, not a
// 401 blamed on every user, and not cached.
func TestAppCredentialsRefused(t *testing.T) {
	e := newEnv(t)
	e.graph.AddUser("EAAfine", alice)
	cfg := e.cfg
	cfg.AppSecret = "misconfigured-secret-1234"
	c := e.newClient(cfg, nil)
	for i := range 2 {
		_, err := c.VerifyAccessToken(background(), "EAAfine")
		if !errors.Is(err, facebook.ErrUnavailable) || errors.Is(err, facebook.ErrInvalidToken) {
			t.Fatalf("call %d: err = %v, want ErrUnavailable only", i, err)
		}
	}
	if got := e.graph.Calls("debug_token"); got != 2 {
		t.Errorf("debug_token calls = %d, want 2 (not cached)", got)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, "facebook.app_secret") {
		t.Errorf("no error log pointing at the app credentials:\n%s", logs)
	}
	assertNoSecrets(t, "logs", logs, cfg.AppSecret, "EAAfine")
}

func TestGraphOutages(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name      string
		mode      fbt.Mode
		refused   bool // Graph's address refuses connections
		wantCause error
		minTime   time.Duration
		maxTime   time.Duration
	}{
		{name: "5xx", mode: fbt.Down, maxTime: timeout},
		{name: "garbage 200", mode: fbt.Garbage, maxTime: timeout},
		{name: "throttled", mode: fbt.Throttled, maxTime: timeout},
		{name: "connection refused", refused: true, maxTime: timeout},
		{name: "hang", mode: fbt.Hang, wantCause: context.DeadlineExceeded, minTime: timeout, maxTime: timeout + time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *facebook.Config) { c.Timeout = timeout })
			const token = "EAAoutage"
			e.graph.AddUser(token, alice)
			e.graph.SetMode(tc.mode)
			c := e.client
			if tc.refused {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := l.Addr().String()
				l.Close()
				cfg := e.cfg
				cfg.GraphURL = "http://" + addr
				c = e.newClient(cfg, nil)
			}
			start := time.Now()
			_, err := c.VerifyAccessToken(background(), token)
			took := time.Since(start)
			if !errors.Is(err, facebook.ErrUnavailable) || errors.Is(err, facebook.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrUnavailable only", err)
			}
			if tc.wantCause != nil && !errors.Is(err, tc.wantCause) {
				t.Errorf("err = %v, want it to wrap %v", err, tc.wantCause)
			}
			if took < tc.minTime || took > tc.maxTime {
				t.Errorf("took %v, want between %v and %v", took, tc.minTime, tc.maxTime)
			}
			if !tc.refused {
				if got := e.graph.Calls("debug_token"); got != 1 {
					t.Errorf("debug_token calls = %d, want 1 (no retry)", got)
				}
			}
			for _, s := range []string{token, appSecret, "input_token", "access_token", "http://"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q mentions %q", err, s)
				}
			}
		})
	}
}

// echoGraph is a hostile Graph that quotes every credential it received
// in its error messages (Graph's "Malformed access token …" does quote
// the token).
func echoGraph(t *testing.T, meStatus int) string {
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		in := q.Get("input_token") + q.Get("access_token")
		// Whole credentials, and a token cut short as a log line might.
		all := in + " " + q.Get("access_token") + " " + q.Get("appsecret_proof") + " " + in[:len(in)*3/4]
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/debug_token") && q.Get("input_token") == "EAAappEcho":
			w.WriteHeader(400)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
				"message": "Malformed access token " + all, "type": "OAuthException", "code": 190, "fbtrace_id": all}})
		case strings.HasSuffix(r.URL.Path, "/debug_token"):
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
				"app_id": appID, "type": "USER", "is_valid": true, "expires_at": 0, "user_id": "42"}})
		default:
			w.WriteHeader(meStatus)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
				"message": "Malformed access token " + all, "type": all, "code": 190, "fbtrace_id": all}})
		}
	})
	return srv
}

func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	e := newIDEnv(t, func(c *facebook.Config) { c.Timeout = 200 * time.Millisecond })
	var tokens []string
	record := func(tok string) string { tokens = append(tokens, tok); return tok }
	var errs []error
	verify := func(c *facebook.Client, tok string) {
		_, err := c.VerifyAccessToken(background(), record(tok))
		errs = append(errs, err)
	}

	e.graph.AddUser(record("EAAleakValid0123456789"), alice)
	e.graph.AddUser(record("EAAleakRevoked0123456789"), alice, fbt.Revoked())
	e.graph.AddUser(record("EAAleakOther0123456789"), alice, fbt.OtherApp("5"))
	verify(e.client, "EAAleakValid0123456789")
	verify(e.client, "EAAleakRevoked0123456789")
	verify(e.client, "EAAleakOther0123456789")
	verify(e.client, "EAAleakGarbage0123456789")

	// Graph quoting the credentials back, on /me (4xx and 5xx) and on
	// debug_token.
	for _, status := range []int{400, 500} {
		cfg := e.cfg
		cfg.GraphURL = echoGraph(t, status)
		c := e.newClient(cfg, nil)
		verify(c, "EAAleakEcho"+http.StatusText(status)[:3]+"0123456789")
		verify(c, "EAAappEcho")
	}
	// net/http's *url.Error quotes the URL, query included.
	e.graph.SetMode(fbt.Hang)
	verify(e.client, "EAAleakHang0123456789")
	e.graph.SetMode(fbt.Up)
	cfg := e.cfg
	cfg.GraphURL = "http://127.0.0.1:1"
	verify(e.newClient(cfg, nil), "EAAleakRefused0123456789")

	// Id tokens too.
	bad := e.ll.Claims("another-app", alice, e.clock.Now())
	_, err := e.client.VerifyIDToken(background(), record(e.ll.Sign(bad)), "nonce-secret-value")
	errs = append(errs, err)

	// appSecret[:12]: the hostile Graph quotes the app token cut short.
	secrets := append([]string{appSecret, appSecret[:12], appID + "|" + appSecret, "nonce-secret-value"}, tokens...)
	for _, tok := range tokens {
		secrets = append(secrets, proofOf(appSecret, tok))
		if len(tok) >= 24 {
			secrets = append(secrets, tok[:len(tok)*3/4]) // a fragment is a leak too
		}
	}
	for i, err := range errs {
		if i > 0 && err == nil {
			t.Errorf("verification %d succeeded", i)
			continue
		}
		if err != nil {
			assertNoSecrets(t, "error", err.Error(), secrets...)
		}
	}
	logs := e.logs.String()
	for _, want := range []string{"facebook access token refused", "facebook could not verify", "facebook id token refused", "graph_message"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q: the test would prove nothing\n%s", want, logs)
		}
	}
	assertNoSecrets(t, "logs", logs, secrets...)
}

// TestGraphAnswerClassification pins how each Graph answer is read, with
// a scripted Graph.
func TestGraphAnswerClassification(t *testing.T) {
	validDebug := `{"data":{"app_id":"` + appID + `","type":"USER","is_valid":true,"expires_at":0,"user_id":"42"}}`
	validMe := `{"id":"42","first_name":"A","last_name":"B"}`
	tests := []struct {
		name        string
		debugStatus int
		debugBody   string
		meStatus    int
		meBody      string
		meHeader    map[string]string
		wantErr     error
		wantMeCalls int
	}{
		{name: "numeric ids", debugStatus: 200, wantMeCalls: 1,
			debugBody: `{"data":{"app_id":` + appID + `,"type":"USER","is_valid":true,"expires_at":0,"user_id":42}}`,
			meStatus:  200, meBody: `{"id":42}`},
		{name: "debug_token 200 without data", debugStatus: 200, debugBody: `{}`, wantErr: facebook.ErrUnavailable},
		{name: "debug_token 200 garbage", debugStatus: 200, debugBody: `<html>`, wantErr: facebook.ErrUnavailable},
		{name: "debug_token 200 with error object", debugStatus: 200, debugBody: `{"error":{"code":2,"is_transient":true}}`, wantErr: facebook.ErrUnavailable},
		{name: "debug_token throttled", debugStatus: 400, debugBody: `{"error":{"code":4,"type":"OAuthException"}}`, wantErr: facebook.ErrUnavailable},
		{name: "debug_token 503 no body", debugStatus: 503, wantErr: facebook.ErrUnavailable},
		{name: "debug_token names no user", debugStatus: 200, debugBody: `{"data":{"app_id":"` + appID + `","type":"USER","is_valid":true}}`, wantErr: facebook.ErrInvalidToken},
		{name: "/me 400 code 190", debugStatus: 200, debugBody: validDebug, meStatus: 400,
			meBody: `{"error":{"code":190,"error_subcode":460,"type":"OAuthException"}}`, wantErr: facebook.ErrInvalidToken, wantMeCalls: 1},
		{name: "/me 400 code 100 (proof)", debugStatus: 200, debugBody: validDebug, meStatus: 400,
			meBody: `{"error":{"code":100,"type":"GraphMethodException"}}`, wantErr: facebook.ErrInvalidToken, wantMeCalls: 1},
		{name: "/me 401 without body", debugStatus: 200, debugBody: validDebug, meStatus: 401, wantErr: facebook.ErrInvalidToken, wantMeCalls: 1},
		{name: "/me throttled (code 4)", debugStatus: 200, debugBody: validDebug, meStatus: 400,
			meBody: `{"error":{"code":4,"type":"OAuthException"}}`, wantErr: facebook.ErrUnavailable, wantMeCalls: 1},
		{name: "/me user throttled (code 17, 403)", debugStatus: 200, debugBody: validDebug, meStatus: 403,
			meBody: `{"error":{"code":17,"type":"OAuthException"}}`, wantErr: facebook.ErrUnavailable, wantMeCalls: 1},
		{name: "/me business use case rate limit (80001)", debugStatus: 200, debugBody: validDebug, meStatus: 400,
			meBody: `{"error":{"code":80001,"type":"OAuthException"}}`, wantErr: facebook.ErrUnavailable, wantMeCalls: 1},
		{name: "/me transient flag", debugStatus: 200, debugBody: validDebug, meStatus: 400,
			meBody: `{"error":{"code":190,"is_transient":true}}`, wantErr: facebook.ErrUnavailable, wantMeCalls: 1},
		{name: "/me 429", debugStatus: 200, debugBody: validDebug, meStatus: 429, wantErr: facebook.ErrUnavailable, wantMeCalls: 1},
		{name: "/me 500", debugStatus: 200, debugBody: validDebug, meStatus: 500, meBody: validMe, wantErr: facebook.ErrUnavailable, wantMeCalls: 1},
		{name: "/me 200 garbage", debugStatus: 200, debugBody: validDebug, meStatus: 200, meBody: `nope`, wantErr: facebook.ErrUnavailable, wantMeCalls: 1},
		{name: "/me 200 without id", debugStatus: 200, debugBody: validDebug, meStatus: 200, meBody: `{}`, wantErr: facebook.ErrUnavailable, wantMeCalls: 1},
		{name: "/me redirect is not followed", debugStatus: 200, debugBody: validDebug, meStatus: 302,
			meHeader: map[string]string{"Location": "/elsewhere"}, wantErr: facebook.ErrUnavailable, wantMeCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			meCalls, elsewhere := 0, 0
			graph := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case strings.HasSuffix(r.URL.Path, "/debug_token"):
					w.WriteHeader(tc.debugStatus)
					_, _ = w.Write([]byte(tc.debugBody))
				case strings.HasSuffix(r.URL.Path, "/me"):
					meCalls++
					for k, v := range tc.meHeader {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tc.meStatus)
					_, _ = w.Write([]byte(tc.meBody))
				default:
					elsewhere++
					_, _ = w.Write([]byte(validMe))
				}
			})
			e := newEnv(t)
			cfg := e.cfg
			cfg.GraphURL = graph
			_, err := e.newClient(cfg, nil).VerifyAccessToken(background(), "EAAscripted")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if errors.Is(err, facebook.ErrInvalidToken) && errors.Is(err, facebook.ErrUnavailable) {
				t.Fatalf("err = %v is both", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if meCalls != tc.wantMeCalls || elsewhere != 0 {
				t.Fatalf("/me calls = %d, other calls = %d; want %d, 0", meCalls, elsewhere, tc.wantMeCalls)
			}
		})
	}
}
