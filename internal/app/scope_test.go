package app_test

import (
	"testing"
)

// TestSwitchedTokenStaysInItsOrganisation: the bootstrap admin (owner of
// the service owner) switches into merchant M of the bootstrap business.
// That token reads M and what lies below it only: every back-office read
// naming the business or the service owner answers 403
// FORBIDDEN_ORGANISATION, though the admin holds rights there. Switching
// back up (their own membership allows it) reaches them again.
func TestSwitchedTokenStaysInItsOrganisation(t *testing.T) {
	t.Parallel()
	n := newNetwork(t, nil)
	code, sw, _ := n.s.call(t, "POST", "/backoffice/v1/organisations/"+n.merchM+"/switch", n.adminToken, nil)
	if code != 200 || sw["current_organisation"].(map[string]any)["id"] != n.merchM {
		t.Fatalf("switch into M: %d %v", code, sw)
	}
	inM := sw["access_token"].(string)

	above := []string{n.bizA, n.so}
	reads := func(org string) []string {
		return []string{
			"/backoffice/v1/users?organisation_id=" + org,
			"/backoffice/v1/organisations?parent_id=" + org,
			"/backoffice/v1/organisations/" + org,
		}
	}
	for _, org := range append(above, n.bizB) {
		for _, path := range reads(org) {
			if code, m, _ := n.s.call(t, "GET", path, inM, nil); code != 403 || m["code"] != "FORBIDDEN_ORGANISATION" {
				t.Errorf("token switched into M: GET %s: %d %v, want 403 FORBIDDEN_ORGANISATION", path, code, m)
			}
		}
	}
	for _, path := range reads(n.merchM) {
		if code, m, _ := n.s.call(t, "GET", path, inM, nil); code != 200 {
			t.Errorf("token switched into M: GET %s: %d %v, want 200", path, code, m)
		}
	}
	// Reads without an organisation id are the token's organisation's.
	code, users, _ := n.s.call(t, "GET", "/backoffice/v1/users", inM, nil)
	if code != 200 || users["organisation_id"] != n.merchM || len(users["users"].([]any)) != 1 {
		t.Fatalf("users of the token's organisation: %d %v", code, users)
	}
	code, evs, _ := n.s.call(t, "GET", "/backoffice/v1/audit-events", inM, nil)
	if code != 200 {
		t.Fatalf("audit events: %d %v", code, evs)
	}
	for _, e := range evs["events"].([]any) {
		if org := e.(map[string]any)["organisation_id"]; org != n.merchM {
			t.Errorf("a token switched into M read an audit event of %v", org)
		}
	}
	code, keys, _ := n.s.call(t, "GET", "/backoffice/v1/api-keys", inM, nil)
	if code != 200 || len(keys["api_keys"].([]any)) != 0 {
		t.Fatalf("api keys of M (none; the business's keys are above it): %d %v", code, keys)
	}
	// Writes above M are refused alike.
	if code, m, _ := n.s.call(t, "POST", "/backoffice/v1/users/"+n.miaID+"/memberships", inM,
		map[string]string{"organisation_id": n.bizA, "role": "member"}); code != 403 || m["code"] != "FORBIDDEN_ORGANISATION" {
		t.Fatalf("token switched into M grants a membership of A: %d %v", code, m)
	}

	// Switching back to the business, or to the service owner, works and
	// reaches them again.
	for _, org := range above {
		code, back, _ := n.s.call(t, "POST", "/backoffice/v1/organisations/"+org+"/switch", inM, nil)
		if code != 200 || back["current_organisation"].(map[string]any)["id"] != org {
			t.Fatalf("switch back to %s: %d %v", org, code, back)
		}
		tok := back["access_token"].(string)
		for _, path := range reads(org) {
			if code, m, _ := n.s.call(t, "GET", path, tok, nil); code != 200 {
				t.Errorf("after switching back: GET %s: %d %v", path, code, m)
			}
		}
	}
}
