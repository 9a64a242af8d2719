package otp

import (
	"math/rand/v2"
	"sync"
	"time"
)

// defaultSendLatency is the latency assumed for a channel before any real
// delivery has been timed.
const defaultSendLatency = 200 * time.Millisecond

// ewmaWeight is the weight of each new sample in the moving average.
const ewmaWeight = 0.2

// pacer estimates how long a real delivery takes on each channel
// (exponentially weighted moving average of successful sends), so a
// request that sends nothing can wait as long.
type pacer struct {
	max time.Duration

	mu   sync.Mutex
	mean map[Channel]float64 // nanoseconds
	init float64
}

func newPacer(initial, max time.Duration) *pacer {
	return &pacer{max: max, mean: map[Channel]float64{}, init: float64(min(initial, max))}
}

// observe adds the latency of a successful send.
func (p *pacer) observe(ch Channel, d time.Duration) {
	d = min(d, p.max)
	p.mu.Lock()
	m, ok := p.mean[ch]
	if !ok {
		m = p.init
	}
	p.mean[ch] = m + ewmaWeight*(float64(d)-m)
	p.mu.Unlock()
}

// estimate returns the current average for ch.
func (p *pacer) estimate(ch Channel) time.Duration {
	p.mu.Lock()
	m, ok := p.mean[ch]
	p.mu.Unlock()
	if !ok {
		m = p.init
	}
	return time.Duration(m)
}

// delay returns the estimate with ±25 % uniform jitter, capped at max.
func (p *pacer) delay(ch Channel) time.Duration {
	m := float64(p.estimate(ch))
	d := time.Duration(m * (0.75 + 0.5*rand.Float64()))
	return min(d, p.max)
}
