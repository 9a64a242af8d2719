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
	"strings"
	"time"
)

// SignatureHeader carries the HMAC of a webhook body.
const SignatureHeader = "X-Authd-Signature"

// webhookPayload is the body of docs/contract.md, fields in that order.
type webhookPayload struct {
	OTPID     string `json:"otp_id"`
	Channel   string `json:"channel"`
	To        string `json:"to"`
	Code      string `json:"code"`
	ExpiresAt string `json:"expires_at"`
	Purpose   string `json:"purpose"`
}

// Webhook POSTs each code as signed JSON to a URL: the customer's own SMS
// or email gateway delivers it.
//
// Body: {"otp_id","channel","to","code","expires_at" (RFC 3339),"purpose"}.
// Headers: Content-Type: application/json; X-Authd-Signature:
// sha256=<hex HMAC-SHA256 of the exact body bytes>; Idempotency-Key: the
// otp id (a retry after a lost answer may deliver twice; receivers dedupe
// on it). 2xx is success; 5xx, 429, network errors and timeouts are
// retried with exponential backoff and jitter within the context's
// deadline; any other status fails at once.
type Webhook struct {
	url     string
	safeURL string // scheme://host/path, for errors and logs
	secret  []byte
	client  *http.Client
	logger  *slog.Logger
	retry   retryPolicy
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
	}, nil
}

// Sign returns the X-Authd-Signature value for body: "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports, in constant time, whether header is the
// signature of body under secret: what a receiver checks.
func VerifySignature(secret, body []byte, header string) bool {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

// Send implements Sender.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(webhookPayload{
		OTPID:     m.OTPID,
		Channel:   m.Channel,
		To:        m.To,
		Code:      m.Code,
		ExpiresAt: m.ExpiresAt.UTC().Format(time.RFC3339),
		Purpose:   m.Purpose,
	})
	if err != nil {
		return fmt.Errorf("webhook: encoding payload: %w", err)
	}
	sig := Sign(w.secret, body)
	attempts := 0
	err = w.retry.do(ctx, func(ctx context.Context) error {
		attempts++
		return w.post(ctx, body, sig, m)
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
