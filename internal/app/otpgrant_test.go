package app_test

import (
	"net/url"
	"testing"
)

// TestOTPGrantHonoursClientBinding: the bootstrap selfservice client is
// bound to the bootstrap business in live mode, so at /oauth2/token it
// takes only codes requested with a live key of that business. A code
// requested with a test-mode key, or with another business's key, is
// invalid_grant, issues nothing, and stays usable by its own tenant (the
// refused attempt does not count against it).
func TestOTPGrantHonoursClientBinding(t *testing.T) {
	t.Parallel()
	e := newSelfService(t, nil)
	bob := e.s.signIn(t, e.bob, userPassword)["access_token"].(string)
	code, k, _ := e.s.call(t, "POST", "/backoffice/v1/api-keys", bob,
		map[string]any{"type": "public", "name": "B app", "scopes": []string{"contacts:register", "otp:send"}})
	if code != 201 {
		t.Fatalf("business B's public key: %d %v", code, k)
	}
	bizBKey := k["key"].(string)

	// One phone contact per tenant, each registered with its own key.
	phone := map[string]string{"provider": "PHONE", "phone_number": "07566224395", "country_code": "GBR"}
	for _, key := range []string{e.live, e.test, bizBKey} {
		code, reg, _ := e.keyCall(t, "POST", "/self-service/v1/contacts/register", key, map[string]any{"first_name": "Pat", "identity": phone})
		if code != 201 {
			t.Fatalf("register: %d %v", code, reg)
		}
		id := reg["otp"].(map[string]any)["otp_id"].(string)
		if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+id+"/validate", key, map[string]string{"code": e.gw.codeFor(id)}); code != 200 {
			t.Fatalf("validate registration: %d %v", code, m)
		}
	}
	requestOTP := func(key string) (string, string) {
		t.Helper()
		code, o, _ := e.keyCall(t, "POST", "/self-service/v1/otps", key, map[string]string{"channel": "SMS", "phone_number": "07566224395", "country_code": "GBR"})
		if code != 201 {
			t.Fatalf("request otp: %d %v", code, o)
		}
		id := o["otp_id"].(string)
		return id, e.gw.codeFor(id)
	}
	grant := func(id, otp string) (int, map[string]any) {
		t.Helper()
		resp, tok := e.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"urn:authd:params:oauth:grant-type:otp"},
			"client_id": {"selfservice"}, "otp_id": {id}, "code": {otp}}, "", "")
		return resp.StatusCode, tok
	}

	for _, tc := range []struct{ name, key string }{{"test-mode key", e.test}, {"business B's key", bizBKey}} {
		t.Run(tc.name, func(t *testing.T) {
			id, otp := requestOTP(tc.key)
			// More refused grants than the code has attempts: none counts.
			for range 6 {
				if code, tok := grant(id, otp); code != 400 || tok["error"] != "invalid_grant" || tok["access_token"] != nil {
					t.Fatalf("selfservice client took a code of another tenant: %d %v", code, tok)
				}
			}
			if code, m, _ := e.keyCall(t, "POST", "/self-service/v1/otps/"+id+"/validate", tc.key, map[string]string{"code": otp}); code != 200 {
				t.Fatalf("the code's own tenant after refused grants: %d %v", code, m)
			}
		})
	}

	// A code of the client's own business and mode signs its contact in.
	id, otp := requestOTP(e.live)
	code, tok := grant(id, otp)
	if code != 200 {
		t.Fatalf("otp grant for the client's tenant: %d %v", code, tok)
	}
	if c := claimsOf(t, e.s, tok["access_token"].(string)); c.Kind != "contact" || c.Org != e.bizA || c.Mode != "live" {
		t.Fatalf("claims %+v", c)
	}
}
