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
	Depth     int       `gorm:"column:depth"` // 0 for the root; the parent's + 1
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
	ID                      string     `gorm:"column:id;primaryKey"`
	Name                    string     `gorm:"column:name"`
	SecretHash              string     `gorm:"column:secret_hash"`
	PreviousSecretHash      string     `gorm:"column:previous_secret_hash"`
	PreviousSecretExpiresAt *time.Time `gorm:"column:previous_secret_expires_at"`
	Public                  bool       `gorm:"column:public"`
	GrantTypes              string     `gorm:"column:grant_types"` // JSON array of strings
	Scopes                  string     `gorm:"column:scopes"`      // JSON array of strings
	Audience                string     `gorm:"column:audience"`    // JSON array of strings
	OrganisationID          *string    `gorm:"column:organisation_id"`
	Mode                    string     `gorm:"column:mode"`
	AccessTokenTTL          int64      `gorm:"column:access_token_ttl"`  // seconds; 0: the default
	RefreshTokenTTL         int64      `gorm:"column:refresh_token_ttl"` // seconds; 0: the default
	RefreshIdleTTL          int64      `gorm:"column:refresh_idle_ttl"`  // seconds; 0: the default
	CreatedAt               time.Time  `gorm:"column:created_at;autoCreateTime:false"`
}

func (clientRow) TableName() string { return "clients" }

func clientToRow(c store.Client) clientRow {
	return clientRow{
		ID: c.ID, Name: c.Name, SecretHash: c.SecretHash, Public: c.Public,
		PreviousSecretHash: c.PreviousSecretHash, PreviousSecretExpiresAt: tsPtr(c.PreviousSecretExpiresAt),
		GrantTypes: encodeList(c.GrantTypes), Scopes: encodeList(c.Scopes), Audience: encodeList(c.Audience),
		OrganisationID: nullString(c.OrganisationID), Mode: string(c.Mode), CreatedAt: orNow(c.CreatedAt),
		AccessTokenTTL: seconds(c.AccessTokenTTL), RefreshTokenTTL: seconds(c.RefreshTokenTTL), RefreshIdleTTL: seconds(c.RefreshIdleTTL),
	}
}

// seconds stores a lifetime in whole seconds.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func (r clientRow) toStore() (store.Client, error) {
	c := store.Client{
		ID: r.ID, Name: r.Name, SecretHash: r.SecretHash, Public: r.Public,
		PreviousSecretHash: r.PreviousSecretHash, PreviousSecretExpiresAt: utcPtr(r.PreviousSecretExpiresAt),
		OrganisationID: deref(r.OrganisationID), Mode: store.Mode(r.Mode), CreatedAt: r.CreatedAt.UTC(),
		AccessTokenTTL:  time.Duration(r.AccessTokenTTL) * time.Second,
		RefreshTokenTTL: time.Duration(r.RefreshTokenTTL) * time.Second,
		RefreshIdleTTL:  time.Duration(r.RefreshIdleTTL) * time.Second,
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
	ID                 string     `gorm:"column:id;primaryKey"`
	OrganisationID     string     `gorm:"column:organisation_id"`
	Mode               string     `gorm:"column:mode"`
	Type               string     `gorm:"column:type"`
	Name               string     `gorm:"column:name"`
	Prefix             string     `gorm:"column:prefix"`
	Last4              string     `gorm:"column:last4"`
	Hash               string     `gorm:"column:hash"`
	Sealed             []byte     `gorm:"column:sealed"`
	Scopes             string     `gorm:"column:scopes"` // JSON array of strings
	RateLimit          int        `gorm:"column:rate_limit"`
	RateLimitPerMinute int        `gorm:"column:rate_limit_per_minute"`
	RolledFrom         string     `gorm:"column:rolled_from"`
	CreatedBy          string     `gorm:"column:created_by"`
	CreatedAt          time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt          *time.Time `gorm:"column:expires_at"`
	RevokedAt          *time.Time `gorm:"column:revoked_at"`
	LastUsedAt         *time.Time `gorm:"column:last_used_at"`
}

func (apiKeyRow) TableName() string { return "api_keys" }

func apiKeyToRow(k store.APIKey) apiKeyRow {
	return apiKeyRow{
		ID: k.ID, OrganisationID: k.OrganisationID, Mode: string(k.Mode), Type: k.Type, Name: k.Name,
		Prefix: k.Prefix, Last4: k.Last4, Hash: k.Hash, Sealed: nullBytes(k.Sealed), Scopes: encodeList(k.Scopes),
		RateLimit: k.RateLimit, RateLimitPerMinute: k.RateLimitPerMinute, RolledFrom: k.RolledFrom, CreatedBy: k.CreatedBy, CreatedAt: orNow(k.CreatedAt),
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
		RateLimit: r.RateLimit, RateLimitPerMinute: r.RateLimitPerMinute, RolledFrom: r.RolledFrom, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
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

type refreshTokenRow struct {
	Hash            string     `gorm:"column:hash;primaryKey"`
	FamilyID        string     `gorm:"column:family_id"`
	ParentHash      string     `gorm:"column:parent_hash"`
	ChildHash       string     `gorm:"column:child_hash"`
	SubjectKind     string     `gorm:"column:subject_kind"`
	SubjectID       string     `gorm:"column:subject_id"`
	ClientID        string     `gorm:"column:client_id"`
	OrganisationID  string     `gorm:"column:organisation_id"`
	HomeOrg         string     `gorm:"column:home_org"`
	Mode            string     `gorm:"column:mode"`
	Scopes          string     `gorm:"column:scopes"`   // JSON array of strings
	Audience        string     `gorm:"column:audience"` // JSON array of strings
	CreatedAt       time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	FamilyExpiresAt time.Time  `gorm:"column:family_expires_at"`
	UsedAt          *time.Time `gorm:"column:used_at"`
	RevokedAt       *time.Time `gorm:"column:revoked_at"`
	FamilyCreatedAt *time.Time `gorm:"column:family_created_at"`
	IP              string     `gorm:"column:ip"`
	UserAgent       string     `gorm:"column:user_agent"`
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

func refreshTokenToRow(t store.RefreshToken) refreshTokenRow {
	return refreshTokenRow{
		Hash: t.Hash, FamilyID: t.FamilyID, ParentHash: t.ParentHash, ChildHash: t.ChildHash,
		SubjectKind: t.SubjectKind, SubjectID: t.SubjectID, ClientID: t.ClientID,
		OrganisationID: t.OrganisationID, HomeOrg: t.HomeOrg, Mode: string(t.Mode), Scopes: encodeList(t.Scopes),
		Audience:  encodeList(t.Audience),
		CreatedAt: orNow(t.CreatedAt), FamilyExpiresAt: ts(t.FamilyExpiresAt),
		UsedAt: tsPtr(t.UsedAt), RevokedAt: tsPtr(t.RevokedAt),
		FamilyCreatedAt: tsPtr(nonZero(t.FamilyCreatedAt)), IP: t.IP, UserAgent: t.UserAgent,
	}
}

func (r refreshTokenRow) toStore() (store.RefreshToken, error) {
	scopes, err := decodeList(r.Scopes)
	if err != nil {
		return store.RefreshToken{}, err
	}
	aud, err := decodeList(r.Audience)
	if err != nil {
		return store.RefreshToken{}, err
	}
	return store.RefreshToken{
		Audience: aud,
		Hash:     r.Hash, FamilyID: r.FamilyID, ParentHash: r.ParentHash, ChildHash: r.ChildHash,
		SubjectKind: r.SubjectKind, SubjectID: r.SubjectID, ClientID: r.ClientID,
		OrganisationID: r.OrganisationID, HomeOrg: r.HomeOrg, Mode: store.Mode(r.Mode), Scopes: scopes,
		CreatedAt: r.CreatedAt.UTC(), FamilyExpiresAt: r.FamilyExpiresAt.UTC(),
		UsedAt: utcPtr(r.UsedAt), RevokedAt: utcPtr(r.RevokedAt),
		FamilyCreatedAt: derefUTC(r.FamilyCreatedAt), IP: r.IP, UserAgent: r.UserAgent,
	}, nil
}

type auditEventRow struct {
	ID             string    `gorm:"column:id;primaryKey"`
	At             time.Time `gorm:"column:at"`
	Action         string    `gorm:"column:action"`
	Success        bool      `gorm:"column:success"`
	ActorKind      string    `gorm:"column:actor_kind"`
	ActorID        string    `gorm:"column:actor_id"`
	OrganisationID string    `gorm:"column:organisation_id"`
	TargetKind     string    `gorm:"column:target_kind"`
	TargetID       string    `gorm:"column:target_id"`
	IP             string    `gorm:"column:ip"`
	UserAgent      string    `gorm:"column:user_agent"`
	RequestID      string    `gorm:"column:request_id"`
	Details        string    `gorm:"column:details"` // JSON object of strings
}

func (auditEventRow) TableName() string { return "audit_events" }

func auditEventToRow(e store.AuditEvent) auditEventRow {
	return auditEventRow{
		ID: e.ID, At: orNow(e.At), Action: e.Action, Success: e.Success, ActorKind: e.ActorKind, ActorID: e.ActorID,
		OrganisationID: e.OrganisationID, TargetKind: e.TargetKind, TargetID: e.TargetID,
		IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID, Details: encodeMap(e.Details),
	}
}

func (r auditEventRow) toStore() (store.AuditEvent, error) {
	details, err := decodeMap(r.Details)
	if err != nil {
		return store.AuditEvent{}, err
	}
	return store.AuditEvent{
		ID: r.ID, At: r.At.UTC(), Action: r.Action, Success: r.Success, ActorKind: r.ActorKind, ActorID: r.ActorID,
		OrganisationID: r.OrganisationID, TargetKind: r.TargetKind, TargetID: r.TargetID,
		IP: r.IP, UserAgent: r.UserAgent, RequestID: r.RequestID, Details: details,
	}, nil
}

type contactRow struct {
	BusinessID        string    `gorm:"column:business_id;primaryKey"`
	Mode              string    `gorm:"column:mode;primaryKey"`
	ID                string    `gorm:"column:id;primaryKey"`
	Code              string    `gorm:"column:code"`
	FirstName         string    `gorm:"column:first_name"`
	LastName          string    `gorm:"column:last_name"`
	Title             string    `gorm:"column:title"`
	Email             string    `gorm:"column:email"`
	PhoneNumber       string    `gorm:"column:phone_number"`
	AvatarURL         string    `gorm:"column:avatar_url"`
	EmailOptOut       bool      `gorm:"column:email_opt_out"`
	SMSOptOut         bool      `gorm:"column:sms_opt_out"`
	ServiceAcceptance bool      `gorm:"column:service_acceptance"`
	Type              string    `gorm:"column:type"`
	Locale            string    `gorm:"column:locale"`
	CreatedAt         time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt         time.Time `gorm:"column:updated_at;autoCreateTime:false;autoUpdateTime:false"`
}

func (contactRow) TableName() string { return "contacts" }

func contactToRow(c store.Contact) contactRow {
	created := orNow(c.CreatedAt)
	updated := created
	if !c.UpdatedAt.IsZero() {
		updated = ts(c.UpdatedAt)
	}
	return contactRow{
		BusinessID: c.BusinessID, Mode: string(c.Mode), ID: c.ID, Code: c.Code,
		FirstName: c.FirstName, LastName: c.LastName, Title: c.Title,
		Email: normEmail(c.Email), PhoneNumber: c.PhoneNumber, AvatarURL: c.AvatarURL,
		EmailOptOut: c.EmailOptOut, SMSOptOut: c.SMSOptOut, ServiceAcceptance: c.ServiceAcceptance,
		Type: contactType(c.Type), Locale: c.Locale, CreatedAt: created, UpdatedAt: updated,
	}
}

func (r contactRow) toStore() store.Contact {
	return store.Contact{
		BusinessID: r.BusinessID, Mode: store.Mode(r.Mode), ID: r.ID, Code: r.Code,
		FirstName: r.FirstName, LastName: r.LastName, Title: r.Title,
		Email: r.Email, PhoneNumber: r.PhoneNumber, AvatarURL: r.AvatarURL,
		EmailOptOut: r.EmailOptOut, SMSOptOut: r.SMSOptOut, ServiceAcceptance: r.ServiceAcceptance,
		Type: contactType(r.Type), Locale: r.Locale, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// contactType is a contact's type, a person unless said otherwise.
func contactType(t string) string {
	if t == "" {
		return store.ContactPerson
	}
	return t
}

type identityRow struct {
	BusinessID   string    `gorm:"column:business_id;primaryKey"`
	Mode         string    `gorm:"column:mode;primaryKey"`
	Provider     string    `gorm:"column:provider;primaryKey"`
	Subject      string    `gorm:"column:subject;primaryKey"`
	ContactID    string    `gorm:"column:contact_id"`
	PasswordHash string    `gorm:"column:password_hash"`
	CreatedAt    time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (identityRow) TableName() string { return "identities" }

func identityToRow(i store.Identity) identityRow {
	return identityRow{
		BusinessID: i.BusinessID, Mode: string(i.Mode), Provider: i.Provider, Subject: normSubject(i.Provider, i.Subject),
		ContactID: i.ContactID, PasswordHash: i.PasswordHash, CreatedAt: orNow(i.CreatedAt),
	}
}

func (r identityRow) toStore() store.Identity {
	return store.Identity{
		BusinessID: r.BusinessID, Mode: store.Mode(r.Mode), Provider: r.Provider, Subject: r.Subject,
		ContactID: r.ContactID, PasswordHash: r.PasswordHash, CreatedAt: r.CreatedAt.UTC(),
	}
}

// normSubject lower-cases the subject of an EMAIL identity; other
// providers' subjects (E.164 numbers, Facebook ids) are kept as given.
func normSubject(provider, subject string) string {
	if provider == store.ProviderEmail {
		return normEmail(subject)
	}
	return subject
}

type contactOrganisationRow struct {
	BusinessID     string    `gorm:"column:business_id;primaryKey"`
	Mode           string    `gorm:"column:mode;primaryKey"`
	ContactID      string    `gorm:"column:contact_id;primaryKey"`
	OrganisationID string    `gorm:"column:organisation_id;primaryKey"`
	Relationship   string    `gorm:"column:relationship"`
	CreatedAt      time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (contactOrganisationRow) TableName() string { return "contact_organisations" }

func contactOrganisationToRow(co store.ContactOrganisation) contactOrganisationRow {
	return contactOrganisationRow{
		BusinessID: co.BusinessID, Mode: string(co.Mode), ContactID: co.ContactID, OrganisationID: co.OrganisationID,
		Relationship: co.Relationship, CreatedAt: orNow(co.CreatedAt),
	}
}

func (r contactOrganisationRow) toStore() store.ContactOrganisation {
	return store.ContactOrganisation{
		BusinessID: r.BusinessID, Mode: store.Mode(r.Mode), ContactID: r.ContactID, OrganisationID: r.OrganisationID,
		Relationship: r.Relationship, CreatedAt: r.CreatedAt.UTC(),
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

// encodeMap stores a string map as a JSON object; nil and empty both
// become "{}".
func encodeMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map[string]string always marshals
	return string(b)
}

// decodeMap reads a map written by encodeMap; an empty map reads back as
// nil.
func decodeMap(s string) (map[string]string, error) {
	if s == "" || s == "{}" || s == "null" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}
