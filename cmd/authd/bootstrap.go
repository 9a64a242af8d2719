package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/bootstrap"
	"github.com/authd/authd/internal/password"
	"github.com/authd/authd/internal/store"
)

func newBootstrapCmd(g *globalFlags) *cobra.Command {
	var (
		asJSON bool
		opts   bootstrap.Options
	)
	cmd := &cobra.Command{
		Use:   "bootstrap --json",
		Short: "Create the first network on an empty database and print its credentials",
		Long: `On an empty database: create the service owner, one business, an admin user
(owner of the service owner), the default OAuth clients (backoffice,
selfservice, introspection) and one public and one secret API key per mode,
and print them as JSON on stdout. Secrets appear only here.

On a non-empty database it changes nothing and exits with code 3.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !asJSON {
				return &exitErr{code: exitConfig, err: errors.New("bootstrap prints JSON only: pass --json")}
			}
			cfg, err := loadConfig(g, false)
			if err != nil {
				return err
			}
			logger := newLogger(cfg)
			ctx := cmd.Context()
			st, err := app.OpenStore(ctx, cfg, logger)
			if err != nil {
				return err
			}
			defer st.Close()
			// A non-empty database is refused before anything is written
			// (bootstrap.Run checks again inside its transaction).
			if empty, err := st.IsEmpty(ctx); err != nil {
				return err
			} else if !empty {
				return &exitErr{code: exitNotEmpty, err: errors.New("the database is not empty: nothing was changed")}
			}
			// The signing key is created here too, so the first serve
			// does no key generation.
			if err := initKeys(ctx, cfg, st, logger); err != nil {
				return err
			}
			box, err := apikey.NewBox(cfg.Secrets.System)
			if err != nil {
				return err
			}
			opts.Issuer = cfg.Issuer
			res, err := bootstrap.Run(ctx, st, password.New(app.PasswordParams(cfg)), box, opts)
			if errors.Is(err, store.ErrNotEmpty) {
				return &exitErr{code: exitNotEmpty, err: errors.New("the database is not empty: nothing was changed")}
			}
			if err != nil {
				return fmt.Errorf("bootstrap: %w", err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON (required)")
	cmd.Flags().StringVar(&opts.BusinessName, "business-name", "", "name of the business (default \"Demo Business\")")
	cmd.Flags().StringVar(&opts.AdminEmail, "admin-email", "", "admin user's email (default admin@example.com)")
	cmd.Flags().StringVar(&opts.AdminPassword, "admin-password", "", "admin user's password, at least 12 characters (default: generated)")
	return cmd
}
