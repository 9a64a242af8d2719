package clients

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/store"
)

var (
	// ErrForbidden: the caller may not manage clients (not a user, or not
	// an admin or owner of the service owner acting for it).
	ErrForbidden = errors.New("clients: the caller may not manage OAuth clients")
	// ErrPublic: a public client has no secret to rotate.
	ErrPublic = errors.New("clients: a public client has no secret")
	// ErrReserved: the client cannot be deleted (Config.Reserved).
	ErrReserved = errors.New("clients: the client cannot be deleted")
)

// Caller is who calls client management: a back-office user's token
// acting for Org, or an operator at the command line.
type Caller struct {
	UserID string
	Org    string
	// Operator lifts the rights check. Only the command line sets it; an
	// HTTP caller is always a token's user.
	Operator bool
}

// Operator is the command line's caller: operators with access to the
// database act as the system.
var Operator = Caller{Operator: true}

// actor is who makes a change, for the audit trail.
type actor struct {
	kind, id, org string
}

// authorize is the one rights check of client management: clients belong
// to the service (the root organisation), so only an admin or owner of
// the root, with a token acting for the root itself, manages them. A
// token switched into a business acts below the root and is refused, as
// is a member, a user of a business, or anything that is not a user.
func (s *Service) authorize(ctx context.Context, c Caller) (actor, error) {
	if c.Operator {
		return actor{kind: store.KindSystem, id: "cli"}, nil
	}
	if c.UserID == "" || c.Org == "" || s.cfg.Identity == nil {
		return actor{}, ErrForbidden
	}
	o, g, err := s.cfg.Identity.Organisation(ctx, identity.Actor{UserID: c.UserID, Org: c.Org}, c.Org)
	switch {
	case errors.Is(err, identity.ErrForbidden), errors.Is(err, identity.ErrOutsideScope), errors.Is(err, store.ErrNotFound):
		return actor{}, ErrForbidden
	case err != nil:
		return actor{}, err
	case o.ParentID != "" || !identity.AtLeast(g.Role, identity.RoleAdmin):
		return actor{}, ErrForbidden
	}
	return actor{kind: store.KindUser, id: c.UserID, org: c.Org}, nil
}

// Info is a client as the management API shows it: never a secret.
type Info struct {
	ID             string
	Name           string
	Type           string
	GrantTypes     []string
	Scopes         []string
	Audiences      []string
	OrganisationID string
	Mode           store.Mode
	// Lifetimes are the client's own (zero: the service's defaults).
	Lifetimes
	CreatedAt time.Time
	// PreviousSecretExpiresAt is when the secret a rotation replaced stops
	// working; nil when none works any more.
	PreviousSecretExpiresAt *time.Time
}

// Issued is a client with a secret just generated: its only appearance.
type Issued struct {
	Info
	// Secret is set for confidential clients.
	Secret string
}

// Create registers a client. A confidential client's secret is in the
// answer, once; only its hash is stored.
func (s *Service) Create(ctx context.Context, c Caller, p CreateParams) (Issued, error) {
	a, err := s.authorize(ctx, c)
	if err != nil {
		return Issued{}, err
	}
	if p, err = p.normalise(s.limits()); err != nil {
		return Issued{}, err
	}
	if err := s.checkBinding(ctx, p.OrganisationID); err != nil {
		return Issued{}, err
	}
	now := s.cfg.Now().UTC()
	rec := store.Client{
		ID: uuid.Must(uuid.NewV7()).String(), Name: p.Name, Public: p.Type == TypePublic,
		GrantTypes: p.GrantTypes, Scopes: p.Scopes, Audience: p.Audiences,
		OrganisationID: p.OrganisationID, Mode: p.Mode, CreatedAt: now,
		AccessTokenTTL: p.AccessTokenTTL, RefreshTokenTTL: p.RefreshTokenTTL, RefreshIdleTTL: p.RefreshIdleTTL,
	}
	var secret string
	if !rec.Public {
		if secret, err = NewSecret(); err != nil {
			return Issued{}, err
		}
		rec.SecretHash = HashSecret(secret)
	}
	err = s.st.CreateClient(ctx, rec)
	if errors.Is(err, store.ErrNotFound) && rec.OrganisationID != "" {
		// The organisation went between the check and the write.
		return Issued{}, &ValidationError{Field: "organisation_id", Message: "No such organisation."}
	}
	if err != nil {
		return Issued{}, err
	}
	s.record(ctx, a, audit.ClientCreated, rec.ID, map[string]string{
		"name": rec.Name, "type": clientType(rec), "grant_types": strings.Join(rec.GrantTypes, " "),
		"scopes": strings.Join(rec.Scopes, " "), "audiences": strings.Join(rec.Audience, " "),
		"organisation_id": rec.OrganisationID, "mode": string(rec.Mode),
		"access_token_ttl": ttlDetail(rec.AccessTokenTTL), "refresh_token_ttl": ttlDetail(rec.RefreshTokenTTL),
		"refresh_token_idle_ttl": ttlDetail(rec.RefreshIdleTTL),
	})
	return Issued{Info: info(rec, now), Secret: secret}, nil
}

// checkBinding: a client is bound to a business (contacts belong to one).
func (s *Service) checkBinding(ctx context.Context, orgID string) error {
	if orgID == "" || s.cfg.Identity == nil {
		return nil // the store refuses an organisation that does not exist
	}
	biz, err := s.cfg.Identity.BusinessOf(ctx, orgID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &ValidationError{Field: "organisation_id", Message: "No such organisation."}
	case errors.Is(err, identity.ErrNoBusiness) || (err == nil && biz != orgID):
		return &ValidationError{Field: "organisation_id", Message: "A client is bound to a business, not to the service owner or an organisation below a business."}
	}
	return err
}

// List returns a page of the clients, oldest first (then by id), and how
// many there are.
func (s *Service) List(ctx context.Context, c Caller, p store.Page) ([]Info, int, error) {
	if _, err := s.authorize(ctx, c); err != nil {
		return nil, 0, err
	}
	recs, total, err := s.st.ListClients(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	now := s.cfg.Now()
	out := make([]Info, len(recs))
	for i, r := range recs {
		out[i] = info(r, now)
	}
	return out, total, nil
}

// Get returns one client (never its secret), or ErrUnknown.
func (s *Service) Get(ctx context.Context, c Caller, id string) (Info, error) {
	if _, err := s.authorize(ctx, c); err != nil {
		return Info{}, err
	}
	rec, err := s.st.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Info{}, ErrUnknown
	}
	if err != nil {
		return Info{}, err
	}
	return info(rec, s.cfg.Now()), nil
}

// RotateSecret gives a confidential client a new secret and returns it,
// once. The secret it replaces keeps working until previousExpiresAt: nil
// means it stops now, otherwise a time after now and at most
// MaxRotationOverlap away. A client holds two secrets at most: rotating
// again during an overlap ends the older one at once.
//
// Every replica drops its cached copy of the client when it reads the
// change from the revocation log (store.RevokeClientChange: milliseconds
// through pub/sub, one poll interval at worst), so the new secret works
// everywhere, and an old one told to stop now stops, without waiting for
// the cache to age.
func (s *Service) RotateSecret(ctx context.Context, c Caller, id string, previousExpiresAt *time.Time) (Issued, error) {
	a, err := s.authorize(ctx, c)
	if err != nil {
		return Issued{}, err
	}
	now := s.cfg.Now().UTC()
	var keep *time.Time
	if previousExpiresAt != nil {
		t := previousExpiresAt.UTC()
		if !t.After(now) || t.After(now.Add(MaxRotationOverlap)) {
			return Issued{}, &ValidationError{Field: "expires_at",
				Message: "The previous secret's expiry must be \"now\" or a time in the next 30 days."}
		}
		keep = &t
	}
	secret, err := NewSecret()
	if err != nil {
		return Issued{}, err
	}
	var rec store.Client
	err = s.st.UpdateClient(ctx, id, func(cur store.Client) (store.Client, error) {
		if cur.Public {
			return cur, ErrPublic
		}
		cur.PreviousSecretHash, cur.PreviousSecretExpiresAt = "", nil
		if keep != nil {
			cur.PreviousSecretHash, cur.PreviousSecretExpiresAt = cur.SecretHash, keep
		}
		cur.SecretHash = HashSecret(secret)
		rec = cur
		return cur, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return Issued{}, ErrUnknown
	}
	if err != nil {
		return Issued{}, err
	}
	// The secret is changed and must be handed out: a failure to announce
	// it is logged, and the caches converge within their freshness.
	if err := s.announce(ctx, id); err != nil {
		s.cfg.Logger.WarnContext(ctx, "clients: cannot record a rotation in the revocation log; other replicas see it within the client cache's freshness",
			"client_id", id, "error", err)
	}
	details := map[string]string{"previous_secret_expires_at": "now"}
	if keep != nil {
		details["previous_secret_expires_at"] = keep.Format(time.RFC3339)
	}
	s.record(ctx, a, audit.ClientSecretRotated, id, details)
	return Issued{Info: info(rec, now), Secret: secret}, nil
}

// announce tells every replica that the client changed: its cached
// copies must go. The entry revokes no token.
func (s *Service) announce(ctx context.Context, id string) error {
	if s.cfg.Revocations == nil {
		s.Forget(id)
		return nil
	}
	return s.cfg.Revocations.Revoke(ctx, store.Revocation{Kind: store.RevokeClientChange, Key: id, ExpiresAt: s.cfg.Now().Add(s.cfg.ChangeTTL)})
}

// deleteAhead is how far past the client cache's freshness a deleted
// client's revocation reaches: the time the delete takes to write.
const deleteAhead = 5 * time.Second

// Delete removes a client, and every token issued to it stops at once on
// every replica and verifier.
//
// The revocation is written first (a failure then changes nothing that a
// retry does not finish), and it covers the tokens issued until the
// client cache's freshness (plus a few seconds) from now: a replica that
// read the client again between the revocation and the delete may
// authenticate it that long, and what it issues is refused too. Client
// ids are never reused, so the cut-off ahead harms no other client. Then
// the client's refresh families end, then the client goes.
func (s *Service) Delete(ctx context.Context, c Caller, id string) error {
	a, err := s.authorize(ctx, c)
	if err != nil {
		return err
	}
	rec, err := s.st.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknown
	}
	if err != nil {
		return err
	}
	if why, ok := s.cfg.Reserved[id]; ok {
		return fmt.Errorf("%w: %s", ErrReserved, why)
	}
	through := s.cfg.Now().Add(s.cfg.Fresh + deleteAhead)
	if s.cfg.Tokens != nil {
		if err := s.cfg.Tokens.RevokeSubjectThrough(ctx, store.RevokeClient, id, through, s.cfg.MaxAccessTokenTTL); err != nil {
			return err
		}
	}
	if s.cfg.Refresh != nil {
		if err := s.cfg.Refresh.RevokeClient(ctx, id); err != nil {
			return err
		}
	}
	if err := s.st.DeleteClient(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.Forget(id)
	s.record(ctx, a, audit.ClientDeleted, id, map[string]string{"name": rec.Name, "type": clientType(rec)})
	return nil
}

func (s *Service) record(ctx context.Context, a actor, action, id string, details map[string]string) {
	if s.cfg.Audit == nil {
		return
	}
	for k, v := range details {
		if v == "" {
			delete(details, k)
		}
	}
	s.cfg.Audit.Record(ctx, store.AuditEvent{
		Action: action, Success: true, ActorKind: a.kind, ActorID: a.id, OrganisationID: a.org,
		TargetKind: store.KindClient, TargetID: id, Details: details,
	})
}

func clientType(c store.Client) string {
	if c.Public {
		return TypePublic
	}
	return TypeConfidential
}

func info(c store.Client, now time.Time) Info {
	in := Info{
		ID: c.ID, Name: c.Name, Type: clientType(c),
		GrantTypes: orEmpty(c.GrantTypes), Scopes: orEmpty(c.Scopes), Audiences: orEmpty(c.Audience),
		OrganisationID: c.OrganisationID, Mode: c.Mode, CreatedAt: c.CreatedAt,
		Lifetimes: Lifetimes{AccessTokenTTL: c.AccessTokenTTL, RefreshTokenTTL: c.RefreshTokenTTL, RefreshIdleTTL: c.RefreshIdleTTL},
	}
	if previousInForce(c, now) {
		t := *c.PreviousSecretExpiresAt
		in.PreviousSecretExpiresAt = &t
	}
	return in
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return slices.Clone(l)
}

// limits are the service's maxima for a client's lifetimes.
func (s *Service) limits() limits {
	return limits{maxAccess: s.cfg.MaxAccessTokenTTL, maxRefresh: s.cfg.MaxRefreshTokenTTL}
}

// ttlDetail is a lifetime for the audit trail: seconds, or "default".
func ttlDetail(d time.Duration) string {
	if d == 0 {
		return "default"
	}
	return strconv.FormatInt(int64(d/time.Second), 10)
}
