package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness check.
type Check struct {
	Name string
	Func func(context.Context) error
}

// AdminDeps are what the admin listener serves.
type AdminDeps struct {
	Logger   *slog.Logger
	Gatherer prometheus.Gatherer
	// Ready are the readiness checks: what must hold for this replica to
	// serve (signing keys loaded, revocation state current). A dependency
	// outage alone is not one of them: the replica keeps verifying.
	Ready []Check
	// Health returns the details /healthz shows (dependencies, revocation
	// state); nil: none.
	Health func(context.Context) any
	// Draining, when it reports true, makes /readyz answer 503 (shutdown).
	Draining func() bool
}

// NewAdmin builds the admin engine: /healthz (the process is up, with
// dependency details), /readyz (it can serve), /metrics.
func NewAdmin(d AdminDeps) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(recoverPanics(d.Logger))
	e.GET("/healthz", func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		body := gin.H{"status": "ok"}
		if d.Health != nil {
			body["details"] = d.Health(c.Request.Context())
		}
		c.JSON(http.StatusOK, body)
	})
	var mu sync.Mutex
	failing := map[string]bool{} // logged once per failure, not per probe
	e.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		status, code := "ok", http.StatusOK
		checks := map[string]string{}
		if d.Draining != nil && d.Draining() {
			status, code = "draining", http.StatusServiceUnavailable
		}
		for _, ch := range d.Ready {
			err := ch.Func(ctx)
			mu.Lock()
			if err != nil && !failing[ch.Name] {
				d.Logger.WarnContext(ctx, "not ready", "check", ch.Name, "error", err)
			} else if err == nil && failing[ch.Name] {
				d.Logger.InfoContext(ctx, "ready again", "check", ch.Name)
			}
			failing[ch.Name] = err != nil
			mu.Unlock()
			if err != nil {
				checks[ch.Name] = err.Error()
				status, code = "unavailable", http.StatusServiceUnavailable
				continue
			}
			checks[ch.Name] = "ok"
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(code, gin.H{"status": status, "checks": checks})
	})
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{})))
	return e
}
