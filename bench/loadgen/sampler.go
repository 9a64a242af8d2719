package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// gauges are the metrics read from each server's admin /metrics (unlabelled
// series; one a server lacks reads as "-").
var gauges = []struct{ name, short string }{
	{"process_resident_memory_bytes", "rss"},
	{"go_memstats_heap_inuse_bytes", "heap in use"},
	{"go_goroutines", "goroutines"},
	{"authd_revocation_lag_seconds", "revocation lag"},
}

// sample is one reading of a server's gauges, or why it failed.
type sample struct {
	at     time.Duration
	values []float64
	err    error
}

// sampler reads the gauges of every admin URL over time.
type sampler struct {
	client *http.Client
	admins []string
	series [][]sample // per admin URL
}

func newSampler(c *http.Client, admins []string) *sampler {
	return &sampler{client: c, admins: admins, series: make([][]sample, len(admins))}
}

func (s *sampler) sample(at time.Duration) {
	for i, base := range s.admins {
		values, err := s.read(base + "/metrics")
		s.series[i] = append(s.series[i], sample{at: at, values: values, err: err})
	}
}

// read answers the gauges' values in the Prometheus text format at url.
func (s *sampler) read(url string) ([]float64, error) {
	resp, err := s.client.Get(url)
	if err != nil {
		return nil, fmt.Errorf("metrics: %s", transportKind(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("metrics: HTTP %d", resp.StatusCode)
	}
	values := make([]float64, len(gauges))
	for i := range values {
		values[i] = math.NaN()
	}
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		for i, g := range gauges {
			if name == g.name {
				if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
					values[i] = v
					found++
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if found == 0 {
		return nil, errors.New("metrics: none of the gauges found")
	}
	return values, nil
}

func formatGauge(i int, v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case strings.HasSuffix(gauges[i].name, "_bytes"):
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case strings.HasSuffix(gauges[i].name, "_seconds"):
		return ms(time.Duration(v * float64(time.Second)))
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (s sample) String() string {
	if s.err != nil {
		return s.err.Error()
	}
	var parts []string
	for i, v := range s.values {
		parts = append(parts, gauges[i].short+" "+formatGauge(i, v))
	}
	return strings.Join(parts, ", ")
}

// print writes the latest reading of every server.
func (s *sampler) print(w io.Writer) {
	for i, base := range s.admins {
		if n := len(s.series[i]); n > 0 {
			fmt.Fprintf(w, "    %s: %s\n", strings.TrimPrefix(base, "http://"), s.series[i][n-1])
		}
	}
}

// summary writes, per server, each gauge before the load (the first
// reading, taken before the clients sign in) and then under load: the
// first, middle and last reading and the range, which say whether it
// stayed flat.
func (s *sampler) summary(w io.Writer) {
	for i, base := range s.admins {
		var good []sample
		for _, x := range s.series[i] {
			if x.err == nil {
				good = append(good, x)
			}
		}
		failed := len(s.series[i]) - len(good)
		fmt.Fprintf(w, "server %s: %d readings (%d failed)\n", strings.TrimPrefix(base, "http://"), len(s.series[i]), failed)
		if len(good) < 2 {
			continue
		}
		before, load := good[0], good[1:]
		first, mid, last := load[0], load[len(load)/2], load[len(load)-1]
		for g := range gauges {
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, x := range load {
				if v := x.values[g]; !math.IsNaN(v) {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			if math.IsInf(lo, 1) {
				continue // no server reported it
			}
			at := func(x sample) string { return formatGauge(g, x.values[g]) + " @" + x.at.Round(time.Second).String() }
			fmt.Fprintf(w, "    %-14s before %s | under load: %s, %s, %s; min %s, max %s\n", gauges[g].short,
				formatGauge(g, before.values[g]), at(first), at(mid), at(last), formatGauge(g, lo), formatGauge(g, hi))
		}
	}
}
