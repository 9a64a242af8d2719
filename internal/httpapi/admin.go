package httpapi

import (
	"context"
	"log/slog"
	"net/http"
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
	Checks   []Check
	// Draining, when it reports true, makes /readyz answer 503 (shutdown).
	Draining func() bool
}

// NewAdmin builds the admin engine: /healthz, /readyz, /metrics.
func NewAdmin(d AdminDeps) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(recoverPanics(d.Logger))
	e.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	e.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		status, code := "ok", http.StatusOK
		checks := map[string]string{}
		if d.Draining != nil && d.Draining() {
			status, code = "draining", http.StatusServiceUnavailable
		}
		for _, ch := range d.Checks {
			if err := ch.Func(ctx); err != nil {
				d.Logger.WarnContext(ctx, "readiness check failed", "check", ch.Name, "error", err)
				checks[ch.Name] = "unavailable"
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
