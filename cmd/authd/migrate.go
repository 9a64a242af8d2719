package main

import (
	"github.com/spf13/cobra"

	"github.com/authd/authd/internal/app"
)

func newMigrateCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending schema migrations and exit (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g, false)
			if err != nil {
				return err
			}
			logger := newLogger(cfg)
			st, err := app.OpenStore(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			logger.Info("migrations applied")
			return st.Close()
		},
	}
}
