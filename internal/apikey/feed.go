package apikey

import (
	"context"
	"time"
)

// feed applies invalidations to a Verifier. It is the only writer of the
// verifier's trusted flag: the in-process cache is used only while the
// feed is known to be complete.
//
// Completeness: Invalidate counts every change in a shared epoch before
// publishing it with that epoch. seen is the highest epoch up to which
// every message arrived. Every EpochPoll the feed reads the epoch; if it
// moved past seen, a message was lost (or is a few microseconds late) and
// the cache is purged. If the epoch cannot be read, or the subscription
// ended, the cache is not trusted (verifications read SQL) until both work
// again, and then purged.
type feed struct {
	v       *Verifier
	msgs    <-chan []byte
	seen    int64
	pending map[int64]bool
	healthy bool
	// down: the feed was interrupted since it was last healthy.
	down bool
}

// recovered ends an outage: shared records written before now may predate
// an invalidation that could not reach the shared state, so the verifier
// stops using them.
func (f *feed) recovered() {
	if f.down {
		f.v.sharedSince.Store(f.v.o.Now().UnixNano())
		f.down = false
	}
}

// subscribe (re)subscribes and reads the epoch; on success the cache is
// purged and trusted.
func (f *feed) subscribe(ctx context.Context) error {
	msgs, err := f.v.o.Cache.Subscribe(ctx, InvalidationChannel)
	if err != nil {
		return err
	}
	epoch, err := readEpoch(ctx, f.v.o.Cache)
	if err != nil {
		return err
	}
	f.msgs, f.seen, f.pending = msgs, epoch, map[int64]bool{}
	f.v.purge()
	f.recovered()
	f.healthy = true
	f.v.trusted.Store(true)
	return nil
}

func (f *feed) distrust(reason string, err error) {
	if f.healthy {
		f.v.o.Logger.Warn("apikey: invalidation feed interrupted; verifying against SQL until it recovers", "reason", reason, "error", err)
	}
	f.healthy = false
	f.down = true
	f.v.trusted.Store(false)
	f.v.purge()
}

func (f *feed) run(ctx context.Context) {
	t := time.NewTicker(f.v.o.EpochPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-f.msgs:
			if !ok {
				f.msgs = nil
				if ctx.Err() == nil {
					f.distrust("subscription closed", nil)
				}
				continue
			}
			f.apply(m)
		case <-t.C:
			f.poll(ctx)
		}
	}
}

func (f *feed) apply(m []byte) {
	epoch, sum, ok := parseInvalidation(m)
	if !ok {
		return
	}
	f.v.forget(sum)
	switch {
	case epoch <= f.seen:
	case epoch == f.seen+1:
		f.seen = epoch
		for f.pending[f.seen+1] {
			delete(f.pending, f.seen+1)
			f.seen++
		}
	case len(f.pending) < 1024:
		f.pending[epoch] = true
	}
}

func (f *feed) poll(ctx context.Context) {
	if f.msgs == nil {
		if err := f.subscribe(ctx); err != nil {
			if ctx.Err() == nil {
				f.distrust("resubscribe failed", err)
			}
		} else {
			f.v.o.Logger.Info("apikey: invalidation feed restored")
		}
		return
	}
	pctx, cancel := context.WithTimeout(ctx, max(f.v.o.EpochPoll, time.Second))
	epoch, err := readEpoch(pctx, f.v.o.Cache)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			f.distrust("epoch unreadable", err)
		}
		return
	}
	if !f.healthy {
		// Changes made while the feed was down may not be counted (their
		// writer could not reach the cache either): start afresh.
		f.v.purge()
		f.recovered()
		f.healthy = true
		f.v.o.Logger.Info("apikey: invalidation feed restored")
	}
	if epoch > f.seen {
		f.v.purge()
		f.seen = epoch
		for e := range f.pending {
			if e <= epoch {
				delete(f.pending, e)
			}
		}
	}
	f.v.trusted.Store(true)
}
