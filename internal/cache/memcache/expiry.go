package memcache

import (
	"container/heap"
	"math"
	"time"
)

const (
	// sweepInterval is how often the sweeper looks for expired entries.
	sweepInterval = time.Second
	// sweepBatch bounds how many entries one lock hold removes, so a mass
	// expiry never stalls other callers for long.
	sweepBatch = 1024
)

// expiryHeap orders every entry by eviction priority: soonest expiry
// first, entries without expiry last, and among equal expiries the least
// recently written first.
type expiryHeap []*entry

func (h expiryHeap) Len() int { return len(h) }

func (h expiryHeap) Less(i, j int) bool {
	ei, ej := h[i].deadline(), h[j].deadline()
	if ei != ej {
		return ei < ej
	}
	return h[i].seq < h[j].seq
}
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}

func (h *expiryHeap) Push(x any) {
	e := x.(*entry)
	e.idx = len(*h)
	*h = append(*h, e)
}

func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.idx = -1
	*h = old[:n-1]
	return e
}

// deadline is the expiry used for ordering: math.MaxInt64 for none.
func (e *entry) deadline() int64 {
	if e.exp == 0 {
		return math.MaxInt64
	}
	return e.exp
}

// write gives e a new value and expiry and places it in the heap as the
// most recently written entry. c.mu must be held.
func (c *Cache) write(e *entry, val []byte, exp int64) {
	c.seq++
	e.val, e.exp, e.seq = val, exp, c.seq
	if e.idx >= 0 {
		heap.Fix(&c.expiry, e.idx)
	} else {
		heap.Push(&c.expiry, e)
	}
}

// evictOne makes room for one key by removing the top of the heap: an
// expired entry if any, else the one closest to expiry, else the least
// recently written entry without expiry. c.mu must be held and the cache
// non-empty.
func (c *Cache) evictOne() {
	c.remove(c.expiry[0])
}

// sweep removes expired entries every sweepInterval until Close.
func (c *Cache) sweep() {
	defer c.sweeper.Done()
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			for c.sweepOnce() {
			}
		}
	}
}

// sweepOnce removes up to sweepBatch expired entries and reports whether
// more may be left.
func (c *Cache) sweepOnce() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	now := c.now().UnixNano()
	for range sweepBatch {
		if len(c.expiry) == 0 || c.expiry[0].deadline() > now {
			return false
		}
		c.remove(c.expiry[0])
	}
	return true
}
