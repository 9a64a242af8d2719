package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authd/authd/internal/httpapi"
)

// healthInterval is how often the dependencies are probed.
const healthInterval = 2 * time.Second

// dependency is one backend authd uses, as last probed.
type dependency struct {
	name string
	ping func(context.Context) error

	mu    sync.Mutex
	up    bool
	since time.Time
	err   string
}

// health probes the database and Redis in the background: their state
// feeds authd_dependency_up and /healthz, and each change is logged once
// (not once per request). It never decides readiness: a replica keeps
// verifying through an outage of either.
type health struct {
	deps   []*dependency
	gauge  *prometheus.GaugeVec
	logger *slog.Logger
}

func newHealth(reg prometheus.Registerer, logger *slog.Logger, deps ...*dependency) *health {
	h := &health{deps: deps, logger: logger, gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "authd_dependency_up",
		Help: "Whether a dependency answered its last probe (1) or not (0).",
	}, []string{"dependency"})}
	reg.MustRegister(h.gauge)
	now := time.Now()
	for _, d := range deps {
		d.up, d.since = true, now
		h.gauge.WithLabelValues(d.name).Set(1)
	}
	return h
}

func (h *health) run(ctx context.Context) {
	t := time.NewTicker(healthInterval)
	defer t.Stop()
	for {
		h.probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (h *health) probe(ctx context.Context) {
	for _, d := range h.deps {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := d.ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		d.mu.Lock()
		was := d.up
		d.up = err == nil
		if was != d.up {
			d.since = time.Now()
		}
		d.err = ""
		if err != nil {
			d.err = err.Error()
		}
		d.mu.Unlock()
		switch {
		case was && err != nil:
			h.logger.Error("dependency down", "dependency", d.name, "error", err)
		case !was && err == nil:
			h.logger.Info("dependency up", "dependency", d.name)
		}
		v := 0.0
		if err == nil {
			v = 1
		}
		h.gauge.WithLabelValues(d.name).Set(v)
	}
}

// dependencyState is one dependency in /healthz.
type dependencyState struct {
	Up    bool      `json:"up"`
	Since time.Time `json:"since"`
	Error string    `json:"error,omitempty"`
}

func (h *health) states() map[string]dependencyState {
	out := make(map[string]dependencyState, len(h.deps))
	for _, d := range h.deps {
		d.mu.Lock()
		out[d.name] = dependencyState{Up: d.up, Since: d.since.UTC(), Error: d.err}
		d.mu.Unlock()
	}
	return out
}

// revocationState is the revocation log as /healthz shows it.
type revocationState struct {
	Loaded     bool    `json:"loaded"`
	Cursor     int64   `json:"cursor"`
	Entries    int     `json:"entries"`
	LagSeconds float64 `json:"lag_seconds"`
}

// wireAdmin builds the admin listener: readiness (keys loaded, revocation
// state current), health details and metrics.
func (a *App) wireAdmin() {
	cfg := a.Config
	deps := []*dependency{{name: "database", ping: a.Store.Ping}}
	if cfg.Redis.URL != "" {
		deps = append(deps, &dependency{name: "redis", ping: a.Cache.Ping})
	}
	a.health = newHealth(a.Registry, a.Logger, deps...)
	a.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "authd_revocation_lag_seconds",
			Help: "Time since this replica last read the revocation log completely.",
		}, func() float64 { return a.Revocations.Status().Lag.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "authd_revocation_entries",
			Help: "Revocations in force held in this replica's memory.",
		}, func() float64 { return float64(a.Revocations.Status().Entries) }),
	)
	ready := []httpapi.Check{
		{Name: "signing_key", Func: func(context.Context) error { return a.Keys.Ready() }},
		{Name: "revocation", Func: func(context.Context) error {
			st := a.Revocations.Status()
			switch {
			case !st.Loaded:
				return errors.New("revocation log not loaded")
			case cfg.Revocation.ReadyMaxLag > 0 && st.Lag > cfg.Revocation.ReadyMaxLag:
				return fmt.Errorf("revocation log not read for %s", st.Lag.Round(time.Second))
			}
			return nil
		}},
	}
	a.Admin = httpapi.NewAdmin(httpapi.AdminDeps{
		Logger: a.Logger, Gatherer: a.Registry, Ready: ready, Draining: a.draining.Load,
		Health: func(context.Context) any {
			st := a.Revocations.Status()
			return map[string]any{
				"dependencies": a.health.states(),
				"revocation":   revocationState{Loaded: st.Loaded, Cursor: st.Cursor, Entries: st.Entries, LagSeconds: st.Lag.Seconds()},
			}
		},
	})
}
