package otp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/store"
)

// deliveries is a Deliveries for tests: one business's delivery.
type deliveries struct {
	biz string
	d   Delivery
	err error
}

func (f deliveries) Delivery(_ context.Context, biz string, _ store.Mode) (Delivery, bool, error) {
	if f.err != nil {
		return Delivery{}, false, f.err
	}
	return f.d, biz == f.biz, nil
}

func TestLocaleTemplatesPick(t *testing.T) {
	tpl, err := ParseLocaleTemplates(map[string]map[string]string{
		"sms.signin": {"en": "EN {{.Code}}", "fr": "FR {{.Code}}", "fr-ca": "FR-CA {{.Code}}", "zh-Hant": "ZH-HANT {{.Code}}"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ locale, want string }{
		{"fr-CA", "FR-CA"}, {"FR-ca", "FR-CA"}, {"fr-BE", "FR"}, {"fr", "FR"}, {"zh-Hant-TW", "ZH-HANT"},
		{"de", "EN"}, {"", "EN"}, {"not a locale", "EN"},
	} {
		got := tpl.pick("sms.signin", tc.locale)
		if got == nil {
			t.Fatalf("%q: no template", tc.locale)
		}
		_, body, err := execute(got, ChannelSMS, PurposeSignIn, "123456", 5)
		if err != nil || body != tc.want+" 123456" {
			t.Errorf("%q: %q %v, want %s", tc.locale, body, err, tc.want)
		}
	}
	if tpl.pick("sms.register", "fr") != nil {
		t.Error("a key without texts picked one")
	}
	// Without en, an unmatched locale has none (the service's text applies).
	only, _ := ParseLocaleTemplates(map[string]map[string]string{"sms.signin": {"fr": "FR {{.Code}}"}})
	if only.pick("sms.signin", "de") != nil {
		t.Error("de picked fr")
	}
}

func TestParseLocaleTemplatesRefuses(t *testing.T) {
	for name, texts := range map[string]map[string]map[string]string{
		"unknown key":       {"sms.nope": {"en": "{{.Code}}"}},
		"bad locale":        {"sms.signin": {"!!": "{{.Code}}"}},
		"duplicate locale":  {"sms.signin": {"fr-CA": "{{.Code}}", "fr-ca": "{{.Code}}"}},
		"no code":           {"sms.signin": {"en": "Your code is 482913"}},
		"does not parse":    {"sms.signin": {"en": "{{.Code"}},
		"range over an int": {"sms.signin": {"en": "{{range 1000000000}}{{end}}{{.Code}}"}},
		"define":            {"sms.signin": {"en": `{{define "x"}}y{{end}}{{.Code}}`}},
		"template":          {"sms.signin": {"en": `{{template "sms.signin"}}{{.Code}}`}},
		"unknown field":     {"sms.signin": {"en": "{{.Code}}{{.Nope}}"}},
		"too long output":   {"email.signin": {"en": `{{printf "%0900000d" 1}}{{printf "%0900000d" 1}}{{.Code}}`}},
		"too long text":     {"sms.signin": {"en": strings.Repeat("x", MaxTemplateLength) + "{{.Code}}"}},
		"empty":             {"sms.signin": {"en": "  "}},
	} {
		if _, err := ParseLocaleTemplates(texts); err == nil {
			t.Errorf("%s: accepted", name)
		} else if te := (*TemplateError)(nil); !errors.As(err, &te) {
			t.Errorf("%s: %T %v, want a *TemplateError", name, err, err)
		}
	}
}

func TestIssueThroughBusinessDelivery(t *testing.T) {
	e := newEnv(t, backends()[0], testConfig())
	own := &sender.Fake{}
	tpl, err := ParseLocaleTemplates(map[string]map[string]string{"sms.signin": {"en": "Biz {{.Code}}", "fr": "Biz FR {{.Code}}"}})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.UseDeliveries(deliveries{biz: "biz-1", d: Delivery{Sender: own, Templates: tpl, Key: "biz-1/live/1",
		Carries: func(ch Channel) bool { return ch == ChannelSMS }}})
	e.svc.genCode = func(int) string { return "123456" }
	ctx := context.Background()

	r := smsRequest(testPhone)
	r.Locale = "fr-FR"
	if _, err := e.svc.Issue(ctx, r); err != nil {
		t.Fatal(err)
	}
	if m, ok := own.Last(); !ok || m.Body != "Biz FR 123456" {
		t.Fatalf("business sender got %+v", own.Messages())
	}
	if len(e.sender.Messages()) != 0 {
		t.Fatal("the service-wide sender was used")
	}
	// Email is not carried by the business's sender: the service-wide
	// sender delivers it, with the built-in text (the business has none).
	if _, err := e.svc.Issue(ctx, emailRequest(testEmail)); err != nil {
		t.Fatal(err)
	}
	if m, ok := e.sender.Last(); !ok || !strings.Contains(m.Body, "123456") {
		t.Fatalf("service-wide sender got %+v", e.sender.Messages())
	}
	// Another business: the service-wide sender.
	other := smsRequest("+447700900777")
	other.BusinessID = "biz-2"
	if _, err := e.svc.Issue(ctx, other); err != nil {
		t.Fatal(err)
	}
	if len(own.Messages()) != 1 || len(e.sender.Messages()) != 2 {
		t.Fatalf("own %d, service-wide %d", len(own.Messages()), len(e.sender.Messages()))
	}
	// An unknown destination of the business: nothing sent, same pacer.
	unknown := smsRequest("+447700900888")
	unknown.Deliver = false
	if _, err := e.svc.Issue(ctx, unknown); err != nil {
		t.Fatal(err)
	}
	if len(own.Messages()) != 1 || own.Calls() != 1 {
		t.Fatal("an unknown destination was sent a code")
	}
	if _, ok := e.svc.pacers.Get("biz-1/live/1/sms"); !ok {
		t.Fatal("no pacer for the business's delivery")
	}
	// The business's delivery cannot be told: nothing is sent, for known
	// and unknown destinations alike.
	e.svc.UseDeliveries(deliveries{err: errors.New("db down")})
	for _, deliver := range []bool{true, false} {
		r := smsRequest("+447700900999")
		r.Deliver = deliver
		if _, err := e.svc.Issue(ctx, r); err == nil {
			t.Fatalf("deliver=%v: issued without knowing the business's delivery", deliver)
		}
	}
}
