package app_test

import (
	"testing"
)

// TestContactIDsAreSafePathSegments: a back-office contact's chosen id is
// 1 to 36 ASCII letters, digits, '-' or '_'. "." and ".." (which a
// URL-normalising proxy rewrites, so the contact could never be addressed)
// and any other dotted id answer 422 with field id and create nothing.
func TestContactIDsAreSafePathSegments(t *testing.T) {
	e := newSelfService(t, nil)
	for _, id := range []string{".", "..", "a.b", "ext.123", "x/y", "thirty-seven-characters-long-id-xxxxx"} {
		code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.liveSK, map[string]any{"id": id, "first_name": "Dot"})
		if code != 422 || m["code"] != "VALIDATION_FAILED" || m["field"] != "id" {
			t.Fatalf("id %q: %d %v, want 422 on field id", id, code, m)
		}
	}
	if code, m, _ := e.keyCall(t, "GET", "/backoffice/v1/contacts/a.b", e.liveSK, nil); code != 404 {
		t.Fatalf("a refused id was stored: %d %v", code, m)
	}
	code, m, _ := e.keyCall(t, "POST", "/backoffice/v1/contacts", e.liveSK, map[string]any{"id": "Ext_1-a", "first_name": "Ok"})
	if code != 201 || m["id"] != "Ext_1-a" {
		t.Fatalf("a valid id: %d %v", code, m)
	}
	if code, m, _ := e.keyCall(t, "GET", "/backoffice/v1/contacts/Ext_1-a", e.liveSK, nil); code != 200 || m["first_name"] != "Ok" {
		t.Fatalf("get the valid id: %d %v", code, m)
	}
}
