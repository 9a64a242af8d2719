package apikey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/store"
)

// ErrConflict is returned when the key's state forbids the change (rolling
// a revoked or expired key).
var ErrConflict = errors.New("apikey: the key is revoked or expired")

// ValidationError names an invalid input field.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return "apikey: " + e.Field + ": " + e.Message }

// Limits of the management API.
const (
	MaxNameLength = 100
	MaxRateLimit  = 100000
	// MaxRollOverlap is the longest an old key keeps working after a roll.
	MaxRollOverlap = 30 * 24 * time.Hour
)

// Key statuses.
const (
	StatusActive  = "active"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
)

// ServiceStore is what key management needs from the store.
type ServiceStore interface {
	Tx(ctx context.Context, fn func(store.Store) error) error
	CreateAPIKey(ctx context.Context, k store.APIKey) error
	GetAPIKey(ctx context.Context, id string) (store.APIKey, error)
	ListAPIKeys(ctx context.Context, organisationID string, mode store.Mode, p store.Page) ([]store.APIKey, error)
	UpdateAPIKey(ctx context.Context, id string, fn func(store.APIKey) (store.APIKey, error)) error
}

// Box seals public keys so they can be shown again (NewBox; aad = the
// key's id).
type Box interface {
	Sealer
	Open(sealed, aad []byte) ([]byte, error)
}

// Authorizer tells a user's role in an organisation (identity.Service).
type Authorizer interface {
	RoleIn(ctx context.Context, userID, orgID string) (identity.Grant, error)
}

// Caller is who calls key management: a secret key (Key set), or a
// user's token acting for Org in Mode.
type Caller struct {
	Key    *Key
	UserID string
	Org    string
	Mode   store.Mode
}

var (
	// ErrForbidden: the caller may not manage keys (not a user, or not an
	// admin or owner of the organisation it acts for).
	ErrForbidden = errors.New("apikey: the caller may not manage API keys")
	// ErrNoOrganisation: the caller's token acts for no organisation the
	// user holds a role in.
	ErrNoOrganisation = errors.New("apikey: the token acts for no organisation of the user")
)

// Scopes lists the scope catalogue.
func (s *Service) Scopes() []ScopeInfo { return s.o.Scopes.List() }

// Authorize is the caller's view of keys: the organisation and mode of its
// own secret key, or of its token when the user is admin or owner there.
func (s *Service) Authorize(ctx context.Context, c Caller) (Scope, Actor, error) {
	if c.Key != nil {
		return Scope{OrganisationID: c.Key.OrganisationID, Mode: c.Key.Mode}, Actor{Kind: store.KindAPIKey, ID: c.Key.ID}, nil
	}
	if c.UserID == "" {
		return Scope{}, Actor{}, ErrForbidden
	}
	if c.Org == "" || !c.Mode.Valid() || s.o.Authorizer == nil {
		return Scope{}, Actor{}, ErrNoOrganisation
	}
	g, err := s.o.Authorizer.RoleIn(ctx, c.UserID, c.Org)
	switch {
	case errors.Is(err, identity.ErrForbidden):
		return Scope{}, Actor{}, ErrNoOrganisation
	case err != nil:
		return Scope{}, Actor{}, err
	case !identity.AtLeast(g.Role, identity.RoleAdmin):
		return Scope{}, Actor{}, ErrForbidden
	}
	return Scope{OrganisationID: c.Org, Mode: c.Mode}, Actor{Kind: store.KindUser, ID: c.UserID}, nil
}

// Revoker records a change durably in the revocation log, which every
// replica follows (package revocation). It applies the entry in this
// process before it returns.
type Revoker interface {
	Revoke(ctx context.Context, rs ...store.Revocation) error
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Store ServiceStore
	// Authorizer decides users' rights (Authorize).
	Authorizer Authorizer
	// Scopes is the scope catalogue (default: the built-in scopes).
	Scopes *Catalogue
	// Revocations carries revokes and rolls to every replica's verifier.
	Revocations Revoker
	// ChangeTTL is how long a change's log entry stays in force: longer
	// than any cached copy of the key's old record can live (the shared
	// cache's TTL plus the in-process TTL, plus a fetch) [10m].
	ChangeTTL time.Duration
	Box       Box
	Audit     Auditor
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service manages API keys: create, list, get, roll, revoke. Every change
// is audited, and revoke and roll invalidate the key on every replica.
type Service struct {
	o ServiceOptions
}

// NewService returns a Service.
func NewService(o ServiceOptions) *Service {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ChangeTTL <= 0 {
		o.ChangeTTL = 10 * time.Minute
	}
	if o.Scopes == nil {
		o.Scopes = DefaultCatalogue()
	}
	return &Service{o: o}
}

// Scope is what a caller may see: one organisation in one mode, or (for
// operators at the command line) everything.
type Scope struct {
	OrganisationID string
	Mode           store.Mode
	// Operator lifts the organisation and mode restriction. Only the CLI
	// sets it; an HTTP caller's scope always comes from its token.
	Operator bool
}

func (s Scope) allows(k store.APIKey) bool {
	if s.Operator {
		return (s.OrganisationID == "" || k.OrganisationID == s.OrganisationID) && (s.Mode == "" || k.Mode == s.Mode)
	}
	return s.OrganisationID != "" && s.Mode.Valid() && k.OrganisationID == s.OrganisationID && k.Mode == s.Mode
}

// Actor is who makes a change (for the audit trail).
type Actor struct {
	Kind string // store.KindUser, store.KindSystem, ...
	ID   string
}

// CreateParams describe a new key.
type CreateParams struct {
	OrganisationID     string
	Mode               store.Mode
	Type               string // store.APIKeyPublic or store.APIKeySecret
	Name               string
	Scopes             []string
	RateLimit          int // requests per second; 0: none
	RateLimitPerMinute int // requests per minute; 0: none
}

// Info is a key as the management API shows it.
type Info struct {
	ID             string
	OrganisationID string
	Mode           store.Mode
	Type           string
	Name           string
	Scopes         []string
	Prefix         string
	Last4          string
	Masked         string
	// Key is the full key: set on create and roll, and for public keys
	// (which can be shown again). Never set for a secret key otherwise.
	Key                string
	RateLimit          int
	RateLimitPerMinute int
	RolledFrom         string
	CreatedBy          string
	CreatedAt          time.Time
	ExpiresAt          *time.Time
	RevokedAt          *time.Time
	LastUsedAt         *time.Time
	Status             string
}

// Create issues a key. Its full text is in the returned Info, once.
func (s *Service) Create(ctx context.Context, actor Actor, p CreateParams) (Info, error) {
	if p.OrganisationID == "" {
		return Info{}, &ValidationError{Field: "organisation_id", Message: "An organisation is required."}
	}
	if !p.Mode.Valid() {
		return Info{}, &ValidationError{Field: "mode", Message: "The mode must be live or test."}
	}
	if p.Type != store.APIKeyPublic && p.Type != store.APIKeySecret {
		return Info{}, &ValidationError{Field: "type", Message: "The type must be public or secret."}
	}
	name, err := validName(p.Name)
	if err != nil {
		return Info{}, err
	}
	scopes, err := s.o.Scopes.Normalise(p.Type, p.Scopes)
	if err != nil {
		return Info{}, err
	}
	if p.RateLimit < 0 || p.RateLimit > MaxRateLimit {
		return Info{}, &ValidationError{Field: "rate_limit", Message: fmt.Sprintf("The rate limit must be between 0 (none) and %d requests per second.", MaxRateLimit)}
	}
	if p.RateLimitPerMinute < 0 || p.RateLimitPerMinute > 60*MaxRateLimit {
		return Info{}, &ValidationError{Field: "rate_limit_per_minute", Message: fmt.Sprintf("The rate limit must be between 0 (none) and %d requests per minute.", 60*MaxRateLimit)}
	}
	now := s.o.Now().UTC()
	key, rec, err := NewRecord(p.Type, p.Mode, p.OrganisationID, name, actor.ID, scopes, s.o.Box, now)
	if err != nil {
		return Info{}, err
	}
	rec.RateLimit, rec.RateLimitPerMinute = p.RateLimit, p.RateLimitPerMinute
	if err := s.o.Store.CreateAPIKey(ctx, rec); err != nil {
		return Info{}, err
	}
	s.record(ctx, actor, audit.APIKeyCreated, rec, map[string]string{
		"type": rec.Type, "mode": string(rec.Mode), "name": rec.Name, "scopes": strings.Join(rec.Scopes, " "),
	})
	info := s.info(ctx, rec, now)
	info.Key = key
	return info, nil
}

// List returns the keys in scope, oldest first, revoked and expired ones
// included (with their status). Secret keys are masked.
func (s *Service) List(ctx context.Context, scope Scope, page store.Page) ([]Info, error) {
	if scope.OrganisationID == "" || (!scope.Operator && !scope.Mode.Valid()) {
		return nil, &ValidationError{Field: "organisation_id", Message: "An organisation and a mode are required."}
	}
	recs, err := s.o.Store.ListAPIKeys(ctx, scope.OrganisationID, scope.Mode, page)
	if err != nil {
		return nil, err
	}
	now := s.o.Now()
	out := make([]Info, 0, len(recs))
	for _, r := range recs {
		if scope.allows(r) {
			out = append(out, s.info(ctx, r, now))
		}
	}
	return out, nil
}

// Get returns one key in scope; store.ErrNotFound for a key that does not
// exist or is out of scope (the two are indistinguishable).
func (s *Service) Get(ctx context.Context, scope Scope, id string) (Info, error) {
	rec, err := s.get(ctx, scope, id)
	if err != nil {
		return Info{}, err
	}
	return s.info(ctx, rec, s.o.Now()), nil
}

func (s *Service) get(ctx context.Context, scope Scope, id string) (store.APIKey, error) {
	rec, err := s.o.Store.GetAPIKey(ctx, id)
	if err != nil {
		return store.APIKey{}, err
	}
	if !scope.allows(rec) {
		return store.APIKey{}, store.ErrNotFound
	}
	return rec, nil
}

// Roll issues a new key with the old one's organisation, mode, type, name,
// scopes and rate limit (rolled_from = the old id) and makes the old key
// expire at oldExpiresAt: nil means now, otherwise a time after now and at
// most MaxRollOverlap away (an earlier expiry the old key already has is
// kept). Both keys verify until then. It returns the new key (with its
// full text) and the old one.
func (s *Service) Roll(ctx context.Context, actor Actor, scope Scope, id string, oldExpiresAt *time.Time) (Info, Info, error) {
	now := s.o.Now().UTC()
	expiry := now
	if oldExpiresAt != nil {
		t := oldExpiresAt.UTC()
		if !t.After(now) || t.After(now.Add(MaxRollOverlap)) {
			return Info{}, Info{}, &ValidationError{Field: "expires_at",
				Message: "The old key's expiry must be \"now\" or a time in the next 30 days."}
		}
		expiry = t
	}
	old, err := s.get(ctx, scope, id)
	if err != nil {
		return Info{}, Info{}, err
	}
	if status(old, now) != StatusActive {
		return Info{}, Info{}, ErrConflict
	}
	key, rec, err := NewRecord(old.Type, old.Mode, old.OrganisationID, old.Name, actor.ID, old.Scopes, s.o.Box, now)
	if err != nil {
		return Info{}, Info{}, err
	}
	rec.RateLimit, rec.RateLimitPerMinute, rec.RolledFrom = old.RateLimit, old.RateLimitPerMinute, old.ID
	if err := s.invalidate(ctx, old.Hash); err != nil {
		return Info{}, Info{}, err
	}
	err = s.o.Store.Tx(ctx, func(tx store.Store) error {
		if err := tx.CreateAPIKey(ctx, rec); err != nil {
			return err
		}
		return tx.UpdateAPIKey(ctx, old.ID, func(k store.APIKey) (store.APIKey, error) {
			if status(k, now) != StatusActive {
				return k, ErrConflict
			}
			if k.ExpiresAt == nil || expiry.Before(*k.ExpiresAt) {
				k.ExpiresAt = &expiry
			}
			old = k
			return k, nil
		})
	})
	if err != nil {
		return Info{}, Info{}, err
	}
	s.record(ctx, actor, audit.APIKeyRolled, old, map[string]string{
		"new_key_id": rec.ID, "old_expires_at": old.ExpiresAt.Format(time.RFC3339),
	})
	newInfo := s.info(ctx, rec, now)
	newInfo.Key = key
	return newInfo, s.info(ctx, old, now), nil
}

// Revoke makes a key stop working on every replica. Revoking a revoked
// key changes nothing (and succeeds). It needs the database only.
func (s *Service) Revoke(ctx context.Context, actor Actor, scope Scope, id string) (Info, error) {
	now := s.o.Now().UTC()
	cur, err := s.get(ctx, scope, id)
	if err != nil {
		return Info{}, err
	}
	// Recorded even when it was revoked already: a retry repairs an
	// earlier attempt that failed half-way.
	if err := s.invalidate(ctx, cur.Hash); err != nil {
		return Info{}, err
	}
	var rec store.APIKey
	changed := false
	err = s.o.Store.UpdateAPIKey(ctx, id, func(k store.APIKey) (store.APIKey, error) {
		if !scope.allows(k) {
			return k, store.ErrNotFound
		}
		if k.RevokedAt == nil {
			k.RevokedAt = &now
			changed = true
		}
		rec = k
		return k, nil
	})
	if err != nil {
		return Info{}, err
	}
	if changed {
		s.record(ctx, actor, audit.APIKeyRevoked, rec, map[string]string{"type": rec.Type, "mode": string(rec.Mode)})
	}
	return s.info(ctx, rec, now), nil
}

// invalidate records that the key with this hash changed, in the
// revocation log: when it returns nil, every replica drops its cached
// copies within the log's poll interval (at once here, and in
// milliseconds elsewhere through pub/sub). It is written before the
// change itself, so a failure leaves the key as it was.
func (s *Service) invalidate(ctx context.Context, hash string) error {
	if s.o.Revocations == nil {
		return nil
	}
	return s.o.Revocations.Revoke(ctx, store.Revocation{Kind: store.RevokeAPIKey, Key: hash, ExpiresAt: s.o.Now().Add(s.o.ChangeTTL)})
}

func (s *Service) record(ctx context.Context, actor Actor, action string, k store.APIKey, details map[string]string) {
	if s.o.Audit == nil {
		return
	}
	s.o.Audit.Record(ctx, store.AuditEvent{
		Action: action, Success: true, ActorKind: actor.Kind, ActorID: actor.ID,
		OrganisationID: k.OrganisationID, TargetKind: store.KindAPIKey, TargetID: k.ID, Details: details,
	})
}

func (s *Service) info(ctx context.Context, k store.APIKey, now time.Time) Info {
	in := Info{
		ID: k.ID, OrganisationID: k.OrganisationID, Mode: k.Mode, Type: k.Type, Name: k.Name, Scopes: k.Scopes,
		Prefix: k.Prefix, Last4: k.Last4, Masked: Mask(k.Prefix, k.Last4), RateLimit: k.RateLimit, RateLimitPerMinute: k.RateLimitPerMinute,
		RolledFrom: k.RolledFrom, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt,
		RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt, Status: status(k, now),
	}
	if in.Scopes == nil {
		in.Scopes = []string{}
	}
	if k.Type == store.APIKeyPublic && len(k.Sealed) > 0 && s.o.Box != nil {
		plain, err := s.o.Box.Open(k.Sealed, []byte(k.ID))
		if err == nil {
			in.Key = string(plain)
		} else {
			s.o.Logger.ErrorContext(ctx, "apikey: cannot open a sealed public key (system secret changed?)", "key_id", k.ID)
		}
	}
	return in
}

func status(k store.APIKey, now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return StatusRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return StatusExpired
	}
	return StatusActive
}

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", &ValidationError{Field: "name", Message: "A name is required."}
	case utf8.RuneCountInString(name) > MaxNameLength:
		return "", &ValidationError{Field: "name", Message: fmt.Sprintf("The name must be at most %d characters.", MaxNameLength)}
	case strings.IndexFunc(name, unicode.IsControl) >= 0 || !utf8.ValidString(name):
		return "", &ValidationError{Field: "name", Message: "The name must be printable text."}
	}
	return name, nil
}
