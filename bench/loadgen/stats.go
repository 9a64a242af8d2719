package main

import (
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strings"
	"sync"
	"time"
)

// histogram counts latencies in microseconds in log-linear buckets: exact
// below 64µs, then 32 buckets per power of two (within ~3 %).
type histogram struct {
	counts [64 * 32]uint64
	n      uint64
}

func bucketOf(us uint64) int {
	if us < 64 {
		return int(us)
	}
	shift := bits.Len64(us) - 6
	i := shift*32 + int(us>>shift)
	if i >= len(histogram{}.counts) {
		i = len(histogram{}.counts) - 1
	}
	return i
}

// bucketValue is the middle of bucket i, in microseconds.
func bucketValue(i int) float64 {
	if i < 64 {
		return float64(i)
	}
	shift := i/32 - 1
	low := uint64(i%32+32) << shift
	return float64(low) + float64(uint64(1)<<shift)/2
}

func (h *histogram) add(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	h.counts[bucketOf(uint64(us))]++
	h.n++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile answers the latency below which a fraction q of the samples lie.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return time.Duration(bucketValue(i) * float64(time.Microsecond))
		}
	}
	return 0
}

// opStats is one operation's counts over a period.
type opStats struct {
	ok      uint64
	skipped uint64            // starts never sent (paced mode, queue full)
	errors  map[string]uint64 // by kind
	lat     histogram         // of successful requests
}

func (s *opStats) merge(o *opStats) {
	s.ok += o.ok
	s.skipped += o.skipped
	for k, n := range o.errors {
		s.errors[k] += n
	}
	s.lat.merge(&o.lat)
}

// period is every operation's counts over one interval or the whole run.
type period struct {
	ops   []string
	byOp  map[string]*opStats
	start time.Time
}

func newPeriod(mix []weighted) *period {
	p := &period{byOp: map[string]*opStats{}, start: time.Now()}
	for _, w := range mix {
		p.add(w.op.name)
	}
	return p
}

func (p *period) add(name string) *opStats {
	s, ok := p.byOp[name]
	if !ok {
		s = &opStats{errors: map[string]uint64{}}
		p.byOp[name] = s
		p.ops = append(p.ops, name)
	}
	return s
}

func (p *period) ok() (n uint64) {
	for _, s := range p.byOp {
		n += s.ok
	}
	return n
}

func (p *period) skipped() (n uint64) {
	for _, s := range p.byOp {
		n += s.skipped
	}
	return n
}

func (p *period) errors() (n uint64) {
	for _, s := range p.byOp {
		for _, c := range s.errors {
			n += c
		}
	}
	return n
}

// print writes one block: totals, then a line per operation, then the
// errors by kind.
func (p *period) print(w io.Writer, label string, over time.Duration) {
	okN, errN := p.ok(), p.errors()
	n := okN + errN
	fmt.Fprintf(w, "%s %d requests, %.1f req/s, %d errors, %d skipped\n", label, n, float64(n)/over.Seconds(), errN, p.skipped())
	var errs []string
	for _, name := range p.ops {
		s := p.byOp[name]
		var e uint64
		for kind, c := range s.errors {
			e += c
			errs = append(errs, fmt.Sprintf("%s %s ×%d", name, kind, c))
		}
		fmt.Fprintf(w, "    %-8s ok=%-8d err=%-6d skip=%-6d p50=%s p99=%s max=%s\n", name, s.ok, e, s.skipped,
			ms(s.lat.quantile(0.5)), ms(s.lat.quantile(0.99)), ms(s.lat.quantile(1)))
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		fmt.Fprintf(w, "    errors: %s\n", strings.Join(errs, ", "))
	}
}

// ms writes d in milliseconds with three decimals and the unit, a form
// both people and awk read ("p50=0.396ms").
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}

// stats collects results into the current interval; interval() hands the
// interval over and folds it into the total.
type stats struct {
	mu    sync.Mutex
	mix   []weighted
	cur   *period
	whole *period
}

func newStats(mix []weighted) *stats {
	return &stats{mix: mix, cur: newPeriod(mix), whole: newPeriod(mix)}
}

func (s *stats) record(r result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.cur.add(r.op.name)
	switch {
	case r.skipped:
		o.skipped++
	case r.kind == "":
		o.ok++
		o.lat.add(r.took)
	default:
		o.errors[r.kind]++
	}
}

func (s *stats) interval() *period {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.cur
	s.cur = newPeriod(s.mix)
	for _, name := range p.ops {
		s.whole.add(name).merge(p.byOp[name])
	}
	return p
}

func (s *stats) total() *period {
	s.interval()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.whole
}
