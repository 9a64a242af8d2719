package oauth

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/store"
)

// tenantRecorder is the contact flows signin proves contacts with: it
// records the tenant it was asked to check the code against, and refuses
// every code as another tenant's (what selfservice answers for a code of
// another business or mode).
type tenantRecorder struct {
	called bool
	tenant *selfservice.Tenant
}

func (v *tenantRecorder) ValidateOTP(_ context.Context, t *selfservice.Tenant, _, _ string) (store.Contact, error) {
	v.called, v.tenant = true, t
	return store.Contact{}, selfservice.ErrOTPExpired
}

func (v *tenantRecorder) ResetPassword(context.Context, *selfservice.Tenant, string, string, string) (store.Contact, error) {
	return store.Contact{}, selfservice.ErrOTPExpired
}

func (v *tenantRecorder) FacebookSignIn(context.Context, selfservice.Tenant, string, string, string) (store.Contact, error) {
	return store.Contact{}, selfservice.ErrInvalidFacebookToken
}

// TestOTPGrantHonoursClientBinding: a client bound to a business checks
// the code against that business and the client's mode (live by
// default), so a code of another tenant is invalid_grant; an unbound
// client checks the code against nothing but itself.
func TestOTPGrantHonoursClientBinding(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client store.Client
		want   *selfservice.Tenant
	}{
		{"bound, live", store.Client{ID: "app", OrganisationID: "biz", Mode: store.ModeLive}, &selfservice.Tenant{BusinessID: "biz", Mode: store.ModeLive}},
		{"bound, test", store.Client{ID: "app", OrganisationID: "biz", Mode: store.ModeTest}, &selfservice.Tenant{BusinessID: "biz", Mode: store.ModeTest}},
		{"bound, no mode: live", store.Client{ID: "app", OrganisationID: "biz"}, &selfservice.Tenant{BusinessID: "biz", Mode: store.ModeLive}},
		{"unbound", store.Client{ID: "app"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.client.GrantTypes = []string{GrantOTP}
			v := &tenantRecorder{}
			s := signin.New(nil, nil, nil, nil, signin.Config{})
			s.UseContacts(v)
			g := otpGrant(s)
			r := fosite.NewAccessRequest(NewSession())
			r.GrantTypes = fosite.Arguments{GrantOTP}
			r.Client = &Client{Client: tc.client}
			r.Form = url.Values{"otp_id": {"abcdefghijklmnopqrstuvwx"}, "code": {"123456"}}
			err := g.HandleTokenEndpointRequest(context.Background(), r)
			if !errors.Is(err, fosite.ErrInvalidGrant) {
				t.Fatalf("err %v, want invalid_grant", err)
			}
			if !v.called {
				t.Fatal("the code was not checked")
			}
			switch {
			case tc.want == nil && v.tenant != nil:
				t.Fatalf("unbound client checked against %+v", *v.tenant)
			case tc.want != nil && (v.tenant == nil || *v.tenant != *tc.want):
				t.Fatalf("checked against %+v, want %+v", v.tenant, *tc.want)
			}
		})
	}
}
