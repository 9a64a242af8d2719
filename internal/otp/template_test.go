package otp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/otp/sender"
)

func TestTemplates(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ttl         time.Duration
		overrides   map[string]string
		r           Request
		wantSubject string
		wantBody    string // exact, or a prefix when it ends in "…"
	}{
		{name: "built-in sms signin", r: smsRequest(testPhone),
			wantBody: "Your code is 123456. It expires in 5 minutes."},
		{name: "built-in sms one minute", ttl: time.Minute, r: smsRequest(testPhone),
			wantBody: "Your code is 123456. It expires in 1 minute."},
		{name: "built-in sms register", r: func() Request { r := smsRequest(testPhone); r.Purpose = PurposeRegister; return r }(),
			wantBody: "Your verification code is 123456. It expires in 5 minutes."},
		{name: "built-in email register", r: emailRequest(testEmail), wantSubject: "Confirm your email address",
			wantBody: "Your verification code is 123456.\n\nIt expires in 5 minutes.…"},
		{name: "built-in email add_credentials", r: func() Request { r := emailRequest(testEmail); r.Purpose = PurposeAddCredentials; return r }(),
			wantSubject: "Add a sign-in method", wantBody: "Your code to add a sign-in method is 123456.…"},
		{name: "sms override", overrides: map[string]string{"sms.signin": "ACME: {{.Code}} (valid {{.Minutes}} min)"},
			r: smsRequest(testPhone), wantBody: "ACME: 123456 (valid 5 min)"},
		{name: "email override: first line is the subject",
			overrides: map[string]string{"email.register": "ACME code {{.Code}}\nHello,\n\nuse {{.Code}} within {{.Minutes}} minutes.\n"},
			r:         emailRequest(testEmail), wantSubject: "ACME code 123456", wantBody: "Hello,\n\nuse 123456 within 5 minutes.\n"},
		{name: "override of another purpose leaves this one", overrides: map[string]string{"sms.register": "R {{.Code}}"},
			r: smsRequest(testPhone), wantBody: "Your code is 123456. It expires in 5 minutes."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Templates = tc.overrides
			if tc.ttl != 0 {
				cfg.TTL = tc.ttl
			}
			e := newEnv(t, backends()[0], cfg)
			e.svc.genCode = func(int) string { return "123456" }
			if _, err := e.svc.Issue(context.Background(), tc.r); err != nil {
				t.Fatal(err)
			}
			m, _ := e.sender.Last()
			if m.Subject != tc.wantSubject {
				t.Errorf("subject %q, want %q", m.Subject, tc.wantSubject)
			}
			if prefix, ok := strings.CutSuffix(tc.wantBody, "…"); ok {
				if !strings.HasPrefix(m.Body, prefix) {
					t.Errorf("body %q, want prefix %q", m.Body, prefix)
				}
			} else if m.Body != tc.wantBody {
				t.Errorf("body %q, want %q", m.Body, tc.wantBody)
			}
		})
	}
}

func TestTemplateErrorsFailNew(t *testing.T) {
	for name, tpl := range map[string]map[string]string{
		"syntax":        {"sms.signin": "{{.Code"},
		"unknown field": {"sms.signin": "{{.Code}} {{.Nope}}"},
		"no code":       {"email.signin": "Subject\nno code here"},
		"bad key":       {"signin": "{{.Code}}"},
		"bad channel":   {"push.signin": "{{.Code}}"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Templates = tpl
			if _, err := New(backends()[0].open(t, newClock()), &sender.Fake{}, testSecret, cfg, nil, nil); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}
