// Package clock is authd's one notion of time: services take a Clock (a
// function returning now), the composition root passes the same one to
// every service, and tests pass a Fake they move by hand instead of
// sleeping.
package clock

import (
	"sync"
	"time"
)

// Clock returns the current time.
type Clock = func() time.Time

// Or returns c, or time.Now when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return time.Now
	}
	return c
}

// Fake is a clock that moves only when told. Safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake showing t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now is the fake's time (a Clock).
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the fake forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Set moves the fake to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.mu.Unlock()
}
