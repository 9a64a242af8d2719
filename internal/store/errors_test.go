package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/authd/authd/internal/store"
)

// TestUnavailable: an unreachable database and a passed deadline are
// outages; the database's own answers are not.
func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("query users: %w", store.ErrUnavailable), true},
		{fmt.Errorf("query users: %w", context.DeadlineExceeded), true},
		{store.ErrNotFound, false},
		{store.ErrConflict, false},
		{store.ErrInvalidValue, false},
		{context.Canceled, false},
		{errors.New("other"), false},
		{nil, false},
	} {
		if got := store.Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
