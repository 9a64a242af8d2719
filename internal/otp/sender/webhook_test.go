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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var hookSecret = []byte("webhook-test-secret")

// receiver is a webhook receiver, as a customer's SMS gateway would run: it
// checks the signature (refusing a timestamp older than the default
// tolerance) and records what it accepted.
type receiver struct {
	t        *testing.T
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	every    []http.Header    // headers of every signed call, refused or not
	refused  []error          // why signatures were refused
	refusals bool             // refusing a signature is expected (else a test error)
	now      func() time.Time // the receiver's clock (nil: time.Now)
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
	rc.mu.Lock()
	rc.every = append(rc.every, r.Header.Clone())
	rc.mu.Unlock()
	now := time.Now()
	if rc.now != nil {
		now = rc.now()
	}
	if err := VerifyWebhookSignature(hookSecret, r.Header.Get(SignatureHeader), body, now, DefaultWebhookTolerance); err != nil {
		if !rc.refusals {
			rc.t.Errorf("bad signature %q: %v", r.Header.Get(SignatureHeader), err)
		}
		rc.mu.Lock()
		rc.refused = append(rc.refused, err)
		rc.mu.Unlock()
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

func hexMAC(secret []byte, msg string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(msg))
	return hex.EncodeToString(mac.Sum(nil))
}

func TestWebhookPayloadAndSignature(t *testing.T) {
	at := func() time.Time { return time.Unix(1_900_000_000, 0) }
	rc := &receiver{now: at}
	w := newTestWebhook(t, rc)
	w.now = at
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
	// The receiver's own computation, independent of Sign: t is the
	// sender's clock, v1 the HMAC of "<t>.<body>".
	if got, want := h.Get(SignatureHeader), "t=1900000000,v1="+hexMAC(hookSecret, "1900000000."+string(body)); got != want {
		t.Errorf("signature\n got %q\nwant %q", got, want)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	if h.Get("Idempotency-Key") != m.OTPID {
		t.Errorf("idempotency key %q", h.Get("Idempotency-Key"))
	}
	if err := VerifyWebhookSignature(hookSecret, h.Get(SignatureHeader), body, at(), 0); err != nil {
		t.Errorf("the header does not verify at its own time: %v", err)
	}
	email := testMessage(ChannelEmail)
	if err := w.Send(context.Background(), email); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rc.bodies[1], []byte(`"channel":"email","to":"jimmy@example.com"`)) {
		t.Errorf("email body %s", rc.bodies[1])
	}
}

// TestWebhookRetrySignsAnew: every attempt carries the time it was made,
// so a retry long after the first attempt is not refused as a replay.
func TestWebhookRetrySignsAnew(t *testing.T) {
	base := time.Unix(1_900_000_000, 0)
	var clock atomic.Int64 // minutes past base; each signature moves it on by 3
	rc := &receiver{statuses: []int{503, 503}, now: func() time.Time { return base.Add(time.Duration(clock.Load()) * time.Minute) }}
	w := newTestWebhook(t, rc)
	w.now = func() time.Time { return base.Add(time.Duration(clock.Add(3)) * time.Minute) }
	if err := w.Send(context.Background(), testMessage(ChannelSMS)); err != nil {
		t.Fatal(err)
	}
	if len(rc.every) != 3 || len(rc.bodies) != 1 {
		t.Fatalf("%d signed calls, %d accepted; want 3 and 1", len(rc.every), len(rc.bodies))
	}
	for i, h := range rc.every {
		want := "t=" + strconv.FormatInt(base.Add(time.Duration(3*(i+1))*time.Minute).Unix(), 10) + ","
		if got := h.Get(SignatureHeader); !strings.HasPrefix(got, want) {
			t.Errorf("attempt %d signed %q, want a fresh %q", i+1, got, want)
		}
	}
	// The third attempt is 9 minutes after the first: signed at the first
	// attempt's time it would be refused.
	if err := VerifyWebhookSignature(hookSecret, rc.every[0].Get(SignatureHeader), rc.bodies[0], base.Add(9*time.Minute), 0); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("the first attempt's signature 6 minutes later: %v, want ErrSignatureExpired", err)
	}
}

// TestWebhookReplayRefused: a receiver refuses a request whose signed
// timestamp is older than its tolerance (a captured request replayed), and
// accepts one within it.
func TestWebhookReplayRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		age    time.Duration
		refuse bool
	}{
		{"signed now", 0, false},
		{"signed 4 minutes ago", 4 * time.Minute, false},
		{"signed 6 minutes ago", 6 * time.Minute, true},
		{"signed an hour ago", time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			rc := &receiver{refusals: tc.refuse, now: func() time.Time { return now }}
			w := newTestWebhook(t, rc)
			w.now = func() time.Time { return now.Add(-tc.age) }
			err := w.Send(context.Background(), testMessage(ChannelSMS))
			if !tc.refuse {
				if err != nil || len(rc.bodies) != 1 {
					t.Fatalf("err %v, %d accepted", err, len(rc.bodies))
				}
				return
			}
			if err == nil || len(rc.bodies) != 0 {
				t.Fatalf("a stale signature was accepted (err %v, %d accepted)", err, len(rc.bodies))
			}
			if len(rc.refused) != 1 || !errors.Is(rc.refused[0], ErrSignatureExpired) {
				t.Errorf("refusals %v, want one ErrSignatureExpired", rc.refused)
			}
		})
	}
}

func TestVerifyWebhookSignature(t *testing.T) {
	body := []byte(`{"otp_id":"abc","code":"123456"}`)
	now := time.Unix(1_900_000_000, 0)
	good := Sign(hookSecret, now, body)
	v1 := "v1=" + hexMAC(hookSecret, "1900000000."+string(body))
	for _, tc := range []struct {
		name      string
		secret    []byte
		header    string
		body      []byte
		at        time.Time
		tolerance time.Duration
		want      error
	}{
		{name: "valid", header: good},
		{name: "valid, reordered with an unknown key", header: "v0=abc, " + v1 + ",t=1900000000"},
		{name: "two v1, one right (secret rotation)", header: "t=1900000000,v1=" + hexMAC([]byte("old"), "1900000000."+string(body)) + "," + v1},
		{name: "4m59s old", header: good, at: now.Add(5*time.Minute - time.Second)},
		{name: "5m01s old", header: good, at: now.Add(5*time.Minute + time.Second), want: ErrSignatureExpired},
		{name: "5m01s in the future", header: good, at: now.Add(-5*time.Minute - time.Second), want: ErrSignatureExpired},
		{name: "older than a custom tolerance", header: good, at: now.Add(time.Minute + time.Second), tolerance: time.Minute, want: ErrSignatureExpired},
		{name: "wrong secret", secret: []byte("other"), header: good, want: ErrSignatureMismatch},
		{name: "body changed", header: good, body: append(bytes.Clone(body), ' '), want: ErrSignatureMismatch},
		{name: "timestamp changed", header: "t=1900000001," + v1, at: now, want: ErrSignatureMismatch},
		{name: "old body-only format", header: "sha256=" + hexMAC(hookSecret, string(body)), want: ErrSignatureMalformed},
		{name: "no timestamp", header: v1, want: ErrSignatureMalformed},
		{name: "no v1", header: "t=1900000000", want: ErrSignatureMalformed},
		{name: "two timestamps", header: "t=1900000000,t=1900000000," + v1, want: ErrSignatureMalformed},
		{name: "timestamp not decimal", header: "t=+1900000000," + v1, want: ErrSignatureMalformed},
		{name: "v1 not hex", header: "t=1900000000,v1=zz", want: ErrSignatureMalformed},
		{name: "empty", header: "", want: ErrSignatureMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret, b, at := tc.secret, tc.body, tc.at
			if secret == nil {
				secret = hookSecret
			}
			if b == nil {
				b = body
			}
			if at.IsZero() {
				at = now
			}
			if err := VerifyWebhookSignature(secret, tc.header, b, at, tc.tolerance); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
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
