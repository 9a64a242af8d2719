package app_test

import (
	"net/http"
	"testing"
)

// TestEveryListPagesAlike: every list endpoint reads ?page= and ?size= with
// the one parser: good values answer 200, and a repeated, zero, oversized
// or non-numeric one answers 422 naming the field.
func TestEveryListPagesAlike(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	tok := akAdmin(t, s, "live")
	for _, path := range []string{
		"/backoffice/v1/users/me/organisations",
		"/backoffice/v1/users?organisation_id=" + s.Boot.Business.ID,
		"/backoffice/v1/organisations?parent_id=" + s.Boot.Business.ID,
		"/backoffice/v1/audit-events",
		"/backoffice/v1/api-keys",
	} {
		sep := "?"
		for _, c := range path {
			if c == '?' {
				sep = "&"
			}
		}
		if r := akDo(t, s, "GET", path+sep+"page=1&size=2", akBearer(tok), nil); r.Status != http.StatusOK {
			t.Errorf("%s page=1&size=2: %d %s", path, r.Status, r.Raw)
		}
		for _, c := range []struct{ q, field string }{
			{"page=1&page=2", "page"}, {"size=2&size=3", "size"}, {"page=0", "page"}, {"size=101", "size"}, {"page=x", "page"},
		} {
			r := akDo(t, s, "GET", path+sep+c.q, akBearer(tok), nil)
			if r.Status != http.StatusUnprocessableEntity || r.Body["code"] != "VALIDATION_FAILED" || r.Body["field"] != c.field {
				t.Errorf("%s?%s: %d %s", path, c.q, r.Status, r.Raw)
			}
		}
	}
}
