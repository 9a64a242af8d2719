package sender

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Fake is a Sender for tests: it records the messages it "delivers", and
// can be told to fail or to take time. The zero value delivers instantly.
// It is safe for concurrent use.
type Fake struct {
	mu    sync.Mutex
	msgs  []Message
	calls int
	err   error
	delay time.Duration
}

var _ Sender = (*Fake)(nil)

// Send implements Sender: it waits the configured delay (or until ctx is
// done, returning ctx.Err()), then fails with the configured error or
// records m.
func (f *Fake) Send(ctx context.Context, m Message) error {
	f.mu.Lock()
	f.calls++
	d, err := f.delay, f.err
	f.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.msgs = append(f.msgs, m)
	f.mu.Unlock()
	return nil
}

// Fail makes every later Send return err; nil makes them succeed again.
func (f *Fake) Fail(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// SetDelay makes every later Send take d.
func (f *Fake) SetDelay(d time.Duration) {
	f.mu.Lock()
	f.delay = d
	f.mu.Unlock()
}

// Messages returns a copy of the messages delivered so far.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.msgs)
}

// Last returns the last delivered message.
func (f *Fake) Last() (Message, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.msgs) == 0 {
		return Message{}, false
	}
	return f.msgs[len(f.msgs)-1], true
}

// Calls counts Send calls, failed ones included.
func (f *Fake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Reset forgets the messages and calls (not the failure or delay).
func (f *Fake) Reset() {
	f.mu.Lock()
	f.msgs, f.calls = nil, 0
	f.mu.Unlock()
}
