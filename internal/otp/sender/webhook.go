package sender

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the signature of a webhook request.
const SignatureHeader = "X-Authd-Signature"

// DefaultWebhookTolerance is how far a receiver lets a signature's
// timestamp lie from its own clock by default: older requests are refused
// as replays.
const DefaultWebhookTolerance = 5 * time.Minute

// Signature verification failures (VerifyWebhookSignature).
var (
	// ErrSignatureMalformed: the header is not "t=<unix seconds>,v1=<hex>".
	ErrSignatureMalformed = errors.New("sender: malformed webhook signature header")
	// ErrSignatureMismatch: no v1 value is the HMAC of "<t>.<body>".
	ErrSignatureMismatch = errors.New("sender: webhook signature does not match")
	// ErrSignatureExpired: the signed timestamp lies further from the
	// receiver's clock than its tolerance (a replayed request, or a clock
	// badly off).
	ErrSignatureExpired = errors.New("sender: webhook signature timestamp outside the tolerance")
)

// webhookPayload is the body of docs/contract.md, fields in that order.
type webhookPayload struct {
	OTPID     string `json:"otp_id"`
	Channel   string `json:"channel"`
	To        string `json:"to"`
	Code      string `json:"code"`
	ExpiresAt string `json:"expires_at"`
	Purpose   string `json:"purpose"`
	// With WithText only: the rendered message.
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
}

// Webhook POSTs each code as signed JSON to a URL: the customer's own SMS
// or email gateway delivers it.
//
// Body: {"otp_id","channel","to","code","expires_at" (RFC 3339),"purpose"}.
// Headers: Content-Type: application/json; X-Authd-Signature:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<exact body bytes>"> (see
// Sign; each attempt is signed at its own time, and receivers refuse a t
// older than their tolerance with VerifyWebhookSignature);
// Idempotency-Key: the otp id (a retry after a lost answer may deliver
// twice, and a request replayed within the tolerance verifies: receivers
// dedupe on it). 2xx is success; 5xx, 429, network errors and timeouts are
// retried with exponential backoff and jitter within the context's
// deadline; any other status fails at once.
type Webhook struct {
	url     string
	safeURL string // scheme://host/path, for errors and logs
	secret  []byte
	client  *http.Client
	logger  *slog.Logger
	retry   retryPolicy
	now     func() time.Time // the clock that dates signatures
	text    bool             // WithText
}

var _ Sender = (*Webhook)(nil)

// NewWebhook returns a webhook sender posting to rawURL, signing with
// secret (see WebhookSecret).
func NewWebhook(rawURL string, secret []byte, client *http.Client, logger *slog.Logger) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("sender: webhook URL must be an absolute http(s) URL")
	}
	if len(secret) == 0 {
		return nil, errors.New("sender: webhook secret is empty")
	}
	client = noRedirects(client)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Webhook{
		url:     rawURL,
		safeURL: u.Scheme + "://" + u.Host + u.EscapedPath(),
		secret:  bytes.Clone(secret),
		client:  client,
		logger:  logger,
		retry:   defaultRetry,
		now:     time.Now,
	}, nil
}

// WithText makes w add the rendered message to each payload: "text" (the
// body) and, for email, "subject", after the contract's members. A
// business's own webhook gets them, so its gateway can send the
// business's texts as they are.
func (w *Webhook) WithText() *Webhook {
	w.text = true
	return w
}

// Sign returns the X-Authd-Signature value of body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with secret>".
// The timestamp is signed with the body, so a receiver that refuses old
// timestamps refuses a captured request replayed later.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(signedMAC(secret, ts, body))
}

func signedMAC(secret []byte, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyWebhookSignature is what a receiver checks: header (the
// X-Authd-Signature value) must hold a timestamp t and at least one v1
// value equal, in constant time, to the HMAC-SHA256 of "<t>.<body>" under
// secret, and t must lie within tolerance of now (DefaultWebhookTolerance
// when tolerance is not positive). Unknown keys in the header are ignored
// and several v1 values are accepted (one per secret, while a secret is
// rotated). A receiver still deduplicates on otp_id (the Idempotency-Key
// header): a request replayed within the tolerance verifies.
func VerifyWebhookSignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	var (
		ts   string
		sigs [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureMalformed
		}
		switch k {
		case "t":
			if ts != "" {
				return ErrSignatureMalformed
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return ErrSignatureMalformed
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return ErrSignatureMalformed
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 || strconv.FormatInt(sec, 10) != ts {
		return ErrSignatureMalformed
	}
	want := signedMAC(secret, ts, body)
	match := false
	for _, sig := range sigs {
		match = hmac.Equal(sig, want) || match
	}
	if !match {
		return ErrSignatureMismatch
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	return nil
}

// Send implements Sender.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	p := webhookPayload{
		OTPID:     m.OTPID,
		Channel:   m.Channel,
		To:        m.To,
		Code:      m.Code,
		ExpiresAt: m.ExpiresAt.UTC().Format(time.RFC3339),
		Purpose:   m.Purpose,
	}
	if w.text {
		p.Subject, p.Text = m.Subject, m.Body
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("webhook: encoding payload: %w", err)
	}
	attempts := 0
	err = w.retry.do(ctx, func(ctx context.Context) error {
		attempts++
		// Each attempt is signed anew: a retry after a long wait still
		// carries a fresh timestamp.
		return w.post(ctx, body, Sign(w.secret, w.now(), body), m)
	})
	if err != nil {
		return Redact(fmt.Errorf("webhook %s: %w", w.safeURL, err), m)
	}
	w.logger.LogAttrs(ctx, slog.LevelDebug, "otp webhook delivered",
		slog.String("otp_id", m.OTPID), slog.String("channel", m.Channel),
		slog.String("to", Mask(m.To)), slog.Int("attempts", attempts))
	return nil
}

func (w *Webhook) post(ctx context.Context, body []byte, sig string, m Message) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sig)
	req.Header.Set("Idempotency-Key", m.OTPID)
	req.Header.Set("User-Agent", "authd-otp-webhook")
	resp, err := w.client.Do(req)
	if err != nil {
		// *url.Error repeats the full URL (which may hold a token in its
		// query); keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return temporary(err, 0)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case retryableStatus(resp.StatusCode):
		return temporary(fmt.Errorf("receiver answered %s", resp.Status), retryAfter(resp.Header))
	default:
		return fmt.Errorf("receiver answered %s (not retried)", resp.Status)
	}
}
