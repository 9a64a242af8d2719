package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/bootstrap"
)

func newServeCmd(g *globalFlags) *cobra.Command {
	var dev bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long: `Run the public listener (AUTHD_HTTP_ADDR) and the admin listener with
/healthz, /readyz and /metrics (AUTHD_ADMIN_ADDR). Pending migrations are
applied first. SIGTERM or SIGINT stops accepting connections and lets
in-flight requests finish.

--dev: embedded SQLite under ./data/, in-process cache, OTP codes in the
log, a generated system secret kept in ./data/, and on an empty database a
demo network is bootstrapped and its JSON printed once on stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			cfg, err := loadConfig(g, dev)
			if err != nil {
				return err
			}
			logger := newLogger(cfg)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()

			a, err := app.New(ctx, cfg, logger)
			if err != nil {
				return err
			}
			defer a.Close()
			if dev {
				if err := devBootstrap(ctx, a, cmd.OutOrStdout()); err != nil {
					return err
				}
			}
			a.Start(ctx)
			return a.Serve(ctx, func(_, _ net.Addr) {
				logger.Info("authd ready", "startup_ms", time.Since(start).Milliseconds())
			})
		},
	}
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode (see above)")
	return cmd
}

func devBootstrap(ctx context.Context, a *app.App, out io.Writer) error {
	empty, err := a.IsEmpty(ctx)
	if err != nil || !empty {
		return err
	}
	res, err := bootstrap.Run(ctx, a.Store, a.Hasher, a.KeyBox, bootstrap.Options{Issuer: a.Config.Issuer})
	if err != nil {
		return fmt.Errorf("dev bootstrap: %w", err)
	}
	a.Logger.Warn("dev mode: bootstrapped a demo network; its credentials are printed once on stdout")
	// Hand the admin password's argon2id working memory (19 MiB by
	// default) back to the OS now rather than when the scavenger gets to it.
	debug.FreeOSMemory()
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
