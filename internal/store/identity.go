package store

import (
	"context"
	"time"
)

// Subject kinds of refresh tokens and audit actors.
const (
	KindUser    = "user"
	KindContact = "contact"
	KindAPIKey  = "api_key"
	KindClient  = "client"
	KindSystem  = "system"
)

// RefreshToken is one link of a refresh-token family. Only the SHA-256 hash
// of the opaque token is stored. Every token of a family carries the
// family's absolute expiry, and revoking a family marks every one of its
// tokens, so checking a presented token is one indexed read.
type RefreshToken struct {
	Hash            string // hex SHA-256 of the token: primary key
	FamilyID        string
	ParentHash      string // empty for the first token of a family
	ChildHash       string // set when rotated
	SubjectKind     string // KindUser or KindContact
	SubjectID       string
	ClientID        string
	OrganisationID  string // the organisation the tokens act for
	HomeOrg         string // the membership organisation behind a masquerade
	Mode            Mode
	Scopes          []string
	Audience        []string // aud of the family's access tokens; empty: the default
	CreatedAt       time.Time
	FamilyExpiresAt time.Time  // absolute end of the family
	UsedAt          *time.Time // when it was rotated
	RevokedAt       *time.Time
	// FamilyCreatedAt is when the family began (the sign-in); every
	// token of the family carries it. Zero for tokens stored before it
	// was recorded: CreatedAt of the family's first token stands in.
	FamilyCreatedAt time.Time
	// IP and UserAgent are of the request that obtained this token (the
	// sign-in, or the refresh that rotated to it); empty when unknown.
	IP        string
	UserAgent string
}

// RefreshSession is one live refresh family of a subject, as its current
// token describes it: a sign-in on one device.
type RefreshSession struct {
	FamilyID       string
	ClientID       string
	OrganisationID string
	Mode           Mode
	CreatedAt      time.Time // the sign-in
	LastUsedAt     time.Time // the current token's issue: the sign-in or the latest refresh
	ExpiresAt      time.Time // the family's absolute end
	IP             string    // of the latest sign-in or refresh
	UserAgent      string
}

// AuditEvent is one security-relevant event.
type AuditEvent struct {
	ID             string
	At             time.Time
	Action         string // e.g. "user.signin", "user.signin_failed", "refresh.reuse_detected"
	Success        bool
	ActorKind      string // KindUser, KindContact, KindAPIKey, KindClient, KindSystem
	ActorID        string // may be empty (unknown account)
	OrganisationID string // organisation the event belongs to (may be empty)
	TargetKind     string
	TargetID       string
	IP             string
	UserAgent      string
	RequestID      string
	Details        map[string]string
}

// AuditFilter selects audit events. Empty fields do not filter.
type AuditFilter struct {
	OrganisationIDs []string // events of any of these organisations
	Subtree         string   // events of this organisation and everything below it
	Action          string
	ActorID         string
}

// Contact is a customer of a business, in one mode. Its id is unique within
// (business, mode); an external system may supply it (≤ 36 characters).
type Contact struct {
	ID                string
	BusinessID        string
	Mode              Mode
	Code              string // optional cross-reference, unique within (business, mode) when set
	FirstName         string
	LastName          string
	Title             string
	Email             string // lower-cased; on record, not necessarily an identity
	PhoneNumber       string // E.164; on record
	AvatarURL         string
	EmailOptOut       bool
	SMSOptOut         bool
	ServiceAcceptance bool
	Type              string // ContactPerson or ContactCompany
	Locale            string // BCP 47 tag; empty: the default (en)
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Contact types: a B2C person or a B2B company.
const (
	ContactPerson  = "person"
	ContactCompany = "company"
)

// ContactFilter selects contacts by exact values on record; empty fields
// do not filter.
type ContactFilter struct {
	Code  string
	Email string // compared lower-cased
	Phone string // E.164
}

// SubjectSessions selects the refresh families of one subject: a user
// (Org and Mode empty), or a contact of a business and mode.
type SubjectSessions struct {
	Kind string
	ID   string
	Org  string
	Mode Mode
	// Except keeps this family (the caller's own session).
	Except string
	// Family, when set, selects only this family (one session ended).
	Family string
}

// Identity providers.
const (
	ProviderEmail    = "EMAIL"
	ProviderPhone    = "PHONE"
	ProviderFacebook = "FACEBOOK"
)

// Identity is how a contact proves who they are. (BusinessID, Mode,
// Provider, Subject) is unique: one email, phone or Facebook id signs in
// to at most one contact of a business and mode.
type Identity struct {
	BusinessID   string
	Mode         Mode
	Provider     string
	Subject      string // lower-cased email, E.164 phone, Facebook user id
	ContactID    string
	PasswordHash string // EMAIL with a password; empty for OTP-only
	CreatedAt    time.Time
}

// Contact relationships to other organisations of the network.
const (
	RelationshipJoined = "joined"
	RelationshipShared = "shared"
)

// ContactOrganisation links a contact to an organisation of its network.
type ContactOrganisation struct {
	BusinessID     string
	Mode           Mode
	ContactID      string
	OrganisationID string
	Relationship   string
	CreatedAt      time.Time
}

// IdentityStore holds refresh tokens, audit events and contacts. It is part
// of Store.
type IdentityStore interface {
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	GetRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// RotateRefreshToken marks the parent used at usedAt and records
	// child.Hash as its child, and creates child, atomically — but only if
	// the parent is still unused and not revoked; otherwise it changes
	// nothing and returns ErrConflict (a concurrent rotation won).
	RotateRefreshToken(ctx context.Context, parentHash string, usedAt time.Time, child RefreshToken) error
	// RevokeRefreshFamily marks every token of the family revoked (keeping
	// an earlier revocation time).
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
	// RevokeRefreshTokensOf revokes every family of a subject.
	RevokeRefreshTokensOf(ctx context.Context, subjectKind, subjectID string, at time.Time) error
	// RevokeRefreshFamilies revokes every live family of a subject but
	// sel.Except, and returns the ids of the families it revoked. A
	// rotation running at the same time either finishes first (and its new
	// token is revoked too) or finds its parent revoked.
	RevokeRefreshFamilies(ctx context.Context, sel SubjectSessions, at time.Time) ([]string, error)
	// ListRefreshSessions returns the subject's live families selected
	// by sel (Except and Family ignored): those whose current token is
	// neither rotated nor revoked and whose family has not ended at now,
	// newest sign-in first.
	ListRefreshSessions(ctx context.Context, sel SubjectSessions, now time.Time) ([]RefreshSession, error)
	// RevokeRefreshTokensOfClient revokes every family issued to a client.
	RevokeRefreshTokensOfClient(ctx context.Context, clientID string, at time.Time) error
	// DeleteExpiredRefreshTokens removes tokens whose family ended before
	// the given time; it returns how many it removed.
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error)

	CreateAuditEvent(ctx context.Context, e AuditEvent) error
	// ListAuditEvents returns matching events, newest first.
	ListAuditEvents(ctx context.Context, f AuditFilter, p Page) ([]AuditEvent, error)

	CreateContact(ctx context.Context, c Contact) error
	GetContact(ctx context.Context, businessID string, mode Mode, id string) (Contact, error)
	UpdateContact(ctx context.Context, businessID string, mode Mode, id string, fn func(Contact) (Contact, error)) error
	// ListContacts returns a page of the contacts of (business, mode)
	// matching f, ordered by creation then id, and how many match.
	ListContacts(ctx context.Context, businessID string, mode Mode, f ContactFilter, p Page) ([]Contact, int, error)
	// DeleteContact removes a contact with its identities, organisation
	// links and refresh tokens, in one transaction; ErrNotFound when there
	// is no such contact.
	DeleteContact(ctx context.Context, businessID string, mode Mode, id string) error
	// FindContacts returns the contacts of (business, mode) whose email
	// (lower-cased) or phone number on record equals the given value;
	// exactly one of email and phone is non-empty.
	FindContacts(ctx context.Context, businessID string, mode Mode, email, phone string) ([]Contact, error)

	CreateIdentity(ctx context.Context, i Identity) error
	GetIdentity(ctx context.Context, businessID string, mode Mode, provider, subject string) (Identity, error)
	ListIdentities(ctx context.Context, businessID string, mode Mode, contactID string) ([]Identity, error)
	UpdateIdentity(ctx context.Context, businessID string, mode Mode, provider, subject string, fn func(Identity) (Identity, error)) error

	AddContactOrganisation(ctx context.Context, co ContactOrganisation) error
	ListContactOrganisations(ctx context.Context, businessID string, mode Mode, contactID string) ([]ContactOrganisation, error)
}
