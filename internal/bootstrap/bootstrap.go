// Package bootstrap creates the first network on an empty database: the
// service owner, one business, an admin user, the default OAuth clients and
// one public and one secret API key per mode, in one transaction.
package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/ident"
	"github.com/authd/authd/internal/oauth"
	"github.com/authd/authd/internal/password"
	"github.com/authd/authd/internal/store"
)

// Default client ids.
const (
	ClientBackoffice    = "backoffice"
	ClientSelfService   = "selfservice"
	ClientIntrospection = "introspection"
)

// Scopes given to the bootstrap keys.
var (
	PublicKeyScopes = []string{"contacts:register", "otp:send", "contacts:authenticate"}
	SecretKeyScopes = []string{"*"}
)

// Options name what bootstrap creates. Empty fields take defaults; an empty
// AdminPassword is generated.
type Options struct {
	Issuer           string
	ServiceOwnerName string
	BusinessName     string
	AdminEmail       string
	AdminPassword    string
}

// Result is the bootstrap JSON of contract.md.
type Result struct {
	Issuer       string             `json:"issuer"`
	ServiceOwner Named              `json:"service_owner"`
	Business     Named              `json:"business"`
	Admin        Admin              `json:"admin"`
	Clients      Clients            `json:"clients"`
	APIKeys      map[string]KeyPair `json:"api_keys"`
}

// Named is an id and name.
type Named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Admin is the admin user's credentials.
type Admin struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Clients lists the default OAuth clients.
type Clients struct {
	Backoffice    ClientCreds `json:"backoffice"`
	SelfService   ClientCreds `json:"selfservice"`
	Introspection ClientCreds `json:"introspection"`
}

// ClientCreds is a client id and, for confidential clients, its secret.
type ClientCreds struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
}

// KeyPair is one mode's public and secret key.
type KeyPair struct {
	Public string `json:"public"`
	Secret string `json:"secret"`
}

// Run bootstraps st. It returns store.ErrNotEmpty, changing nothing, when
// the database already holds an organisation.
func Run(ctx context.Context, st store.Store, hasher *password.Hasher, sealer apikey.Sealer, opts Options) (*Result, error) {
	if opts.ServiceOwnerName == "" {
		opts.ServiceOwnerName = "Service Owner"
	}
	if opts.BusinessName == "" {
		opts.BusinessName = "Demo Business"
	}
	if opts.AdminEmail == "" {
		opts.AdminEmail = "admin@example.com"
	}
	email, err := ident.Email(opts.AdminEmail)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: admin email %q is refused: %w", opts.AdminEmail, err)
	}
	opts.AdminEmail = email
	if opts.AdminPassword == "" {
		opts.AdminPassword = randomString(18)
	} else if len(opts.AdminPassword) < 12 {
		return nil, errors.New("bootstrap: admin password must be at least 12 characters")
	}
	pwHash, err := hasher.Hash(opts.AdminPassword)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	res := &Result{
		Issuer:       opts.Issuer,
		ServiceOwner: Named{ID: newID(), Name: opts.ServiceOwnerName},
		Business:     Named{ID: newID(), Name: opts.BusinessName},
		Admin:        Admin{ID: newID(), Email: opts.AdminEmail, Password: opts.AdminPassword},
		APIKeys:      map[string]KeyPair{},
	}
	introspectionSecret := randomString(32)
	res.Clients = Clients{
		Backoffice:    ClientCreds{ClientID: ClientBackoffice},
		SelfService:   ClientCreds{ClientID: ClientSelfService},
		Introspection: ClientCreds{ClientID: ClientIntrospection, ClientSecret: introspectionSecret},
	}

	err = st.Tx(ctx, func(tx store.Store) error {
		empty, err := tx.IsEmpty(ctx)
		if err != nil {
			return err
		}
		if !empty {
			return store.ErrNotEmpty
		}
		for _, o := range []store.Organisation{
			{ID: res.ServiceOwner.ID, Name: res.ServiceOwner.Name, Type: store.OrgTypeServiceOwner, CreatedAt: now},
			{ID: res.Business.ID, Name: res.Business.Name, Type: store.OrgTypeBusiness, ParentID: res.ServiceOwner.ID, CreatedAt: now},
		} {
			if err := tx.CreateOrganisation(ctx, o); err != nil {
				return err
			}
		}
		if err := tx.CreateUser(ctx, store.User{ID: res.Admin.ID, Email: res.Admin.Email, PasswordHash: pwHash,
			FirstName: "Admin", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateMembership(ctx, store.Membership{UserID: res.Admin.ID, OrganisationID: res.ServiceOwner.ID,
			Role: "owner", IsDefault: true, CreatedAt: now}); err != nil {
			return err
		}
		for _, c := range []store.Client{
			{ID: ClientBackoffice, Name: "Back-office portal", Public: true,
				GrantTypes: []string{oauth.GrantPassword, oauth.GrantRefreshToken, oauth.GrantTokenExchange}, CreatedAt: now},
			{ID: ClientSelfService, Name: "Self-service apps", Public: true,
				GrantTypes:     []string{oauth.GrantPassword, oauth.GrantRefreshToken, oauth.GrantOTP, oauth.GrantTokenExchange},
				OrganisationID: res.Business.ID, Mode: store.ModeLive, CreatedAt: now},
			{ID: ClientIntrospection, Name: "Reverse proxies and the CRM", SecretHash: oauth.HashSecret(introspectionSecret),
				GrantTypes: []string{oauth.GrantClientCredentials},
				Scopes:     []string{oauth.ScopeIntrospect, oauth.ScopeRevokeAny, oauth.ScopeRevocationsRead}, CreatedAt: now},
		} {
			if err := tx.CreateClient(ctx, c); err != nil {
				return err
			}
		}
		for _, mode := range []store.Mode{store.ModeLive, store.ModeTest} {
			var pair KeyPair
			for _, typ := range []string{store.APIKeyPublic, store.APIKeySecret} {
				scopes := PublicKeyScopes
				if typ == store.APIKeySecret {
					scopes = SecretKeyScopes
				}
				key, rec, err := apikey.NewRecord(typ, mode, res.Business.ID, "Bootstrap "+typ+" key", res.Admin.ID, scopes, sealer, now)
				if err != nil {
					return err
				}
				if err := tx.CreateAPIKey(ctx, rec); err != nil {
					return err
				}
				if typ == store.APIKeyPublic {
					pair.Public = key
				} else {
					pair.Secret = key
				}
			}
			res.APIKeys[string(mode)] = pair
		}
		return nil
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		// another bootstrap won a race on the fixed client ids
		return nil, store.ErrNotEmpty
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
