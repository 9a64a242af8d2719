package main

import (
	"math"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 10000; i++ {
		h.add(time.Duration(i) * time.Microsecond) // 1µs .. 10ms, uniform
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5 * time.Millisecond}, {0.99, 9900 * time.Microsecond}, {1, 10 * time.Millisecond}} {
		got := h.quantile(c.q)
		if math.Abs(float64(got-c.want))/float64(c.want) > 0.04 {
			t.Errorf("p%v = %v, want %v within 4%%", c.q*100, got, c.want)
		}
	}
	if got := (&histogram{}).quantile(0.5); got != 0 {
		t.Errorf("empty histogram: %v", got)
	}
	h.add(time.Hour) // beyond the last bucket: counted there
	if h.n != 10001 {
		t.Errorf("n = %d", h.n)
	}
}

func TestPickerFollowsTheMix(t *testing.T) {
	mix, err := parseMix("fa-key=3, signin=1,refresh=0")
	if err != nil {
		t.Fatal(err)
	}
	if got := mixString(mix); got != "signin=1,fa-key=3" {
		t.Fatalf("mix %s", got)
	}
	p := newPicker(mix)
	counts := map[string]int{}
	for range 400 {
		counts[p.next().name]++
	}
	if counts["signin"] != 100 || counts["fa-key"] != 300 {
		t.Errorf("counts %v", counts)
	}
	for _, bad := range []string{"nope=1", "signin=x", "signin=0", ""} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) accepted", bad)
		}
	}
}
