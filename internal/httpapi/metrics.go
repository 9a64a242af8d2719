package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are authd's Prometheus collectors.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	issued   *prometheus.CounterVec

	mu     sync.Mutex // serialises additions to routes
	routes atomic.Pointer[map[string]*routeMetrics]
}

// NewMetrics registers the collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_http_requests_total",
			Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authd_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_tokens_issued_total",
			Help: "Access tokens issued by grant type.",
		}, []string{"grant_type"}),
	}
	reg.MustRegister(m.requests, m.latency, m.issued)
	m.routes.Store(&map[string]*routeMetrics{})
	return m
}

// TokenIssued counts one issued token (oauth.Observer).
func (m *Metrics) TokenIssued(grantType string) { m.issued.WithLabelValues(grantType).Inc() }

// middleware counts and times every request by route, method and status.
// The label handles are resolved once per route, method and status and
// kept (routeMetrics): a request costs one look-up of its route, not a
// hash of every label value.
func (m *Metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.route(route).observe(m, route, methodIndex(c.Request.Method), c.Writer.Status(), time.Since(start))
	}
}

// metricMethods are the method label's values; the last is "OTHER".
var metricMethods = [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace, "OTHER"}

// methodIndex is m's index in metricMethods: any token is a valid HTTP
// method, so a client inventing methods would otherwise create series at
// will.
func methodIndex(m string) int {
	for i, name := range metricMethods[:len(metricMethods)-1] {
		if m == name {
			return i
		}
	}
	return len(metricMethods) - 1
}

// statusSlot is the slot of the statuses authd answers; -1 for others
// (their handles are looked up each time).
func statusSlot(status int) int {
	switch status {
	case 200:
		return 0
	case 201:
		return 1
	case 204:
		return 2
	case 304:
		return 3
	case 400:
		return 4
	case 401:
		return 5
	case 403:
		return 6
	case 404:
		return 7
	case 405:
		return 8
	case 409:
		return 9
	case 413:
		return 10
	case 415:
		return 11
	case 422:
		return 12
	case 429:
		return 13
	case 500:
		return 14
	case 502:
		return 15
	case 503:
		return 16
	}
	return -1
}

const statusSlots = 17

// routeMetrics holds one route's resolved handles, each made on first use
// (so /metrics lists only series that happened).
type routeMetrics struct {
	latency [len(metricMethods)]atomic.Pointer[prometheus.Observer]
	counts  [len(metricMethods)]atomic.Pointer[[statusSlots]atomic.Pointer[prometheus.Counter]]
}

// route returns the handles of route, creating them on its first request.
// Routes are the engine's own paths (and "unmatched"), so the map is
// bounded.
func (m *Metrics) route(route string) *routeMetrics {
	if rm, ok := (*m.routes.Load())[route]; ok {
		return rm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := *m.routes.Load()
	if rm, ok := cur[route]; ok {
		return rm
	}
	next := make(map[string]*routeMetrics, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	rm := &routeMetrics{}
	next[route] = rm
	m.routes.Store(&next)
	return rm
}

func (rm *routeMetrics) observe(m *Metrics, route string, method, status int, took time.Duration) {
	obs := rm.latency[method].Load()
	if obs == nil {
		o := m.latency.WithLabelValues(route, metricMethods[method])
		obs = &o
		rm.latency[method].Store(obs)
	}
	(*obs).Observe(took.Seconds())

	slots := rm.counts[method].Load()
	if slots == nil {
		rm.counts[method].CompareAndSwap(nil, new([statusSlots]atomic.Pointer[prometheus.Counter]))
		slots = rm.counts[method].Load()
	}
	slot := statusSlot(status)
	if slot < 0 {
		m.requests.WithLabelValues(route, metricMethods[method], strconv.Itoa(status)).Inc()
		return
	}
	cnt := slots[slot].Load()
	if cnt == nil {
		c := m.requests.WithLabelValues(route, metricMethods[method], strconv.Itoa(status))
		cnt = &c
		slots[slot].Store(cnt)
	}
	(*cnt).Inc()
}
