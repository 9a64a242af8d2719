package store

import (
	"context"
	"time"
)

// Mode is the live/test partition every key, token and contact belongs to.
type Mode string

// Modes.
const (
	ModeLive Mode = "live"
	ModeTest Mode = "test"
)

// Valid reports whether m is live or test.
func (m Mode) Valid() bool { return m == ModeLive || m == ModeTest }

// Organisation types known today. Types are data: the tree logic never
// branches on them except to recognise the root.
const (
	OrgTypeServiceOwner = "service_owner"
	OrgTypeBusiness     = "business"
	OrgTypeMerchant     = "merchant"
)

// Organisation is a node of a network tree. ParentID is empty for the root
// (the service owner).
type Organisation struct {
	ID        string
	Name      string
	Type      string
	ParentID  string
	CreatedAt time.Time
}

// ActingOrganisation is an organisation a user may act for, with the
// strongest role the user's memberships give there.
type ActingOrganisation struct {
	Organisation
	Role string
}

// User is a back-office person.
type User struct {
	ID           string
	Email        string // stored lower-cased
	PasswordHash string // PHC string (argon2id) or an imported bcrypt hash
	FirstName    string
	LastName     string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Membership grants a user a role in an organisation and everything below it.
type Membership struct {
	UserID         string
	OrganisationID string
	Role           string // owner, admin, member
	IsDefault      bool
	CreatedAt      time.Time
}

// Client is an OAuth 2.0 client. SecretHash is the hex SHA-256 of a
// generated high-entropy secret; empty for public clients. After a
// rotation, PreviousSecretHash is the secret it replaced, which keeps
// authenticating the client until PreviousSecretExpiresAt (both empty when
// there is none). The lifetimes are the client's own, whole seconds; zero
// means the service's default.
type Client struct {
	ID                      string
	Name                    string
	SecretHash              string
	PreviousSecretHash      string
	PreviousSecretExpiresAt *time.Time
	Public                  bool
	GrantTypes              []string
	Scopes                  []string
	Audience                []string
	OrganisationID          string // optional tenant binding
	Mode                    Mode   // optional, with OrganisationID
	AccessTokenTTL          time.Duration
	RefreshTokenTTL         time.Duration // absolute lifetime of a refresh family
	RefreshIdleTTL          time.Duration // a family not used this long ends
	CreatedAt               time.Time
}

// API key types.
const (
	APIKeyPublic = "public"
	APIKeySecret = "secret"
)

// APIKey is an issued API key. The full key is never stored: Hash is the hex
// SHA-256 of the key (the look-up index); a public key's plaintext may be
// kept encrypted in Sealed so it can be shown again.
type APIKey struct {
	ID                 string
	OrganisationID     string
	Mode               Mode
	Type               string // public or secret
	Name               string
	Prefix             string // e.g. "sk_live_"
	Last4              string
	Hash               string
	Sealed             []byte // encrypted plaintext (public keys only)
	Scopes             []string
	RateLimit          int // requests per second; 0: none
	RateLimitPerMinute int // requests per minute; 0: none
	RolledFrom         string
	CreatedBy          string
	CreatedAt          time.Time
	ExpiresAt          *time.Time
	RevokedAt          *time.Time
	LastUsedAt         *time.Time
}

// SigningKey is a JWS signing key. Private is the encrypted (sealed) private
// key; PublicJWK is the JSON encoding of the public JWK. The key signs from
// SignsFrom until the next key's SignsFrom, and is published from CreatedAt
// until its last token has expired (computed by the keys package).
type SigningKey struct {
	KID       string
	Algorithm string
	Private   []byte
	PublicJWK []byte
	CreatedAt time.Time
	SignsFrom time.Time
}

// Page selects a slice of a listing. Size 0 means a backend default.
type Page struct {
	Offset int
	Size   int
}

// Store is authd's durable storage. Every method is safe for concurrent use.
// Methods return ErrNotFound, ErrAlreadyExists or an error wrapping
// ErrUnavailable; nothing is half-written when they fail.
type Store interface {
	IdentityStore
	RevocationStore
	IntegrationStore

	// Tx runs fn inside one transaction: every change fn makes through the
	// Store it is handed commits together or not at all.
	Tx(ctx context.Context, fn func(Store) error) error

	// IsEmpty reports whether no organisation exists yet.
	IsEmpty(ctx context.Context) (bool, error)

	CreateOrganisation(ctx context.Context, o Organisation) error
	GetOrganisation(ctx context.Context, id string) (Organisation, error)
	// ListOrganisations returns the organisations whose parent is parentID,
	// ordered by creation then id.
	ListOrganisations(ctx context.Context, parentID string, p Page) ([]Organisation, error)
	// ListActingOrganisations returns a page of the organisations userID
	// may act for (each membership's organisation and everything below
	// it), with the strongest role on the path, ordered by depth in the
	// network, then name, then id; and their total.
	ListActingOrganisations(ctx context.Context, userID string, p Page) ([]ActingOrganisation, int, error)

	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	// GetUsers returns the users with these ids, in no particular order;
	// unknown ids are left out.
	GetUsers(ctx context.Context, ids []string) ([]User, error)
	// GetUserByEmail matches the lower-cased email.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	// UpdateUser loads the user, applies fn and saves the result in one
	// transaction.
	UpdateUser(ctx context.Context, id string, fn func(User) (User, error)) error

	// ListUsers returns users ordered by creation then id.
	ListUsers(ctx context.Context, p Page) ([]User, error)

	CreateMembership(ctx context.Context, m Membership) error
	ListMemberships(ctx context.Context, userID string) ([]Membership, error)
	// ListOrganisationMembers returns the memberships held in one
	// organisation, ordered by creation then user id.
	ListOrganisationMembers(ctx context.Context, organisationID string, p Page) ([]Membership, error)
	DeleteMembership(ctx context.Context, userID, organisationID string) error

	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns a page of the clients, ordered by creation then
	// id, and how many there are in all.
	ListClients(ctx context.Context, p Page) ([]Client, int, error)
	// UpdateClient loads the client, applies fn and saves the result in
	// one transaction; fn's error is returned unchanged and nothing is
	// written. The id cannot change.
	UpdateClient(ctx context.Context, id string, fn func(Client) (Client, error)) error
	// DeleteClient removes the client (ErrNotFound when there is none).
	DeleteClient(ctx context.Context, id string) error

	CreateAPIKey(ctx context.Context, k APIKey) error
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	GetAPIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	ListAPIKeys(ctx context.Context, organisationID string, mode Mode, p Page) ([]APIKey, error)
	UpdateAPIKey(ctx context.Context, id string, fn func(APIKey) (APIKey, error)) error
	// TouchAPIKeys sets last_used_at for many keys at once (batched,
	// off the request path). Unknown ids are ignored.
	TouchAPIKeys(ctx context.Context, usedAt map[string]time.Time) error

	// ListSigningKeys returns every stored signing key, oldest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateSigningKeys runs fn over the current keys under an exclusive
	// lock shared by every replica (a PostgreSQL advisory lock, SQLite's
	// single writer); fn returns the keys to add and the kids to delete.
	// Two replicas rotating at once therefore never both add a key.
	UpdateSigningKeys(ctx context.Context, fn func([]SigningKey) (add []SigningKey, del []string, err error)) error

	// Ping checks the database is reachable.
	Ping(ctx context.Context) error
	Close() error
}
