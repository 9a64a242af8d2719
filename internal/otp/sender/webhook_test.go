package sender

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var hookSecret = []byte("webhook-test-secret")

// receiver is a webhook receiver, as a customer's SMS gateway would run: it
// checks the signature and records what it accepted.
type receiver struct {
	t        *testing.T
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	calls    atomic.Int32
	statuses []int         // answer for call i (then 200)
	hang     time.Duration // wait this long before answering
	drop     int           // drop the connection on the first n calls
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(rc.calls.Add(1)) - 1
	if n < rc.drop {
		hj, ok := w.(http.Hijacker)
		if !ok {
			rc.t.Error("cannot hijack")
			return
		}
		conn, _, _ := hj.Hijack()
		conn.Close()
		return
	}
	body, _ := io.ReadAll(r.Body) // first: the server notices a gone client only after the body
	if rc.hang > 0 {
		select {
		case <-time.After(rc.hang):
		case <-r.Context().Done():
			return
		}
	}
	if !VerifySignature(hookSecret, body, r.Header.Get(SignatureHeader)) {
		rc.t.Errorf("bad signature %q", r.Header.Get(SignatureHeader))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	status := http.StatusOK
	if n < len(rc.statuses) {
		status = rc.statuses[n]
	}
	if status == http.StatusOK {
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, body)
		rc.headers = append(rc.headers, r.Header.Clone())
		rc.mu.Unlock()
	}
	if status >= 300 && status < 400 {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"echo":"` + strings.ReplaceAll(string(body), `"`, `'`) + `"}`))
}

func newTestWebhook(t *testing.T, rc *receiver) *Webhook {
	t.Helper()
	rc.t = t
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	w, err := NewWebhook(srv.URL+"/otp?token=s3cr3t", hookSecret, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.retry.base = 20 * time.Millisecond
	w.retry.max = 100 * time.Millisecond
	return w
}

func TestWebhookPayloadAndSignature(t *testing.T) {
	rc := &receiver{}
	w := newTestWebhook(t, rc)
	m := testMessage(ChannelSMS)
	if err := w.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if len(rc.bodies) != 1 {
		t.Fatalf("%d deliveries", len(rc.bodies))
	}
	body, h := rc.bodies[0], rc.headers[0]
	want := `{"otp_id":"abcdefghijklmnopqrstuvwx","channel":"sms","to":"+447566224395","code":"482913",` +
		`"expires_at":"2030-01-02T03:04:05Z","purpose":"signin"}`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil || len(fields) != 6 {
		t.Errorf("fields %v (%v)", fields, err)
	}
	// The receiver's own computation, independent of Sign.
	mac := hmac.New(sha256.New, hookSecret)
	mac.Write(body)
	if got := h.Get(SignatureHeader); got != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q", got)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	if h.Get("Idempotency-Key") != m.OTPID {
		t.Errorf("idempotency key %q", h.Get("Idempotency-Key"))
	}
	if VerifySignature([]byte("other"), body, h.Get(SignatureHeader)) ||
		VerifySignature(hookSecret, append(bytes.Clone(body), ' '), h.Get(SignatureHeader)) ||
		VerifySignature(hookSecret, body, strings.TrimPrefix(h.Get(SignatureHeader), "sha256=")) {
		t.Error("VerifySignature accepted a wrong key, body or header")
	}
	email := testMessage(ChannelEmail)
	if err := w.Send(context.Background(), email); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rc.bodies[1], []byte(`"channel":"email","to":"jimmy@example.com"`)) {
		t.Errorf("email body %s", rc.bodies[1])
	}
}

func TestWebhookRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rc         *receiver
		wantCalls  int32
		wantErr    bool
		wantStatus string
	}{
		{name: "503 twice then 200", rc: &receiver{statuses: []int{503, 503}}, wantCalls: 3},
		{name: "429 then 200", rc: &receiver{statuses: []int{429}}, wantCalls: 2},
		{name: "500 then 200", rc: &receiver{statuses: []int{500}}, wantCalls: 2},
		{name: "connection dropped then 200", rc: &receiver{drop: 1}, wantCalls: 2},
		{name: "400 not retried", rc: &receiver{statuses: []int{400}}, wantCalls: 1, wantErr: true, wantStatus: "400"},
		{name: "401 not retried", rc: &receiver{statuses: []int{401}}, wantCalls: 1, wantErr: true, wantStatus: "401"},
		{name: "404 not retried", rc: &receiver{statuses: []int{404}}, wantCalls: 1, wantErr: true, wantStatus: "404"},
		{name: "redirect not followed", rc: &receiver{statuses: []int{307}}, wantCalls: 1, wantErr: true, wantStatus: "307"},
		{name: "always 503 gives up", rc: &receiver{statuses: []int{503, 503, 503, 503, 503, 503, 503}}, wantCalls: 5,
			wantErr: true, wantStatus: "503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTestWebhook(t, tc.rc)
			m := testMessage(ChannelSMS)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := w.Send(ctx, m)
			if got := tc.rc.calls.Load(); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr {
				if len(tc.rc.bodies) != 1 {
					t.Errorf("%d deliveries, want 1", len(tc.rc.bodies))
				}
				return
			}
			s := err.Error()
			if !strings.Contains(s, tc.wantStatus) {
				t.Errorf("error %q does not name status %s", s, tc.wantStatus)
			}
			if strings.Contains(s, m.Code) || strings.Contains(s, m.To) || strings.Contains(s, "s3cr3t") {
				t.Errorf("error leaks code, destination or URL query: %q", s)
			}
		})
	}
}

func TestWebhookBoundedByDeadline(t *testing.T) {
	for _, tc := range []struct {
		name string
		rc   *receiver
	}{
		{name: "receiver hangs", rc: &receiver{hang: 10 * time.Second}},
		{name: "receiver always 503", rc: &receiver{statuses: []int{503, 503, 503, 503, 503, 503, 503, 503, 503}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTestWebhook(t, tc.rc)
			w.retry.base, w.retry.max, w.retry.maxAttempts = 100*time.Millisecond, time.Second, 100
			w.retry.minAttempt = 50 * time.Millisecond
			const budget = 400 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), budget)
			defer cancel()
			start := time.Now()
			err := w.Send(ctx, testMessage(ChannelSMS))
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if elapsed > budget+150*time.Millisecond {
				t.Errorf("Send took %s, budget %s", elapsed, budget)
			}
			if tc.rc.hang > 0 && tc.rc.calls.Load() < 2 {
				t.Errorf("a hung attempt was not retried within the deadline (calls %d)", tc.rc.calls.Load())
			}
		})
	}
}

func TestWebhookRetryAfterBeyondDeadline(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	w, err := NewWebhook(srv.URL, hookSecret, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := w.Send(ctx, testMessage(ChannelSMS)); err == nil {
		t.Fatal("Send succeeded")
	}
	if time.Since(start) > 500*time.Millisecond || calls.Load() != 1 {
		t.Errorf("waited %s, %d calls: a Retry-After past the deadline should end at once", time.Since(start), calls.Load())
	}
}

func TestNewWebhookValidation(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		secret    []byte
	}{
		{"relative url", "/hook", hookSecret},
		{"ftp url", "ftp://example.com/x", hookSecret},
		{"no secret", "https://example.com/x", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewWebhook(tc.url, tc.secret, nil, nil); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestRetryPolicyWait(t *testing.T) {
	p := retryPolicy{base: 100 * time.Millisecond, max: time.Second}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			if d := p.wait(n); d < want/2 || d > want {
				t.Fatalf("wait(%d) = %s, want in [%s, %s]", n, d, want/2, want)
			}
		}
	}
	if d := p.wait(1000); d > time.Second {
		t.Errorf("wait(1000) = %s", d)
	}
}

func TestRetryNonTemporaryStops(t *testing.T) {
	calls := 0
	perm := errors.New("permanent")
	err := defaultRetry.do(context.Background(), func(context.Context) error { calls++; return perm })
	if !errors.Is(err, perm) || calls != 1 {
		t.Errorf("err %v calls %d", err, calls)
	}
}
