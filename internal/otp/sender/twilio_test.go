package sender

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/internal/config"
)

const (
	twSID   = "AC0123456789abcdef0123456789abcdef"
	twToken = "twilio-auth-token-never-logged"
)

// fakeTwilio behaves like Twilio's Messages API for one account.
type fakeTwilio struct {
	t        *testing.T
	calls    atomic.Int32
	statuses []int // answers before success
	invalid  bool  // answer 400 / 21211
	mu       sync.Mutex
	forms    []map[string]string
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1)) - 1
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+twSID+"/Messages.json" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code":20404,"message":"The requested resource was not found","status":404}`))
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != twSID || p != twToken {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`))
		return
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if n < len(f.statuses) {
		w.WriteHeader(f.statuses[n])
		_, _ = w.Write([]byte(`{"code":20500,"message":"Internal Server Error","status":500}`))
		return
	}
	if f.invalid {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code":21211,"message":"The 'To' number ` + r.PostForm.Get("To") +
			` is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`))
		return
	}
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	f.mu.Lock()
	f.forms = append(f.forms, form)
	f.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","to":"` + form["To"] + `"}`))
}

func newTestTwilio(t *testing.T, f *fakeTwilio, mod func(*config.Twilio)) *Twilio {
	t.Helper()
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := config.Twilio{AccountSID: twSID, AuthToken: twToken, From: "+15005550006", BaseURL: srv.URL + "/"}
	if mod != nil {
		mod(&cfg)
	}
	tw, err := NewTwilio(cfg, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tw.retry.base, tw.retry.max = 20*time.Millisecond, 100*time.Millisecond
	return tw
}

func TestTwilioSends(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mod      func(*config.Twilio)
		wantForm map[string]string
	}{
		{name: "from", wantForm: map[string]string{"To": "+447566224395", "From": "+15005550006",
			"Body": "Your code is 482913. It expires in 5 minutes."}},
		{name: "messaging service", mod: func(c *config.Twilio) { c.MessagingServiceSID = "MG123" },
			wantForm: map[string]string{"To": "+447566224395", "MessagingServiceSid": "MG123",
				"Body": "Your code is 482913. It expires in 5 minutes."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTwilio{}
			tw := newTestTwilio(t, f, tc.mod)
			if err := tw.Send(context.Background(), testMessage(ChannelSMS)); err != nil {
				t.Fatal(err)
			}
			if len(f.forms) != 1 {
				t.Fatalf("%d messages", len(f.forms))
			}
			got := f.forms[0]
			if len(got) != len(tc.wantForm) {
				t.Errorf("form %v, want %v", got, tc.wantForm)
			}
			for k, v := range tc.wantForm {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestTwilioErrors(t *testing.T) {
	m := testMessage(ChannelSMS)
	t.Run("invalid number surfaces Twilio's error", func(t *testing.T) {
		f := &fakeTwilio{invalid: true}
		err := newTestTwilio(t, f, nil).Send(context.Background(), m)
		var te *TwilioError
		if !errors.As(err, &te) {
			t.Fatalf("err = %v, want a *TwilioError", err)
		}
		if te.Status != 400 || te.Code != 21211 || !strings.Contains(te.MoreInfo, "21211") {
			t.Errorf("TwilioError %+v", te)
		}
		if f.calls.Load() != 1 {
			t.Errorf("a 400 was retried (%d calls)", f.calls.Load())
		}
		for _, s := range []string{err.Error(), te.Message} {
			if strings.Contains(s, m.To) || strings.Contains(s, twToken) || strings.Contains(s, m.Code) {
				t.Errorf("error leaks destination, token or code: %q", s)
			}
			if !strings.Contains(s, "+44******4395") {
				t.Errorf("error lost the masked destination: %q", s)
			}
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		f := &fakeTwilio{}
		tw := newTestTwilio(t, f, func(c *config.Twilio) { c.AuthToken = "wrong-token" })
		err := tw.Send(context.Background(), m)
		var te *TwilioError
		if !errors.As(err, &te) || te.Status != 401 || te.Code != 20003 || strings.Contains(err.Error(), "wrong-token") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("5xx and 429 retried", func(t *testing.T) {
		f := &fakeTwilio{statuses: []int{503, 429, 500}}
		if err := newTestTwilio(t, f, nil).Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if f.calls.Load() != 4 || len(f.forms) != 1 {
			t.Errorf("calls %d, messages %d", f.calls.Load(), len(f.forms))
		}
	})
	t.Run("email unsupported", func(t *testing.T) {
		f := &fakeTwilio{}
		err := newTestTwilio(t, f, nil).Send(context.Background(), testMessage(ChannelEmail))
		if !errors.Is(err, ErrUnsupportedChannel) || f.calls.Load() != 0 {
			t.Errorf("err = %v, calls %d", err, f.calls.Load())
		}
	})
}

func TestNewTwilioValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  config.Twilio
	}{
		{"no sid", config.Twilio{AuthToken: "t", From: "+1"}},
		{"no token", config.Twilio{AccountSID: "AC", From: "+1"}},
		{"no from", config.Twilio{AccountSID: "AC", AuthToken: "t"}},
		{"bad base url", config.Twilio{AccountSID: "AC", AuthToken: "t", From: "+1", BaseURL: "api.twilio.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewTwilio(tc.cfg, nil, nil); err == nil {
				t.Error("accepted")
			}
		})
	}
}
