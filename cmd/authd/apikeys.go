package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/revocation"
	"github.com/authd/authd/internal/store"
)

// cliActor is who the audit trail names for operator changes.
var cliActor = apikey.Actor{Kind: store.KindSystem, ID: "cli"}

func newAPIKeysCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikeys",
		Short: "Manage API keys (operators): create, list, roll, revoke",
		Long: `Manage the API keys of any organisation, as an operator with access to the
database (the back-office API does the same for a business's admins).

Secret keys are printed once, by create and roll: store them at once.
Roll and revoke need the database only: they are written to the revocation
log, which every running server reads within revocation.poll_interval.`,
	}
	var asJSON bool
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")

	var p apikey.CreateParams
	var mode, scopes string
	create := &cobra.Command{
		Use:   "create --org ID --name NAME --scopes S1,S2 [--type secret|public] [--mode live|test]",
		Short: "Create a key and print it (once)",
		Long:  "Create a key. Scopes: " + scopeList() + ".",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, closeFn, err := openAPIKeys(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer closeFn()
			p.Mode = store.Mode(mode)
			p.Scopes = splitList(scopes)
			in, err := svc.Create(cmd.Context(), cliActor, p)
			if err != nil {
				return cliError(err)
			}
			return printKey(cmd.OutOrStdout(), asJSON, in, nil)
		},
	}
	create.Flags().StringVar(&p.OrganisationID, "org", "", "organisation id (required)")
	create.Flags().StringVar(&mode, "mode", "live", "live or test")
	create.Flags().StringVar(&p.Type, "type", "secret", "secret or public")
	create.Flags().StringVar(&p.Name, "name", "", "name shown in listings (required)")
	create.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes (required)")
	create.Flags().IntVar(&p.RateLimit, "rate-limit", 0, "requests per second for this key (0: none)")
	create.Flags().IntVar(&p.RateLimitPerMinute, "rate-limit-per-minute", 0, "requests per minute for this key (0: none)")
	_ = create.MarkFlagRequired("org")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("scopes")

	var listOrg, listMode string
	var page, size int
	list := &cobra.Command{
		Use:   "list --org ID [--mode live|test]",
		Short: "List an organisation's keys (secret keys masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listMode != "" && !store.Mode(listMode).Valid() {
				return &exitErr{code: exitConfig, err: fmt.Errorf("--mode: %q is not live or test", listMode)}
			}
			svc, closeFn, err := openAPIKeys(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer closeFn()
			infos, err := svc.List(cmd.Context(), apikey.Scope{OrganisationID: listOrg, Mode: store.Mode(listMode), Operator: true},
				store.Page{Offset: (max(page, 1) - 1) * size, Size: size})
			if err != nil {
				return cliError(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				rows := make([]cliKey, len(infos))
				for i, in := range infos {
					rows[i] = toCLIKey(in, false)
				}
				return json.NewEncoder(out).Encode(rows)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTYPE\tMODE\tKEY\tNAME\tSCOPES\tSTATUS\tEXPIRES\tLAST USED\tROLLED FROM")
			for _, in := range infos {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.Type, in.Mode, in.Masked, in.Name,
					strings.Join(in.Scopes, ","), in.Status, fmtTime(in.ExpiresAt), fmtTime(in.LastUsedAt), dash(in.RolledFrom))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listOrg, "org", "", "organisation id (required)")
	list.Flags().StringVar(&listMode, "mode", "", "live or test (default: both)")
	list.Flags().IntVar(&page, "page", 1, "page number")
	list.Flags().IntVar(&size, "size", 50, "keys per page")
	_ = list.MarkFlagRequired("org")

	var expiresAt string
	roll := &cobra.Command{
		Use:   "roll KEY_ID [--expires-at now|RFC3339]",
		Short: "Issue a new key for KEY_ID and print it (once); the old key expires at --expires-at",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			expiry, err := parseExpiresAt(expiresAt)
			if err != nil {
				return err
			}
			svc, closeFn, err := openAPIKeys(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer closeFn()
			nk, old, err := svc.Roll(cmd.Context(), cliActor, apikey.Scope{Operator: true}, args[0], expiry)
			if err != nil {
				return cliError(err)
			}
			return printKey(cmd.OutOrStdout(), asJSON, nk, &old)
		},
	}
	roll.Flags().StringVar(&expiresAt, "expires-at", "now", `when the old key stops working: "now" or an RFC 3339 time at most 30 days away`)

	revoke := &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke a key: it stops working on every replica",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, closeFn, err := openAPIKeys(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer closeFn()
			in, err := svc.Revoke(cmd.Context(), cliActor, apikey.Scope{Operator: true}, args[0])
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(toCLIKey(in, false))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (%s %s, %s)\n", in.ID, in.Type, in.Mode, in.Masked)
			return nil
		},
	}
	cmd.AddCommand(create, list, roll, revoke)
	return cmd
}

// openAPIKeys opens what key management needs: the store (with the
// revocation log that tells running servers of roll and revoke), the
// sealing box, the audit trail. Redis is not needed.
func openAPIKeys(ctx context.Context, g *globalFlags) (*apikey.Service, func(), error) {
	cfg, err := loadConfig(g, false)
	if err != nil {
		return nil, nil, err
	}
	logger := newLogger(cfg)
	st, err := app.OpenStore(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	box, err := apikey.NewBox(cfg.Secrets.System)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	revs := revocation.New(st, nil, revocation.Config{}, logger, nil)
	scopes, err := app.APIKeyScopes(cfg)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	svc := apikey.NewService(apikey.ServiceOptions{Store: st, Revocations: revs, ChangeTTL: app.APIKeyChangeTTL(cfg), Scopes: scopes,
		Box: box, Audit: audit.New(st, logger), Logger: logger})
	return svc, func() { _ = st.Close() }, nil
}

// cliKey is the JSON the CLI prints.
type cliKey struct {
	ID                 string     `json:"id"`
	OrganisationID     string     `json:"organisation_id"`
	Type               string     `json:"type"`
	Mode               string     `json:"mode"`
	Name               string     `json:"name"`
	Scopes             []string   `json:"scopes"`
	Key                string     `json:"key,omitempty"`
	Masked             string     `json:"masked"`
	Status             string     `json:"status"`
	RateLimit          int        `json:"rate_limit"`
	RateLimitPerMinute int        `json:"rate_limit_per_minute"`
	RolledFrom         string     `json:"rolled_from,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	ExpiresAt          *time.Time `json:"expires_at,omitempty"`
	LastUsedAt         *time.Time `json:"last_used_at,omitempty"`
	OldKey             *cliKey    `json:"old_key,omitempty"`
}

// toCLIKey converts; withKey keeps the full key (create and roll only:
// listings never print one).
func toCLIKey(in apikey.Info, withKey bool) cliKey {
	k := cliKey{ID: in.ID, OrganisationID: in.OrganisationID, Type: in.Type, Mode: string(in.Mode), Name: in.Name,
		Scopes: in.Scopes, Masked: in.Masked, Status: in.Status, RateLimit: in.RateLimit,
		RateLimitPerMinute: in.RateLimitPerMinute, RolledFrom: in.RolledFrom,
		CreatedAt: in.CreatedAt, ExpiresAt: in.ExpiresAt, LastUsedAt: in.LastUsedAt}
	if withKey {
		k.Key = in.Key
	}
	return k
}

func printKey(w io.Writer, asJSON bool, in apikey.Info, old *apikey.Info) error {
	if asJSON {
		k := toCLIKey(in, true)
		if old != nil {
			o := toCLIKey(*old, false)
			k.OldKey = &o
		}
		return json.NewEncoder(w).Encode(k)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\n", in.ID)
	fmt.Fprintf(tw, "organisation:\t%s\n", in.OrganisationID)
	fmt.Fprintf(tw, "type / mode:\t%s %s\n", in.Type, in.Mode)
	fmt.Fprintf(tw, "name:\t%s\n", in.Name)
	fmt.Fprintf(tw, "scopes:\t%s\n", strings.Join(in.Scopes, " "))
	if in.RolledFrom != "" {
		fmt.Fprintf(tw, "rolled from:\t%s\n", in.RolledFrom)
	}
	if old != nil {
		fmt.Fprintf(tw, "old key expires:\t%s\n", fmtTime(old.ExpiresAt))
	}
	fmt.Fprintf(tw, "key:\t%s\n", in.Key)
	if err := tw.Flush(); err != nil {
		return err
	}
	if in.Type == store.APIKeySecret {
		_, err := fmt.Fprintln(w, "This secret key is shown only now: store it safely.")
		return err
	}
	return nil
}

// cliError turns validation failures into configuration-style exits (2).
func cliError(err error) error {
	var ve *apikey.ValidationError
	switch {
	case errors.As(err, &ve):
		return &exitErr{code: exitConfig, err: fmt.Errorf("%s: %s", flagName(ve.Field), ve.Message)}
	case errors.Is(err, store.ErrNotFound):
		return errors.New("no such API key or organisation")
	}
	return err
}

func flagName(field string) string {
	switch {
	case field == "organisation_id":
		return "--org"
	case field == "rate_limit":
		return "--rate-limit"
	case field == "rate_limit_per_minute":
		return "--rate-limit-per-minute"
	case field == "expires_at":
		return "--expires-at"
	case strings.HasPrefix(field, "scopes"):
		return "--scopes"
	}
	return "--" + field
}

func scopeList() string {
	names := make([]string, len(apikey.BuiltIn))
	for i, s := range apikey.BuiltIn {
		names[i] = s.Name
		if s.Public {
			names[i] += " (public)"
		}
	}
	return strings.Join(names, ", ")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
