package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/keys"
	"github.com/authd/authd/internal/store"
)

func newKeysCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage JWS signing keys"}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List signing keys: kid, algorithm, state and dates",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, closeFn, err := openKeys(cmd.Context(), g, false) // reading: no key is created
			if err != nil {
				return err
			}
			defer closeFn()
			infos, err := m.List(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(infos)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tSIGNS UNTIL\tPUBLISHED UNTIL")
			for _, k := range infos {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Algorithm, k.State,
					k.CreatedAt.Format(time.RFC3339), k.SignsFrom.Format(time.RFC3339), fmtTime(k.SignsUntil), fmtTime(k.PublishedUntil))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	var immediate bool
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Start a rotation: publish a new key now, signing after keys.publish_ahead",
		Long: `Publish a new signing key. It signs once keys.publish_ahead has passed, so
every cached JWKS knows it first; the current key keeps verifying until its
last token has expired. --immediate makes the new key sign at once (for a
compromised key: tokens signed by the old key still verify until they
expire).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, closeFn, err := openKeys(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			defer closeFn()
			k, err := m.Rotate(cmd.Context(), immediate)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new key %s (%s) published; signs from %s\n", k.KID, k.Algorithm, k.SignsFrom.Format(time.RFC3339))
			return nil
		},
	}
	rotate.Flags().BoolVar(&immediate, "immediate", false, "sign with the new key at once")
	cmd.AddCommand(list, rotate)
	return cmd
}

// parseExpiresAt reads --expires-at: "now" (or empty) is nil, the
// service's "at once"; otherwise an RFC 3339 time.
func parseExpiresAt(s string) (*time.Time, error) {
	if s == "" || s == "now" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, &exitErr{code: exitConfig, err: errors.New(`--expires-at must be "now" or an RFC 3339 time`)}
	}
	return &t, nil
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// openKeys opens the key manager; init loads the keys, creating or rotating
// them as the configuration asks (rotate needs that; list only reads).
func openKeys(ctx context.Context, g *globalFlags, init bool) (*keys.Manager, func(), error) {
	cfg, err := loadConfig(g, false)
	if err != nil {
		return nil, nil, err
	}
	logger := newLogger(cfg)
	st, err := app.OpenStore(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	m, err := keys.New(st, cfg.Secrets.System, app.KeysConfig(cfg), logger, time.Now)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	if init {
		if err := m.Init(ctx); err != nil {
			_ = st.Close()
			return nil, nil, err
		}
	}
	return m, func() { _ = st.Close() }, nil
}

func initKeys(ctx context.Context, cfg *config.Config, st store.Store, logger *slog.Logger) error {
	m, err := keys.New(st, cfg.Secrets.System, app.KeysConfig(cfg), logger, time.Now)
	if err != nil {
		return err
	}
	return m.Init(ctx)
}
