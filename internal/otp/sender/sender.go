package sender

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/secretbox"
)

// Channels carried by Message.Channel.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// Message is one code to deliver. Subject and Body are the rendered texts
// (Subject only for email); providers that carry their own text (a webhook
// receiver) may ignore them.
type Message struct {
	OTPID     string
	Channel   string // ChannelSMS or ChannelEmail
	To, Code  string // E.164 phone or lower-cased email; the plaintext code
	ExpiresAt time.Time
	Purpose   string
	Subject   string
	Body      string
}

// Sender delivers codes.
type Sender interface {
	// Send delivers m, retrying transient failures as the provider
	// allows, and returns once it is delivered (nil), failed, or ctx is
	// done — never later than ctx's deadline. Errors never contain m.Code
	// nor m.To in full.
	Send(ctx context.Context, m Message) error
}

// ErrUnsupportedChannel is returned by a sender asked to deliver on a
// channel it cannot (an SMS through smtp, an email through twilio).
var ErrUnsupportedChannel = errors.New("sender: channel not supported by this sender")

// deps is what a factory may use.
type deps struct {
	cfg           config.OTP
	webhookSecret []byte
	logger        *slog.Logger
	client        *http.Client
}

// factories maps config.OTP.Sender to a constructor (dex-style registry).
var factories = map[string]func(deps) (Sender, error){
	"log": func(d deps) (Sender, error) {
		d.logger.Warn("OTP sender is 'log': codes are written to the log (development only, never use in production)")
		return NewLog(d.logger), nil
	},
	"webhook": func(d deps) (Sender, error) {
		return NewWebhook(d.cfg.WebhookURL, d.webhookSecret, d.client, d.logger)
	},
	"smtp": func(d deps) (Sender, error) {
		s, err := NewSMTP(d.cfg.SMTP, d.logger)
		if err != nil || !twilioConfigured(d.cfg.Twilio) {
			return s, err
		}
		t, err := NewTwilio(d.cfg.Twilio, d.client, d.logger)
		if err != nil {
			return nil, err
		}
		d.logger.Info("OTP sender: email through smtp, sms through twilio")
		return ByChannel{ChannelEmail: s, ChannelSMS: t}, nil
	},
	"twilio": func(d deps) (Sender, error) {
		t, err := NewTwilio(d.cfg.Twilio, d.client, d.logger)
		if err != nil || !smtpConfigured(d.cfg.SMTP) {
			return t, err
		}
		s, err := NewSMTP(d.cfg.SMTP, d.logger)
		if err != nil {
			return nil, err
		}
		d.logger.Info("OTP sender: sms through twilio, email through smtp")
		return ByChannel{ChannelSMS: t, ChannelEmail: s}, nil
	},
}

// Names lists the sender names New accepts.
func Names() []string { return slices.Sorted(maps.Keys(factories)) }

// New returns the sender named by cfg.Sender. webhookSecret keys the
// webhook signature (see WebhookSecret). A nil logger discards; a nil
// httpClient gets a client with a 30 s safety timeout (each Send is bounded
// by its context anyway).
//
// smtp only sends email and twilio only SMS: when cfg.Sender is one of
// them and the other provider is configured too (otp.smtp.host and from, or
// otp.twilio credentials), each channel goes to the provider that carries
// it; otherwise the other channel fails with ErrUnsupportedChannel.
func New(cfg config.OTP, webhookSecret []byte, logger *slog.Logger, httpClient *http.Client) (Sender, error) {
	f, ok := factories[cfg.Sender]
	if !ok {
		return nil, fmt.Errorf("sender: unknown sender %q (want one of %s)", cfg.Sender, strings.Join(Names(), ", "))
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return f(deps{cfg: cfg, webhookSecret: webhookSecret, logger: logger, client: httpClient})
}

func smtpConfigured(c config.SMTP) bool { return c.Host != "" && c.From != "" }

func twilioConfigured(c config.Twilio) bool {
	return c.AccountSID != "" && c.AuthToken != "" && (c.From != "" || c.MessagingServiceSID != "")
}

// ByChannel routes each message to the sender of its channel.
type ByChannel map[string]Sender

// Send implements Sender.
func (b ByChannel) Send(ctx context.Context, m Message) error {
	s, ok := b[m.Channel]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnsupportedChannel, m.Channel)
	}
	return s.Send(ctx, m)
}

// webhookSecretPurpose is the secretbox purpose of the derived webhook key.
const webhookSecretPurpose = "otp-webhook"

// WebhookSecret returns the key that signs webhook bodies: configured
// (otp.webhook_secret) when set, else derived from the system secret and
// hex-encoded. Either way the HMAC key is the bytes of the returned string,
// which is what `authd otp webhook-secret` prints and what a receiver
// configures.
func WebhookSecret(configured, systemSecret string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	k, err := secretbox.DeriveKey(systemSecret, webhookSecretPurpose, 32)
	if err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(k)), nil
}

// Mask hides most of a destination for logs: +44******4395,
// j***@example.com. It never returns its input unchanged (except "").
func Mask(to string) string {
	if to == "" {
		return ""
	}
	if at := strings.LastIndexByte(to, '@'); at >= 0 {
		local, domain := to[:at], to[at+1:]
		first := ""
		if local != "" {
			first = local[:1]
		}
		return first + "***@" + domain
	}
	n := len(to)
	switch {
	case n > 8:
		return to[:3] + strings.Repeat("*", n-7) + to[n-4:]
	case n > 4:
		return to[:1] + strings.Repeat("*", n-3) + to[n-2:]
	default:
		return strings.Repeat("*", n)
	}
}

// redact removes the code and the full destination of m from s.
func redact(s string, m Message) string {
	if m.To != "" {
		s = strings.ReplaceAll(s, m.To, Mask(m.To))
	}
	if m.Code != "" {
		s = strings.ReplaceAll(s, m.Code, "[code]")
	}
	return s
}

// redactedError hides m's code and destination from err's text; Unwrap
// keeps errors.Is working (context deadlines, ErrUnsupportedChannel).
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Redact returns err with m's code and destination removed from its text,
// or nil for nil.
func Redact(err error, m Message) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	r := redact(msg, m)
	if r == msg {
		return err
	}
	return &redactedError{msg: r, err: err}
}
