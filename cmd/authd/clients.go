package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/clients"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/revocation"
	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

func newClientsCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "Manage OAuth clients (operators): create, list, get, update, rotate-secret, delete",
		Long: `Manage the OAuth clients, as an operator with access to the database (the
back-office API does the same for the service owner's admins). Operators
act as the system: no rights are checked, every change is audited.

A confidential client's secret is printed once, by create and
rotate-secret: store it at once. Rotation and deletion are written to the
revocation log, which every running server reads within
revocation.poll_interval: a deleted client's tokens stop there, and a
rotated secret takes effect there, without a restart.`,
	}
	var asJSON bool
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")

	var p clients.CreateParams
	var grants, scopes, audiences, mode string
	var ttls [3]string // access, refresh, refresh idle
	create := &cobra.Command{
		Use:   "create --name NAME --type confidential|public [--grant-types G1,G2] [--scopes S1,S2] [--audiences A1,A2] [--org ID [--mode live|test]] [--access-token-ttl D] [--refresh-token-ttl D] [--refresh-token-idle-ttl D]",
		Short: "Register a client and print it (with a confidential client's secret, once)",
		Long: "Register a client. Grant types: " + strings.Join(clients.GrantTypes, ", ") +
			" (client_credentials for confidential clients only). Scopes (client permissions, confidential clients only): " +
			strings.Join(clients.Permissions, ", ") + ". Audiences: absolute URIs or names, at most 10. " +
			"--org binds the client to a business (in --mode, default live). " + ttlHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for i, d := range []*time.Duration{&p.AccessTokenTTL, &p.RefreshTokenTTL, &p.RefreshIdleTTL} {
				var err error
				if *d, err = parseTTL(ttlFlags[i], ttls[i]); err != nil {
					return err
				}
			}
			svc, closeFn, err := openClients(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer closeFn()
			p.GrantTypes, p.Scopes, p.Audiences, p.Mode = splitList(grants), splitList(scopes), splitList(audiences), store.Mode(mode)
			in, err := svc.Create(cmd.Context(), clients.Operator, p)
			if err != nil {
				return clientCLIError(err)
			}
			return printClient(cmd.OutOrStdout(), asJSON, in.Info, in.Secret)
		},
	}
	create.Flags().StringVar(&p.Name, "name", "", "name shown in listings (required)")
	create.Flags().StringVar(&p.Type, "type", "", "confidential or public (required)")
	create.Flags().StringVar(&grants, "grant-types", "", "comma-separated grant types")
	create.Flags().StringVar(&scopes, "scopes", "", "comma-separated client permissions")
	create.Flags().StringVar(&audiences, "audiences", "", "comma-separated audiences")
	create.Flags().StringVar(&p.OrganisationID, "org", "", "business the client is bound to")
	create.Flags().StringVar(&mode, "mode", "", "live or test (with --org; default live)")
	addTTLFlags(create, &ttls)
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("type")

	var listPage, listSize int
	list := &cobra.Command{
		Use:   "list [--page N --size M]",
		Short: "List the clients, oldest first (never a secret): every one, or one page",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listPage < 0 || listSize < 1 || listSize > listMaxSize {
				return &exitErr{code: exitConfig, err: fmt.Errorf("--page must be 1 or more (0: every page) and --size between 1 and %d", listMaxSize)}
			}
			svc, closeFn, err := openClients(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer closeFn()
			infos, err := listClients(cmd.Context(), svc, listPage, listSize)
			if err != nil {
				return clientCLIError(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				rows := make([]cliClient, len(infos))
				for i, in := range infos {
					rows[i] = toCLIClient(in, "")
				}
				return json.NewEncoder(out).Encode(rows)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT ID\tTYPE\tNAME\tGRANT TYPES\tSCOPES\tBOUND TO\tLIFETIMES\tPREVIOUS SECRET UNTIL")
			for _, in := range infos {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.Type, in.Name, dash(strings.Join(in.GrantTypes, ",")),
					dash(strings.Join(in.Scopes, ",")), dash(binding(in)), lifetimes(in.Lifetimes), fmtTime(in.PreviousSecretExpiresAt))
			}
			return tw.Flush()
		},
	}
	list.Flags().IntVar(&listPage, "page", 0, "print only this page (1-based); 0: every client")
	list.Flags().IntVar(&listSize, "size", listMaxSize, "clients per page")

	var upd struct {
		name, grants, scopes, audiences string
		ttls                            [3]string
	}
	update := &cobra.Command{
		Use: "update CLIENT_ID [--name NAME] [--grant-types G1,G2] [--scopes S1,S2] [--audiences A1,A2] " +
			"[--access-token-ttl D] [--refresh-token-ttl D] [--refresh-token-idle-ttl D]",
		Short: "Change a client's name, grant types, scopes, audiences or token lifetimes; every server sees it at once",
		Long: "Change what the flags given name, under the rules of create; the others stay. An empty list " +
			"(--scopes '') removes every entry. The id, type, secret and binding cannot change. " + ttlHelp +
			" Running servers drop their cached copy of the client as they read the revocation log: grants, scopes " +
			"and audiences taken away are refused from the next request (a refresh token of a family holding a scope " +
			"or audience taken away included); access tokens already issued keep working until they expire.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u clients.UpdateParams
			fl := cmd.Flags()
			if fl.Changed("name") {
				u.Name = &upd.name
			}
			for _, l := range []struct {
				flag string
				src  string
				dst  **[]string
			}{{"grant-types", upd.grants, &u.GrantTypes}, {"scopes", upd.scopes, &u.Scopes}, {"audiences", upd.audiences, &u.Audiences}} {
				if fl.Changed(l.flag) {
					v := splitList(l.src)
					if v == nil {
						v = []string{}
					}
					*l.dst = &v
				}
			}
			for i, dst := range []**time.Duration{&u.AccessTokenTTL, &u.RefreshTokenTTL, &u.RefreshIdleTTL} {
				if !fl.Changed(ttlFlags[i]) {
					continue
				}
				d, err := parseTTL(ttlFlags[i], upd.ttls[i])
				if err != nil {
					return err
				}
				*dst = &d
			}
			if u == (clients.UpdateParams{}) {
				return &exitErr{code: exitConfig, err: errors.New("nothing to change: give at least one of --name, --grant-types, --scopes, --audiences, --access-token-ttl, --refresh-token-ttl, --refresh-token-idle-ttl")}
			}
			svc, closeFn, err := openClients(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer closeFn()
			in, err := svc.Update(cmd.Context(), clients.Operator, args[0], u)
			if err != nil {
				return clientCLIError(err)
			}
			return printClient(cmd.OutOrStdout(), asJSON, in, "")
		},
	}
	update.Flags().StringVar(&upd.name, "name", "", "new name")
	update.Flags().StringVar(&upd.grants, "grant-types", "", "comma-separated grant types (replace the current ones)")
	update.Flags().StringVar(&upd.scopes, "scopes", "", "comma-separated client permissions (replace the current ones)")
	update.Flags().StringVar(&upd.audiences, "audiences", "", "comma-separated audiences (replace the current ones)")
	addTTLFlags(update, &upd.ttls)

	get := &cobra.Command{
		Use:   "get CLIENT_ID",
		Short: "Show one client (never its secret)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, closeFn, err := openClients(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer closeFn()
			in, err := svc.Get(cmd.Context(), clients.Operator, args[0])
			if err != nil {
				return clientCLIError(err)
			}
			return printClient(cmd.OutOrStdout(), asJSON, in, "")
		},
	}

	var expiresAt string
	rotate := &cobra.Command{
		Use:   "rotate-secret CLIENT_ID [--expires-at now|RFC3339]",
		Short: "Give a confidential client a new secret and print it (once); the current one stops at --expires-at",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			expiry, err := parseExpiresAt(expiresAt)
			if err != nil {
				return err
			}
			svc, closeFn, err := openClients(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer closeFn()
			in, err := svc.RotateSecret(cmd.Context(), clients.Operator, args[0], expiry)
			if err != nil {
				return clientCLIError(err)
			}
			return printClient(cmd.OutOrStdout(), asJSON, in.Info, in.Secret)
		},
	}
	rotate.Flags().StringVar(&expiresAt, "expires-at", "now", `when the current secret stops working: "now" or an RFC 3339 time at most 30 days away`)

	del := &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete a client: its secret and every token issued to it stop on every replica",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, closeFn, err := openClients(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer closeFn()
			if err := svc.Delete(cmd.Context(), clients.Operator, args[0]); err != nil {
				return clientCLIError(err)
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"client_id": args[0], "deleted": true})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, get, update, rotate, del)
	return cmd
}

// openClients opens what client management needs: the store, the
// revocation log (a deleted client's revocation, a rotation's change) and
// the token and refresh services that write to it, the identity rules (a
// binding names a business) and the audit trail. Redis is not needed:
// running servers read the log.
func openClients(ctx context.Context, g *globalFlags) (*clients.Service, func(), error) {
	cfg, err := loadConfig(g, false)
	if err != nil {
		return nil, nil, err
	}
	logger := newLogger(cfg)
	st, err := app.OpenStore(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	key, err := secretbox.DeriveKey(cfg.Secrets.System, "refresh-tokens", 32)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	rec := audit.New(st, logger)
	revs := revocation.New(st, nil, revocation.Config{}, logger, nil)
	svc := clients.New(st, clients.Config{
		Identity: identity.New(st, memcache.New(memcache.Options{}), nil, rec, identity.Config{QueryTimeout: cfg.Database.QueryTimeout}, logger),
		// No signer: this token service only writes revocations.
		Tokens:      token.New(nil, revs, cfg.Issuer, nil),
		Refresh:     refresh.New(st, key, refresh.Config{}, rec, nil),
		Revocations: revs, Audit: rec, Logger: logger,
		MaxAccessTokenTTL: cfg.Tokens.MaxAccessTokenTTL, MaxRefreshTokenTTL: cfg.Tokens.RefreshTokenTTL, Reserved: app.ReservedClients,
	})
	return svc, func() { _ = st.Close() }, nil
}

// cliClient is the JSON the CLI prints.
type cliClient struct {
	ClientID                string     `json:"client_id"`
	Name                    string     `json:"name"`
	Type                    string     `json:"type"`
	GrantTypes              []string   `json:"grant_types"`
	Scopes                  []string   `json:"scopes"`
	Audiences               []string   `json:"audiences"`
	OrganisationID          string     `json:"organisation_id,omitempty"`
	Mode                    string     `json:"mode,omitempty"`
	AccessTokenTTL          int64      `json:"access_token_ttl,omitempty"`       // seconds; absent: the default
	RefreshTokenTTL         int64      `json:"refresh_token_ttl,omitempty"`      // seconds; absent: the default
	RefreshTokenIdleTTL     int64      `json:"refresh_token_idle_ttl,omitempty"` // seconds; absent: the default
	CreatedAt               time.Time  `json:"created_at"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	ClientSecret            string     `json:"client_secret,omitempty"`
}

func toCLIClient(in clients.Info, secret string) cliClient {
	return cliClient{ClientID: in.ID, Name: in.Name, Type: in.Type, GrantTypes: in.GrantTypes, Scopes: in.Scopes,
		Audiences: in.Audiences, OrganisationID: in.OrganisationID, Mode: string(in.Mode), CreatedAt: in.CreatedAt,
		PreviousSecretExpiresAt: in.PreviousSecretExpiresAt, ClientSecret: secret,
		AccessTokenTTL: int64(in.AccessTokenTTL / time.Second), RefreshTokenTTL: int64(in.RefreshTokenTTL / time.Second),
		RefreshTokenIdleTTL: int64(in.RefreshIdleTTL / time.Second)}
}

func binding(in clients.Info) string {
	if in.OrganisationID == "" {
		return ""
	}
	return in.OrganisationID + " (" + string(in.Mode) + ")"
}

func printClient(w io.Writer, asJSON bool, in clients.Info, secret string) error {
	if asJSON {
		return json.NewEncoder(w).Encode(toCLIClient(in, secret))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "client id:\t%s\n", in.ID)
	fmt.Fprintf(tw, "name:\t%s\n", in.Name)
	fmt.Fprintf(tw, "type:\t%s\n", in.Type)
	fmt.Fprintf(tw, "grant types:\t%s\n", dash(strings.Join(in.GrantTypes, " ")))
	fmt.Fprintf(tw, "scopes:\t%s\n", dash(strings.Join(in.Scopes, " ")))
	fmt.Fprintf(tw, "audiences:\t%s\n", dash(strings.Join(in.Audiences, " ")))
	fmt.Fprintf(tw, "bound to:\t%s\n", dash(binding(in)))
	fmt.Fprintf(tw, "lifetimes:\t%s\n", lifetimes(in.Lifetimes))
	if in.PreviousSecretExpiresAt != nil {
		fmt.Fprintf(tw, "previous secret until:\t%s\n", fmtTime(in.PreviousSecretExpiresAt))
	}
	if secret != "" {
		fmt.Fprintf(tw, "client secret:\t%s\n", secret)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if secret != "" {
		_, err := fmt.Fprintln(w, "This client secret is shown only now: store it safely.")
		return err
	}
	return nil
}

// clientCLIError turns validation failures into configuration-style exits
// (2) naming the flag; everything else exits 1.
func clientCLIError(err error) error {
	var ve *clients.ValidationError
	switch {
	case errors.As(err, &ve):
		return &exitErr{code: exitConfig, err: fmt.Errorf("%s: %s", clientFlag(ve.Field), ve.Message)}
	case errors.Is(err, clients.ErrUnknown):
		return errors.New("no such client")
	case errors.Is(err, clients.ErrPublic):
		return errors.New("a public client has no secret to rotate")
	}
	return err
}

func clientFlag(field string) string {
	name, _, _ := strings.Cut(field, "[")
	switch name {
	case "organisation_id":
		return "--org"
	case "expires_at":
		return "--expires-at"
	case "refresh_token_idle_ttl":
		return "--refresh-token-idle-ttl"
	}
	return "--" + strings.ReplaceAll(name, "_", "-")
}

// listMaxSize is the largest page the list command asks for (the API's).
const listMaxSize = 100

// listClients reads one page, or every client page by page.
func listClients(ctx context.Context, svc *clients.Service, page, size int) ([]clients.Info, error) {
	if page > 0 {
		infos, _, err := svc.List(ctx, clients.Operator, store.Page{Offset: (page - 1) * size, Size: size})
		return infos, err
	}
	var all []clients.Info
	for off := 0; ; off += size {
		infos, total, err := svc.List(ctx, clients.Operator, store.Page{Offset: off, Size: size})
		if err != nil {
			return nil, err
		}
		all = append(all, infos...)
		if len(infos) < size || off+size >= total {
			return all, nil
		}
	}
}

// ttlFlags are the lifetime flags, in the order of Lifetimes' fields.
var ttlFlags = [3]string{"access-token-ttl", "refresh-token-ttl", "refresh-token-idle-ttl"}

const ttlHelp = "Lifetimes (--access-token-ttl, --refresh-token-ttl, --refresh-token-idle-ttl) are durations " +
	"(2m, 12h, 720h) or seconds; 0 or \"default\" takes the service's (tokens.*). Access: 1m to " +
	"tokens.max_access_token_ttl; refresh: 1m to tokens.refresh_token_ttl, idle at most the absolute one."

func addTTLFlags(cmd *cobra.Command, dst *[3]string) {
	cmd.Flags().StringVar(&dst[0], ttlFlags[0], "", "access-token lifetime (duration or seconds; 0: the default)")
	cmd.Flags().StringVar(&dst[1], ttlFlags[1], "", "absolute refresh-family lifetime (duration or seconds; 0: the default)")
	cmd.Flags().StringVar(&dst[2], ttlFlags[2], "", "idle refresh-family lifetime (duration or seconds; 0: the default)")
}

// parseTTL reads a lifetime flag: a Go duration, whole seconds, or
// "default" (also 0 and empty): the service's default.
func parseTTL(flag, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "default" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > 1<<31 {
			return 0, &exitErr{code: exitConfig, err: fmt.Errorf("--%s: %q is out of range", flag, v)}
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, &exitErr{code: exitConfig, err: fmt.Errorf("--%s: %q is neither a duration (2m, 12h) nor seconds", flag, v)}
	}
	return d, nil
}

// lifetimes shows a client's lifetimes: access, refresh (absolute/idle).
func lifetimes(l clients.Lifetimes) string {
	if l == (clients.Lifetimes{}) {
		return "default"
	}
	f := func(d time.Duration) string {
		if d == 0 {
			return "default"
		}
		return d.String()
	}
	return "access " + f(l.AccessTokenTTL) + ", refresh " + f(l.RefreshTokenTTL) + " (idle " + f(l.RefreshIdleTTL) + ")"
}
