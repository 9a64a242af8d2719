package keys

import (
	"slices"
	"strings"
	"time"

	"github.com/authd/authd/internal/store"
)

// Key states, as listed by List.
const (
	StateNext    = "next"    // published, signs from SignsFrom
	StateActive  = "active"  // signs now
	StateRetired = "retired" // no longer signs; published until its tokens expire
	StateExpired = "expired" // no longer published; deleted at the next rotation check
)

// sortKeys returns a copy of ks in signing order: by SignsFrom, then
// CreatedAt, then KID, so that every replica orders ties the same way.
func sortKeys(ks []store.SigningKey) []store.SigningKey {
	out := slices.Clone(ks)
	slices.SortFunc(out, func(a, b store.SigningKey) int {
		if c := a.SignsFrom.Compare(b.SignsFrom); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.KID, b.KID)
	})
	return out
}

// span is when a key signs and when it stops being published; both follow
// from its successor in signing order.
type span struct {
	signsFrom      time.Time
	signsUntil     time.Time // zero while the key has no successor
	publishedUntil time.Time // zero while the key has no successor
}

// spans computes the span of every key of sorted (in signing order); grace is
// MaxTokenTTL + Leeway.
func spans(sorted []store.SigningKey, grace time.Duration) []span {
	out := make([]span, len(sorted))
	for i, k := range sorted {
		out[i].signsFrom = k.SignsFrom
		if i+1 < len(sorted) {
			out[i].signsUntil = sorted[i+1].SignsFrom
			out[i].publishedUntil = sorted[i+1].SignsFrom.Add(grace)
		}
	}
	return out
}

// state is the key's state at t.
func (s span) state(t time.Time) string {
	switch {
	case s.signsFrom.After(t):
		return StateNext
	case s.signsUntil.IsZero() || s.signsUntil.After(t):
		return StateActive
	case t.Before(s.publishedUntil):
		return StateRetired
	default:
		return StateExpired
	}
}

// expired reports whether the key is no longer published at t.
func (s span) expired(t time.Time) bool {
	return !s.publishedUntil.IsZero() && !t.Before(s.publishedUntil)
}

// activeIndex is the index in sorted of the key active at t, or -1.
func activeIndex(sorted []store.SigningKey, t time.Time) int {
	for i := len(sorted) - 1; i >= 0; i-- {
		if !sorted[i].SignsFrom.After(t) {
			return i
		}
	}
	return -1
}

// kidsIn lists the kids of sorted whose state at t is state.
func kidsIn(sorted []store.SigningKey, sp []span, t time.Time, state string) []string {
	var out []string
	for i, k := range sorted {
		if sp[i].state(t) == state {
			out = append(out, k.KID)
		}
	}
	return out
}

// rotationDue reports whether automatic rotation must add a key at t, given
// the active key's SignsFrom and whether a NEXT key exists, and from when the
// new key signs: max(t+PublishAhead, activeFrom+RotationPeriod).
func (c Config) rotationDue(activeFrom time.Time, hasNext bool, t time.Time) (time.Time, bool) {
	if c.RotationPeriod <= 0 || hasNext {
		return time.Time{}, false
	}
	if activeFrom.Add(c.RotationPeriod - c.PublishAhead).After(t) {
		return time.Time{}, false
	}
	from := t.Add(c.PublishAhead)
	if p := activeFrom.Add(c.RotationPeriod); p.After(from) {
		from = p
	}
	return from, true
}

// stamp is t as stored: UTC, without monotonic reading, truncated to the
// microsecond (PostgreSQL's precision), so what a replica computes before
// writing equals what every replica reads back.
func stamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}
