package identity_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/store"
)

// TestContactIDs: a client-chosen contact id is 1 to 36 ASCII letters,
// digits, '-' or '_'; anything else (dot segments above all, which a
// URL-normalising proxy rewrites) is a validation error on field id.
func TestContactIDs(t *testing.T) {
	s, _ := newService(t)
	for _, tc := range []struct {
		id   string
		want string // the stored id; "" when refused
	}{
		{"ext-123", "ext-123"},
		{"A_b-9", "A_b-9"},
		{"  padded  ", "padded"},
		{strings.Repeat("x", 36), strings.Repeat("x", 36)},
		{".", ""},
		{"..", ""},
		{"a.b", ""},
		{"ext.123", ""},
		{strings.Repeat("x", 37), ""},
		{"a/b", ""},
		{"%2e%2e", ""},
		{"a b", ""},
		{"é", ""},
	} {
		t.Run(tc.id, func(t *testing.T) {
			c, err := s.BuildContact("biz", store.ModeLive, identity.ContactInput{ID: tc.id, FirstName: "X"})
			if tc.want != "" {
				if err != nil || c.ID != tc.want {
					t.Fatalf("id %q: %q, %v; want %q", tc.id, c.ID, err, tc.want)
				}
				return
			}
			var ve *identity.ValidationError
			if !errors.As(err, &ve) || ve.Field != "id" {
				t.Fatalf("id %q: %+v, %v; want a validation error on id", tc.id, c, err)
			}
		})
	}
	if c, err := s.BuildContact("biz", store.ModeLive, identity.ContactInput{FirstName: "X"}); err != nil || !identity.ValidID(c.ID) {
		t.Fatalf("generated id %q (%v) breaks the rule", c.ID, err)
	}
}
