package apikey

import (
	"context"
	"sync"
	"time"
)

// touchBatch collects the keys used since the last flush. A key enters it
// once per flush (its entry's queued flag); its time is read at flush.
type touchBatch struct {
	mu      sync.Mutex
	max     int
	pending []*entry
	dropped int
}

// touch notes a use of e at now (Unix nanoseconds) without taking a lock
// unless e is the first use of its key since the last flush. last_used_at
// has one-second precision.
func (v *Verifier) touch(e *entry, now int64) {
	if now-e.lastUsed.Load() >= int64(time.Second) {
		e.lastUsed.Store(now)
	}
	if e.queued.Load() || !e.queued.CompareAndSwap(false, true) {
		return
	}
	b := &v.touches
	b.mu.Lock()
	if len(b.pending) >= b.max {
		b.dropped++
		b.mu.Unlock()
		e.queued.Store(false)
		return
	}
	b.pending = append(b.pending, e)
	b.mu.Unlock()
}

func (v *Verifier) flushLoop(ctx context.Context) {
	t := time.NewTicker(v.o.LastUsedFlush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// A batch taken is written even if Close comes meanwhile.
			v.flush(context.WithoutCancel(ctx))
		}
	}
}

// flush writes the pending last-used times in one TouchAPIKeys call.
func (v *Verifier) flush(ctx context.Context) {
	b := &v.touches
	b.mu.Lock()
	batch, dropped := b.pending, b.dropped
	b.pending, b.dropped = nil, 0
	b.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	used := make(map[string]time.Time, len(batch))
	for _, e := range batch {
		e.queued.Store(false)
		t := time.Unix(0, e.lastUsed.Load()).UTC().Truncate(time.Second)
		if t.After(used[e.key.ID]) {
			used[e.key.ID] = t
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := v.o.Store.TouchAPIKeys(wctx, used); err != nil {
		v.o.Logger.WarnContext(ctx, "apikey: cannot record last-used times", "keys", len(used), "error", err)
	}
	if dropped > 0 {
		v.o.Logger.WarnContext(ctx, "apikey: last-used batch full; some uses not recorded", "dropped", dropped)
	}
}
