package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/config"
)

const testSecret = "sender-test-system-secret-0123456789abcdef"

func testMessage(channel string) Message {
	to := "+447566224395"
	if channel == ChannelEmail {
		to = "jimmy@example.com"
	}
	return Message{
		OTPID: "abcdefghijklmnopqrstuvwx", Channel: channel, To: to, Code: "482913",
		ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Purpose: "signin",
		Subject: "Your sign-in code", Body: "Your code is 482913. It expires in 5 minutes.",
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+447566224395", "+44******4395"},
		{"jimmy@example.com", "j***@example.com"},
		{"j@example.com", "j***@example.com"},
		{"+3312345", "+*****45"},
		{"123", "***"},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Mask(tc.in); got != tc.want {
				t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	m := testMessage(ChannelSMS)
	cause := context.DeadlineExceeded
	err := Redact(errors.Join(errors.New("rejected +447566224395 with 482913"), cause), m)
	if s := err.Error(); strings.Contains(s, m.To) || strings.Contains(s, m.Code) || !strings.Contains(s, "+44******4395") {
		t.Errorf("Redact: %q", s)
	}
	if !errors.Is(err, cause) {
		t.Error("Redact lost the cause for errors.Is")
	}
	if Redact(nil, m) != nil {
		t.Error("Redact(nil) != nil")
	}
	plain := errors.New("nothing to hide")
	if Redact(plain, m) != plain {
		t.Error("Redact changed an error with nothing to hide")
	}
}

func TestNew(t *testing.T) {
	base := config.Default().OTP
	smtpCfg := config.SMTP{Host: "127.0.0.1", Port: 2525, From: "authd@example.com", TLS: "none"}
	twilioCfg := config.Twilio{AccountSID: "AC1", AuthToken: "tok", From: "+15005550006", BaseURL: "https://api.twilio.com"}
	for _, tc := range []struct {
		name    string
		mod     func(*config.OTP)
		wantErr bool
		check   func(t *testing.T, s Sender)
	}{
		{name: "log", mod: func(c *config.OTP) { c.Sender = "log" }, check: func(t *testing.T, s Sender) {
			if _, ok := s.(*Log); !ok {
				t.Errorf("got %T", s)
			}
		}},
		{name: "webhook", mod: func(c *config.OTP) { c.Sender = "webhook"; c.WebhookURL = "http://127.0.0.1:1/hook" },
			check: func(t *testing.T, s Sender) {
				if _, ok := s.(*Webhook); !ok {
					t.Errorf("got %T", s)
				}
			}},
		{name: "webhook without url", mod: func(c *config.OTP) { c.Sender = "webhook" }, wantErr: true},
		{name: "smtp alone", mod: func(c *config.OTP) { c.Sender = "smtp"; c.SMTP = smtpCfg }, check: func(t *testing.T, s Sender) {
			if _, ok := s.(*SMTP); !ok {
				t.Errorf("got %T", s)
			}
		}},
		{name: "smtp with twilio for sms", mod: func(c *config.OTP) { c.Sender = "smtp"; c.SMTP = smtpCfg; c.Twilio = twilioCfg },
			check: func(t *testing.T, s Sender) {
				bc, ok := s.(ByChannel)
				if !ok {
					t.Fatalf("got %T", s)
				}
				if _, ok := bc[ChannelSMS].(*Twilio); !ok {
					t.Errorf("sms goes to %T", bc[ChannelSMS])
				}
				if _, ok := bc[ChannelEmail].(*SMTP); !ok {
					t.Errorf("email goes to %T", bc[ChannelEmail])
				}
			}},
		{name: "twilio alone", mod: func(c *config.OTP) { c.Sender = "twilio"; c.Twilio = twilioCfg }, check: func(t *testing.T, s Sender) {
			if _, ok := s.(*Twilio); !ok {
				t.Errorf("got %T", s)
			}
		}},
		{name: "twilio with smtp for email", mod: func(c *config.OTP) { c.Sender = "twilio"; c.Twilio = twilioCfg; c.SMTP = smtpCfg },
			check: func(t *testing.T, s Sender) {
				if _, ok := s.(ByChannel); !ok {
					t.Errorf("got %T", s)
				}
			}},
		{name: "twilio without credentials", mod: func(c *config.OTP) { c.Sender = "twilio" }, wantErr: true},
		{name: "unknown", mod: func(c *config.OTP) { c.Sender = "carrier-pigeon" }, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			s, err := New(cfg, []byte("k"), nil, nil)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("New = %T, want an error", s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

func TestByChannelUnsupported(t *testing.T) {
	err := ByChannel{ChannelSMS: &Fake{}}.Send(context.Background(), testMessage(ChannelEmail))
	if !errors.Is(err, ErrUnsupportedChannel) {
		t.Fatalf("err = %v", err)
	}
}

func TestWebhookSecret(t *testing.T) {
	got, err := WebhookSecret("configured-secret", testSecret)
	if err != nil || string(got) != "configured-secret" {
		t.Fatalf("configured: %q, %v", got, err)
	}
	a, err := WebhookSecret("", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := WebhookSecret("", testSecret)
	c, _ := WebhookSecret("", testSecret+"x")
	if len(a) != 64 || !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("derived: %q %q %q", a, b, c)
	}
	if _, err := WebhookSecret("", "short"); err == nil {
		t.Error("short system secret accepted")
	}
}

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	m := testMessage(ChannelSMS)
	if err := l.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	for k, want := range map[string]string{
		"level": "INFO", "msg": DevLogMessage, "dev_otp_code": m.Code, "to": "+44******4395",
		"otp_id": m.OTPID, "channel": "sms", "purpose": "signin", "expires_at": "2030-01-02T03:04:05Z",
	} {
		if line[k] != want {
			t.Errorf("%s = %v, want %q", k, line[k], want)
		}
	}
	if strings.Contains(buf.String(), m.To) {
		t.Error("log sender wrote the full destination")
	}
}

func TestFake(t *testing.T) {
	f := &Fake{}
	ctx := context.Background()
	m := testMessage(ChannelSMS)
	if err := f.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	f.Fail(boom)
	if err := f.Send(ctx, m); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	f.Fail(nil)
	f.SetDelay(time.Hour)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := f.Send(cctx, m); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delayed send: %v", err)
	}
	if got := len(f.Messages()); got != 1 || f.Calls() != 3 {
		t.Errorf("messages %d calls %d", got, f.Calls())
	}
	if last, ok := f.Last(); !ok || last.Code != m.Code {
		t.Errorf("Last = %+v %v", last, ok)
	}
	f.Reset()
	if _, ok := f.Last(); ok || f.Calls() != 0 {
		t.Error("Reset kept state")
	}
}
