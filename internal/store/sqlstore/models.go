package sqlstore

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/authd/authd/internal/store"
)

// Row types of the live schema. They mirror the tables the migrations
// create (migrate.go has its own frozen copies) and never leave this
// package: every method converts them to and from store values. Automatic
// timestamps are off: the conversions below set them.

type organisationRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Name      string    `gorm:"column:name"`
	Type      string    `gorm:"column:type"`
	ParentID  *string   `gorm:"column:parent_id"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (organisationRow) TableName() string { return "organisations" }

func organisationToRow(o store.Organisation) organisationRow {
	return organisationRow{ID: o.ID, Name: o.Name, Type: o.Type, ParentID: nullString(o.ParentID), CreatedAt: orNow(o.CreatedAt)}
}

func (r organisationRow) toStore() store.Organisation {
	return store.Organisation{ID: r.ID, Name: r.Name, Type: r.Type, ParentID: deref(r.ParentID), CreatedAt: r.CreatedAt.UTC()}
}

type userRow struct {
	ID           string    `gorm:"column:id;primaryKey"`
	Email        string    `gorm:"column:email"`
	PasswordHash string    `gorm:"column:password_hash"`
	FirstName    string    `gorm:"column:first_name"`
	LastName     string    `gorm:"column:last_name"`
	Disabled     bool      `gorm:"column:disabled"`
	CreatedAt    time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt    time.Time `gorm:"column:updated_at;autoCreateTime:false;autoUpdateTime:false"`
}

func (userRow) TableName() string { return "users" }

func userToRow(u store.User) userRow {
	created := orNow(u.CreatedAt)
	updated := created
	if !u.UpdatedAt.IsZero() {
		updated = ts(u.UpdatedAt)
	}
	return userRow{
		ID: u.ID, Email: normEmail(u.Email), PasswordHash: u.PasswordHash,
		FirstName: u.FirstName, LastName: u.LastName, Disabled: u.Disabled,
		CreatedAt: created, UpdatedAt: updated,
	}
}

func (r userRow) toStore() store.User {
	return store.User{
		ID: r.ID, Email: r.Email, PasswordHash: r.PasswordHash,
		FirstName: r.FirstName, LastName: r.LastName, Disabled: r.Disabled,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

func normEmail(email string) string { return strings.ToLower(email) }

type membershipRow struct {
	UserID         string    `gorm:"column:user_id;primaryKey"`
	OrganisationID string    `gorm:"column:organisation_id;primaryKey"`
	Role           string    `gorm:"column:role"`
	IsDefault      bool      `gorm:"column:is_default"`
	CreatedAt      time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (membershipRow) TableName() string { return "memberships" }

func membershipToRow(m store.Membership) membershipRow {
	return membershipRow{UserID: m.UserID, OrganisationID: m.OrganisationID, Role: m.Role, IsDefault: m.IsDefault, CreatedAt: orNow(m.CreatedAt)}
}

func (r membershipRow) toStore() store.Membership {
	return store.Membership{UserID: r.UserID, OrganisationID: r.OrganisationID, Role: r.Role, IsDefault: r.IsDefault, CreatedAt: r.CreatedAt.UTC()}
}

type clientRow struct {
	ID             string    `gorm:"column:id;primaryKey"`
	Name           string    `gorm:"column:name"`
	SecretHash     string    `gorm:"column:secret_hash"`
	Public         bool      `gorm:"column:public"`
	GrantTypes     string    `gorm:"column:grant_types"` // JSON array of strings
	Scopes         string    `gorm:"column:scopes"`      // JSON array of strings
	Audience       string    `gorm:"column:audience"`    // JSON array of strings
	OrganisationID *string   `gorm:"column:organisation_id"`
	Mode           string    `gorm:"column:mode"`
	CreatedAt      time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (clientRow) TableName() string { return "clients" }

func clientToRow(c store.Client) clientRow {
	return clientRow{
		ID: c.ID, Name: c.Name, SecretHash: c.SecretHash, Public: c.Public,
		GrantTypes: encodeList(c.GrantTypes), Scopes: encodeList(c.Scopes), Audience: encodeList(c.Audience),
		OrganisationID: nullString(c.OrganisationID), Mode: string(c.Mode), CreatedAt: orNow(c.CreatedAt),
	}
}

func (r clientRow) toStore() (store.Client, error) {
	c := store.Client{
		ID: r.ID, Name: r.Name, SecretHash: r.SecretHash, Public: r.Public,
		OrganisationID: deref(r.OrganisationID), Mode: store.Mode(r.Mode), CreatedAt: r.CreatedAt.UTC(),
	}
	var err error
	if c.GrantTypes, err = decodeList(r.GrantTypes); err != nil {
		return store.Client{}, err
	}
	if c.Scopes, err = decodeList(r.Scopes); err != nil {
		return store.Client{}, err
	}
	if c.Audience, err = decodeList(r.Audience); err != nil {
		return store.Client{}, err
	}
	return c, nil
}

type apiKeyRow struct {
	ID             string     `gorm:"column:id;primaryKey"`
	OrganisationID string     `gorm:"column:organisation_id"`
	Mode           string     `gorm:"column:mode"`
	Type           string     `gorm:"column:type"`
	Name           string     `gorm:"column:name"`
	Prefix         string     `gorm:"column:prefix"`
	Last4          string     `gorm:"column:last4"`
	Hash           string     `gorm:"column:hash"`
	Sealed         []byte     `gorm:"column:sealed"`
	Scopes         string     `gorm:"column:scopes"` // JSON array of strings
	RateLimit      int        `gorm:"column:rate_limit"`
	RolledFrom     string     `gorm:"column:rolled_from"`
	CreatedBy      string     `gorm:"column:created_by"`
	CreatedAt      time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt      *time.Time `gorm:"column:expires_at"`
	RevokedAt      *time.Time `gorm:"column:revoked_at"`
	LastUsedAt     *time.Time `gorm:"column:last_used_at"`
}

func (apiKeyRow) TableName() string { return "api_keys" }

func apiKeyToRow(k store.APIKey) apiKeyRow {
	return apiKeyRow{
		ID: k.ID, OrganisationID: k.OrganisationID, Mode: string(k.Mode), Type: k.Type, Name: k.Name,
		Prefix: k.Prefix, Last4: k.Last4, Hash: k.Hash, Sealed: nullBytes(k.Sealed), Scopes: encodeList(k.Scopes),
		RateLimit: k.RateLimit, RolledFrom: k.RolledFrom, CreatedBy: k.CreatedBy, CreatedAt: orNow(k.CreatedAt),
		ExpiresAt: tsPtr(k.ExpiresAt), RevokedAt: tsPtr(k.RevokedAt), LastUsedAt: tsPtr(k.LastUsedAt),
	}
}

func (r apiKeyRow) toStore() (store.APIKey, error) {
	scopes, err := decodeList(r.Scopes)
	if err != nil {
		return store.APIKey{}, err
	}
	return store.APIKey{
		ID: r.ID, OrganisationID: r.OrganisationID, Mode: store.Mode(r.Mode), Type: r.Type, Name: r.Name,
		Prefix: r.Prefix, Last4: r.Last4, Hash: r.Hash, Sealed: nullBytes(r.Sealed), Scopes: scopes,
		RateLimit: r.RateLimit, RolledFrom: r.RolledFrom, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
		ExpiresAt: utcPtr(r.ExpiresAt), RevokedAt: utcPtr(r.RevokedAt), LastUsedAt: utcPtr(r.LastUsedAt),
	}, nil
}

type signingKeyRow struct {
	KID       string    `gorm:"column:kid;primaryKey"`
	Algorithm string    `gorm:"column:algorithm"`
	Private   []byte    `gorm:"column:private"`
	PublicJWK []byte    `gorm:"column:public_jwk"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	SignsFrom time.Time `gorm:"column:signs_from"`
}

func (signingKeyRow) TableName() string { return "signing_keys" }

func signingKeyToRow(k store.SigningKey) signingKeyRow {
	return signingKeyRow{
		KID: k.KID, Algorithm: k.Algorithm, Private: nullBytes(k.Private), PublicJWK: nullBytes(k.PublicJWK),
		CreatedAt: orNow(k.CreatedAt), SignsFrom: ts(k.SignsFrom),
	}
}

func (r signingKeyRow) toStore() store.SigningKey {
	return store.SigningKey{
		KID: r.KID, Algorithm: r.Algorithm, Private: nullBytes(r.Private), PublicJWK: nullBytes(r.PublicJWK),
		CreatedAt: r.CreatedAt.UTC(), SignsFrom: r.SignsFrom.UTC(),
	}
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// nullBytes maps empty to nil, so "no bytes" reads back the same on every
// database.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// encodeList stores a string list as a JSON array (portable across SQLite
// and PostgreSQL); nil and empty both become "[]".
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// decodeList reads a list written by encodeList; an empty list reads back
// as nil.
func decodeList(s string) ([]string, error) {
	if s == "" || s == "[]" || s == "null" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}
