package facebooktest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/authd/authd/internal/upstream/facebook"
	"github.com/authd/authd/internal/upstream/facebook/facebooktest"
)

// TestServerAnswersLikeGraph pins the fake's answers that clients rely on.
func TestServerAnswersLikeGraph(t *testing.T) {
	s := facebooktest.NewServer(t, "111", "secret")
	s.SetVersion("v21.0")
	s.AddUser("EAAgood", facebook.Profile{ID: "42", FirstName: "A"})
	s.AddUser("EAArevoked", facebook.Profile{ID: "43"}, facebooktest.Revoked())
	s.AddUser("EAAexpired", facebook.Profile{ID: "44"}, facebooktest.Expired())
	app := "111|secret"
	tests := []struct {
		name        string
		path        string
		query       url.Values
		wantStatus  int
		wantCode    int // top-level error code, 0: none
		wantValid   bool
		wantSubcode int // data.error.subcode of debug_token
	}{
		{name: "debug_token valid", path: "/v21.0/debug_token", query: url.Values{"input_token": {"EAAgood"}, "access_token": {app}},
			wantStatus: 200, wantValid: true},
		{name: "debug_token revoked", path: "/v21.0/debug_token", query: url.Values{"input_token": {"EAArevoked"}, "access_token": {app}},
			wantStatus: 200, wantSubcode: 458},
		{name: "debug_token expired", path: "/v21.0/debug_token", query: url.Values{"input_token": {"EAAexpired"}, "access_token": {app}},
			wantStatus: 200, wantSubcode: 463},
		{name: "debug_token unknown input", path: "/v21.0/debug_token", query: url.Values{"input_token": {"nope"}, "access_token": {app}},
			wantStatus: 200},
		{name: "debug_token without app token", path: "/v21.0/debug_token", query: url.Values{"input_token": {"EAAgood"}},
			wantStatus: 400, wantCode: 100},
		{name: "debug_token with a wrong app secret", path: "/v21.0/debug_token", query: url.Values{"input_token": {"EAAgood"}, "access_token": {"111|wrong"}},
			wantStatus: 400, wantCode: 190},
		{name: "debug_token with a user token as app token", path: "/v21.0/debug_token", query: url.Values{"input_token": {"EAAgood"}, "access_token": {"EAAgood"}},
			wantStatus: 400, wantCode: 190},
		{name: "wrong version", path: "/v2.0/debug_token", query: url.Values{"input_token": {"EAAgood"}, "access_token": {app}},
			wantStatus: 400, wantCode: 2500},
		{name: "/me without proof", path: "/v21.0/me", query: url.Values{"access_token": {"EAAgood"}},
			wantStatus: 400, wantCode: 100},
		{name: "/me revoked", path: "/v21.0/me", query: url.Values{"access_token": {"EAArevoked"}, "appsecret_proof": {s.AppSecretProof("EAArevoked")}},
			wantStatus: 400, wantCode: 190},
		{name: "/me valid", path: "/v21.0/me", query: url.Values{"access_token": {"EAAgood"}, "appsecret_proof": {s.AppSecretProof("EAAgood")}},
			wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(s.URL() + tc.path + "?" + tc.query.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error *struct {
					Code int `json:"code"`
				} `json:"error"`
				Data *struct {
					IsValid bool `json:"is_valid"`
					Error   *struct {
						Subcode int `json:"subcode"`
					} `json:"error"`
				} `json:"data"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			gotCode := 0
			if body.Error != nil {
				gotCode = body.Error.Code
			}
			if gotCode != tc.wantCode {
				t.Fatalf("error code = %d, want %d", gotCode, tc.wantCode)
			}
			if body.Data != nil {
				gotSub := 0
				if body.Data.Error != nil {
					gotSub = body.Data.Error.Subcode
				}
				if body.Data.IsValid != tc.wantValid || gotSub != tc.wantSubcode {
					t.Fatalf("data: is_valid %v subcode %d, want %v %d", body.Data.IsValid, gotSub, tc.wantValid, tc.wantSubcode)
				}
			}
		})
	}
	if got := s.Calls("/debug_token"); got != 8 { // the wrong-version call counts too
		t.Errorf(`Calls("/debug_token") = %d, want 8`, got)
	}
	if got := s.Calls("me"); got != 3 {
		t.Errorf(`Calls("me") = %d, want 3`, got)
	}
}
