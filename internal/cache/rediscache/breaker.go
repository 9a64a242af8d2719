package rediscache

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/authd/authd/internal/cache"
)

var errBreakerOpen = fmt.Errorf("%w: rediscache: not trying after repeated failures", cache.ErrUnavailable)

// breaker stops calling a server that keeps failing: after threshold
// consecutive failures it refuses calls for cooldown, then lets one call
// through as a probe; the probe's success closes it, its failure opens it
// again. Requests then fail in microseconds instead of each waiting for
// the operation timeout.
type breaker struct {
	threshold int32
	cooldown  time.Duration

	fails     atomic.Int32
	openUntil atomic.Int64 // Unix nanoseconds; 0: closed
	probing   atomic.Bool
}

func (b *breaker) allow(now time.Time) bool {
	until := b.openUntil.Load()
	if until == 0 {
		return true
	}
	if now.UnixNano() < until {
		return false
	}
	return b.probing.CompareAndSwap(false, true) // one probe at a time
}

func (b *breaker) open(now time.Time) bool {
	until := b.openUntil.Load()
	return until != 0 && now.UnixNano() < until
}

func (b *breaker) success() {
	b.fails.Store(0)
	b.openUntil.Store(0)
	b.probing.Store(false)
}

func (b *breaker) failure(now time.Time) {
	if b.fails.Add(1) >= b.threshold {
		b.openUntil.Store(now.Add(b.cooldown).UnixNano())
	}
	b.probing.Store(false)
}

// release ends a probe whose caller gave up: neither outcome is known.
func (b *breaker) release() { b.probing.Store(false) }
