package app_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestServiceOwnerInTheToken: a service-owner user's access tokens say so
// (service_owner: true), also after a switch and a refresh; introspection
// and forward-auth pass it on; other users' tokens carry no such claim.
func TestServiceOwnerInTheToken(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	s := n.s
	owner := s.signIn(t, s.Boot.Admin.Email, s.Boot.Admin.Password) // member of the service owner
	code, sw, _ := s.call(t, "POST", "/backoffice/v1/organisations/"+n.bizA+"/switch", owner["access_token"].(string), nil)
	if code != 200 {
		t.Fatalf("switch: %d %v", code, sw)
	}
	_, rf := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"backoffice"},
		"refresh_token": {sw["refresh_token"].(string)}}, "", "")
	for name, tok := range map[string]string{"sign-in": owner["access_token"].(string), "switch": sw["access_token"].(string),
		"refresh": rf["access_token"].(string)} {
		c := claimsOf(t, s, tok)
		if !c.ServiceOwner {
			t.Errorf("%s: service-owner user's token without service_owner", name)
		}
		if in := s.introspect(t, tok, ""); in["service_owner"] != true {
			t.Errorf("%s: introspection %v", name, in)
		}
		if r := akDo(t, s, "GET", "/forward-auth", akBearer(tok), nil); r.Status != http.StatusOK || r.Header.Get("X-Authd-Service-Owner") != "true" {
			t.Errorf("%s: forward-auth %d %v", name, r.Status, r.Header)
		}
	}
	alice := s.signIn(t, n.alice, userPassword)
	if c := claimsOf(t, s, alice["access_token"].(string)); c.ServiceOwner {
		t.Error("a business admin's token says service_owner")
	}
	if r := akDo(t, s, "GET", "/forward-auth", akBearer(alice["access_token"].(string)), nil); r.Header.Get("X-Authd-Service-Owner") == "true" {
		t.Error("forward-auth says a business admin is a service owner")
	}
}
