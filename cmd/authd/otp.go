package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/authd/authd/internal/otp/sender"
)

func newOTPCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "otp", Short: "One-time code delivery helpers"}
	var dev bool
	secret := &cobra.Command{
		Use:   "webhook-secret",
		Short: "Print the secret that signs webhook OTP deliveries (X-Authd-Signature)",
		Long: `Print the key of the X-Authd-Signature HMAC the webhook OTP sender puts on
every request: otp.webhook_secret when set, otherwise a key derived from the
system secret. The header is "t=<unix seconds>,v1=<hex>"; a receiver checks
that v1 equals hex(HMAC-SHA256(key, "<t>." + raw body)), the key being the
printed string's bytes, refuses a t older than its tolerance (5 minutes by
default) and deduplicates on otp_id. --dev uses the development system
secret kept in the data directory, as serve --dev does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g, dev)
			if err != nil {
				return err
			}
			key, err := sender.WebhookSecret(cfg.OTP.WebhookSecret, cfg.Secrets.System)
			if err != nil {
				return &exitErr{code: exitConfig, err: err}
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(key))
			return err
		},
	}
	secret.Flags().BoolVar(&dev, "dev", false, "use the development system secret in the data directory")
	cmd.AddCommand(secret)
	return cmd
}
