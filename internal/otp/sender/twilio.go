package sender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/authd/authd/internal/config"
)

// TwilioError is Twilio's error answer (status, Twilio error code such as
// 21211 "invalid To number", message, more_info), with the destination
// and code removed from the message.
type TwilioError struct {
	Status   int    `json:"status"`
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
}

func (e *TwilioError) Error() string {
	s := fmt.Sprintf("twilio: HTTP %d", e.Status)
	if e.Code != 0 {
		s += fmt.Sprintf(", error %d", e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.MoreInfo != "" {
		s += " (" + e.MoreInfo + ")"
	}
	return s
}

// Twilio sends SMS through Twilio's Messages API:
// POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json with the
// form To, From (or MessagingServiceSid) and Body, HTTP basic auth
// AccountSID:AuthToken. 2xx is success; 429, 5xx and network errors are
// retried like the webhook's, within the context's deadline.
type Twilio struct {
	endpoint string
	cfg      config.Twilio
	client   *http.Client
	logger   *slog.Logger
	retry    retryPolicy
}

var _ Sender = (*Twilio)(nil)

// NewTwilio returns the Twilio sender.
func NewTwilio(cfg config.Twilio, client *http.Client, logger *slog.Logger) (*Twilio, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, errors.New("sender: twilio account_sid and auth_token are required")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		return nil, errors.New("sender: twilio from or messaging_service_sid is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = "https://api.twilio.com"
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("sender: twilio base_url must be an absolute http(s) URL")
	}
	client = noRedirects(client)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Twilio{
		endpoint: strings.TrimRight(base, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json",
		cfg:      cfg,
		client:   client,
		logger:   logger,
		retry:    defaultRetry,
	}, nil
}

// Send implements Sender; only ChannelSMS is supported.
func (t *Twilio) Send(ctx context.Context, m Message) error {
	if m.Channel != ChannelSMS {
		return fmt.Errorf("twilio: %w: %q", ErrUnsupportedChannel, m.Channel)
	}
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if t.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", t.cfg.MessagingServiceSID)
	} else {
		form.Set("From", t.cfg.From)
	}
	body := form.Encode()
	var sid string
	err := t.retry.do(ctx, func(ctx context.Context) error {
		var err error
		sid, err = t.post(ctx, body, m)
		return err
	})
	if err != nil {
		return Redact(err, m)
	}
	t.logger.LogAttrs(ctx, slog.LevelDebug, "otp sms accepted by twilio",
		slog.String("otp_id", m.OTPID), slog.String("to", Mask(m.To)), slog.String("twilio_sid", sid))
	return nil
}

func (t *Twilio) post(ctx context.Context, body string, m Message) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("twilio: building request: %w", err)
	}
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", temporary(fmt.Errorf("twilio: %w", err), 0)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var ok struct {
			SID string `json:"sid"`
		}
		_ = json.Unmarshal(raw, &ok)
		return ok.SID, nil
	}
	te := &TwilioError{}
	if json.Unmarshal(raw, te) != nil {
		te = &TwilioError{}
	}
	te.Status = resp.StatusCode
	te.Message = redact(te.Message, m)
	if retryableStatus(resp.StatusCode) {
		return "", temporary(te, retryAfter(resp.Header))
	}
	return "", te
}
