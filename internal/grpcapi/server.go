package grpcapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/authd/authd/internal/apierror"
)

// Deps are what the gRPC door serves with.
type Deps struct {
	Logger  *slog.Logger
	Decider Decider
	// Registerer receives the door's metrics; nil: none.
	Registerer prometheus.Registerer
	// RequestTimeout bounds each call's work (0: only the caller's
	// deadline, grpc-timeout).
	RequestTimeout time.Duration
	// MaxRecvBytes bounds a request message (a CheckRequest carries the
	// request's headers, and its body when Envoy is told to send it).
	MaxRecvBytes int
	// RequestLog chooses which allowed checks are logged: "all",
	// "sampled" (one in SampleEvery) or "off"; refusals are logged at
	// INFO and failures at ERROR, as the HTTP access log does. Nothing
	// from the request but its id is logged.
	RequestLog  string
	SampleEvery int
}

// Server is the gRPC listener's server.
type Server struct {
	g       *grpc.Server
	health  *health.Server
	decider Decider
	logger  *slog.Logger
	mode    string
	every   uint64
	logged  atomic.Uint64
	metrics *metrics
}

// ServiceName is the ext_authz service, for health checks.
const ServiceName = "envoy.service.auth.v3.Authorization"

// New builds the server: Envoy's Authorization service and the gRPC health
// service (SERVING until Shutdown).
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.MaxRecvBytes <= 0 {
		d.MaxRecvBytes = 1 << 20
	}
	s := &Server{decider: d.Decider, logger: d.Logger, mode: d.RequestLog, every: uint64(max(1, d.SampleEvery)),
		health: health.NewServer(), metrics: newMetrics(d.Registerer)}
	s.g = grpc.NewServer(
		grpc.MaxRecvMsgSize(d.MaxRecvBytes),
		grpc.MaxConcurrentStreams(1024),
		// Envoy may ping idle connections (connection_keepalive): allow
		// it rather than answer GOAWAY too_many_pings.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(s.recoverPanics, deadline(d.RequestTimeout)),
	)
	authv3.RegisterAuthorizationServer(s.g, &authorization{s: s})
	healthpb.RegisterHealthServer(s.g, s.health)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(ServiceName, healthpb.HealthCheckResponse_SERVING)
	return s
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.g.Serve(ln)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Drain makes the health service answer NOT_SERVING (shutdown has begun),
// while calls are still answered.
func (s *Server) Drain() { s.health.Shutdown() }

// Shutdown stops accepting connections and waits for the calls in flight,
// until ctx ends; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.g.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.g.Stop()
		<-done
		return ctx.Err()
	}
}

// recoverPanics turns a panic into an Internal error and an ERROR line;
// the panic value never reaches the caller.
func (s *Server) recoverPanics(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.logger.ErrorContext(ctx, "panic serving gRPC call", "method", info.FullMethod, "panic", v)
			s.metrics.count(http.StatusInternalServerError)
			resp, err = nil, status.Error(codes.Internal, "internal error")
		}
	}()
	return next(ctx, req)
}

// deadline bounds each call's work by d (0: no bound of its own).
func deadline(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if d <= 0 {
			return next(ctx, req)
		}
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return next(ctx, req)
	}
}

// observe counts and logs one Check. status is the decision's (200 when
// allowed); e is the refusal or failure, err the backend error if any.
func (s *Server) observe(ctx context.Context, st int, e *apierror.Error, err error, took time.Duration) {
	if e != nil {
		st = e.Status
	}
	s.metrics.count(st)
	s.metrics.latency.Observe(took.Seconds())
	level := slog.LevelInfo
	switch {
	case e != nil && e.Internal():
		level = slog.LevelError
	case e != nil:
	case s.mode == "off":
		return
	case s.mode == "sampled":
		if s.logged.Add(1)%s.every != 1%s.every {
			return
		}
	}
	attrs := []slog.Attr{
		slog.String("method", "Check"),
		slog.Int("status", st),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000),
	}
	if e != nil {
		attrs = append(attrs, slog.String("code", e.Code))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.logger.LogAttrs(ctx, level, "grpc ext_authz check", attrs...)
}

// metrics are the door's collectors, with a handle per status resolved
// once (no label look-up per call).
type metrics struct {
	checks  *prometheus.CounterVec
	byCode  map[int]prometheus.Counter
	other   prometheus.Counter
	latency prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_grpc_checks_total",
			Help: "Envoy ext_authz checks over gRPC by the HTTP status decided (200: allowed).",
		}, []string{"status"}),
		byCode: map[int]prometheus.Counter{},
	}
	hist := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "authd_grpc_check_duration_seconds",
		Help:    "Latency of Envoy ext_authz checks over gRPC.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	m.latency = hist
	for _, c := range []int{200, 401, 403, 429, 500, 503} {
		m.byCode[c] = m.checks.WithLabelValues(strconv.Itoa(c))
	}
	m.other = m.checks.WithLabelValues("other")
	if reg != nil {
		reg.MustRegister(m.checks, hist)
	}
	return m
}

func (m *metrics) count(status int) {
	if c, ok := m.byCode[status]; ok {
		c.Inc()
		return
	}
	m.other.Inc()
}
