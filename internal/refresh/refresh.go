// Package refresh is authd's one refresh-token mechanism, for users and
// contacts alike: opaque tokens stored as SHA-256 hashes, grouped in
// families, rotated on every use, with reuse detection that revokes the
// whole family, absolute and idle lifetimes, and a short grace interval in
// which only the immediate parent of the current token may be redeemed
// again, answering the same child (for mobile apps whose first refresh
// answer was lost).
//
// A child token is derived from its parent (HMAC-SHA256 under a key from
// the system secret), so the same child can be handed out again without
// storing any token in plaintext.
package refresh

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/store"
)

// Prefix starts every refresh token (so scanners and introspection can
// tell them apart from JWTs and API keys).
const Prefix = "rt_"

var (
	// ErrInvalid: unknown, expired, idle, revoked, or issued to another
	// client. Callers answer invalid_grant and never say which.
	ErrInvalid = errors.New("refresh: invalid refresh token")
	// ErrReused: a rotated token was presented again outside the grace
	// interval; its whole family has just been revoked.
	ErrReused = errors.New("refresh: refresh token reuse detected")
	// ErrOtherClient: RevokeFamily of a token the caller may not end
	// (issued to another client, or to another person).
	ErrOtherClient = errors.New("refresh: token issued to another client")
)

// Config sets lifetimes.
type Config struct {
	AbsoluteTTL time.Duration // a family ends this long after sign-in (and never later)
	IdleTTL     time.Duration // ... or when not used for this long
	ReuseGrace  time.Duration // the immediate parent may be redeemed again this long
}

// Lifetimes are a client's own refresh lifetimes; a zero field takes the
// configured one. Absolute is capped at Config.AbsoluteTTL, the longest a
// family may live, and so is Idle.
type Lifetimes struct {
	Absolute time.Duration
	Idle     time.Duration
}

// effective is lt over the configuration: the lifetimes that apply.
func (s *Service) effective(lt Lifetimes) Lifetimes {
	out := Lifetimes{Absolute: s.cfg.AbsoluteTTL, Idle: s.cfg.IdleTTL}
	if lt.Absolute > 0 && lt.Absolute < out.Absolute {
		out.Absolute = lt.Absolute
	}
	if lt.Idle > 0 {
		out.Idle = min(lt.Idle, s.cfg.AbsoluteTTL)
	}
	return out
}

// LifetimesOf tells the lifetimes of a client's families.
type LifetimesOf func(ctx context.Context, clientID string) (Lifetimes, error)

// Store is the part of store.Store refresh tokens need.
type Store interface {
	CreateRefreshToken(ctx context.Context, t store.RefreshToken) error
	GetRefreshToken(ctx context.Context, hash string) (store.RefreshToken, error)
	RotateRefreshToken(ctx context.Context, parentHash string, usedAt time.Time, child store.RefreshToken) error
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
	RevokeRefreshTokensOf(ctx context.Context, subjectKind, subjectID string, at time.Time) error
	RevokeRefreshTokensOfClient(ctx context.Context, clientID string, at time.Time) error
	RevokeRefreshFamilies(ctx context.Context, sel store.SubjectSessions, at time.Time) ([]string, error)
	ListRefreshSessions(ctx context.Context, sel store.SubjectSessions, now time.Time) ([]store.RefreshSession, error)
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error)
}

// Grant is what a new family is issued for.
type Grant struct {
	SubjectKind    string
	SubjectID      string
	ClientID       string
	OrganisationID string
	HomeOrg        string
	Mode           store.Mode
	Scopes         []string
	// Audience is the aud of the family's access tokens (empty: the
	// default).
	Audience []string
	// FamilyID, when set, is the id the new family takes: it was given out
	// (as an access token's sid) before the family existed. Empty: a new
	// id. Use NewFamilyID to make one.
	FamilyID string
	// Lifetimes are the client's own (zero: the configured ones). The
	// family's absolute expiry is fixed here; its idle lifetime is the one
	// in force at each redeem.
	Lifetimes Lifetimes
}

// NewFamilyID returns a fresh family id, for a grant that must name the
// family in an access token before Start opens it.
func NewFamilyID() string { return uuid.Must(uuid.NewV7()).String() }

// Service issues, rotates and revokes refresh tokens.
type Service struct {
	st    Store
	key   []byte
	cfg   Config
	audit *audit.Recorder
	now   func() time.Time
	// onRevoked is told of every family ended, so the access tokens
	// issued with it end too.
	onRevoked func(ctx context.Context, familyID string) error
	// onSubject is told of every subject whose families were all ended,
	// so the subject's access tokens end too.
	onSubject func(ctx context.Context, kind, id string) error
}

// OnSubjectRevoked installs the hook told of every subject whose families
// RevokeSubject ended.
func (s *Service) OnSubjectRevoked(f func(ctx context.Context, kind, id string) error) {
	s.onSubject = f
}

// OnFamilyRevoked installs the hook told of every family this service
// ends (reuse, logout, RFC 7009, a principal that lost its rights).
func (s *Service) OnFamilyRevoked(f func(ctx context.Context, familyID string) error) {
	s.onRevoked = f
}

// EndFamily revokes a family and tells the hook.
func (s *Service) EndFamily(ctx context.Context, familyID string) error {
	if err := s.st.RevokeRefreshFamily(ctx, familyID, s.now().UTC()); err != nil {
		return err
	}
	if s.onRevoked != nil {
		return s.onRevoked(ctx, familyID)
	}
	return nil
}

// New returns a Service; key (≥ 32 bytes) derives child tokens.
func New(st Store, key []byte, cfg Config, rec *audit.Recorder, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, key: key, cfg: cfg, audit: rec, now: now}
}

// Hash is the stored form of a token.
func Hash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// LooksLike reports whether tok has the shape of a refresh token.
func LooksLike(tok string) bool {
	return strings.HasPrefix(tok, Prefix) && len(tok) == len(Prefix)+43
}

func (s *Service) child(parent string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(parent))
	return Prefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Start opens a new family for g and returns its first token.
func (s *Service) Start(ctx context.Context, g Grant) (string, store.RefreshToken, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", store.RefreshToken{}, err
	}
	tok := Prefix + base64.RawURLEncoding.EncodeToString(b[:])
	now := s.now().UTC()
	family := g.FamilyID
	if family == "" {
		family = NewFamilyID()
	}
	rec := store.RefreshToken{
		Hash:            Hash(tok),
		FamilyID:        family,
		SubjectKind:     g.SubjectKind,
		SubjectID:       g.SubjectID,
		ClientID:        g.ClientID,
		OrganisationID:  g.OrganisationID,
		HomeOrg:         g.HomeOrg,
		Mode:            g.Mode,
		Scopes:          g.Scopes,
		Audience:        g.Audience,
		CreatedAt:       now,
		FamilyExpiresAt: now.Add(s.effective(g.Lifetimes).Absolute),
		FamilyCreatedAt: now,
	}
	rec.IP, rec.UserAgent = requestOf(ctx)
	if err := s.st.CreateRefreshToken(ctx, rec); err != nil {
		return "", store.RefreshToken{}, err
	}
	return tok, rec, nil
}

// Accept decides, from a token's record, whether the caller may redeem it
// at all (an API key's tenant, the endpoint's subject kind). A refused
// token is ErrInvalid and nothing happens to it: no rotation, no reuse
// detection.
type Accept func(store.RefreshToken) bool

// Redeem rotates tok for clientID: it returns the next token of the
// family and its record. Presenting a rotated token again is reuse (the
// family is revoked, ErrReused), except for the immediate parent within
// the grace interval, which gets the same child back. lt are the client's
// lifetimes now (a token unused for its idle lifetime is ErrInvalid);
// accept may be nil.
func (s *Service) Redeem(ctx context.Context, tok, clientID string, lt Lifetimes, accept Accept) (string, store.RefreshToken, error) {
	rec, err := s.find(ctx, tok)
	if err != nil {
		return "", store.RefreshToken{}, err
	}
	h := rec.Hash
	now := s.now().UTC()
	switch {
	case rec.ClientID != clientID, rec.RevokedAt != nil, !now.Before(rec.FamilyExpiresAt), accept != nil && !accept(rec):
		return "", store.RefreshToken{}, ErrInvalid
	}
	if rec.UsedAt == nil {
		if now.Sub(rec.CreatedAt) > s.effective(lt).Idle {
			return "", store.RefreshToken{}, ErrInvalid
		}
		childTok := s.child(tok)
		child := rec
		child.Hash = Hash(childTok)
		child.ParentHash = h
		child.ChildHash = ""
		child.CreatedAt = now
		child.UsedAt = nil
		child.IP, child.UserAgent = requestOf(ctx)
		err := s.st.RotateRefreshToken(ctx, h, now, child)
		if err == nil {
			return childTok, child, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return "", store.RefreshToken{}, err
		}
		// A concurrent redeem rotated it first: judge it as used.
		if rec, err = s.st.GetRefreshToken(ctx, h); err != nil {
			return "", store.RefreshToken{}, err
		}
		if rec.RevokedAt != nil || rec.UsedAt == nil {
			return "", store.RefreshToken{}, ErrInvalid
		}
	}
	if now.Sub(*rec.UsedAt) <= s.cfg.ReuseGrace && rec.ChildHash != "" {
		child, err := s.st.GetRefreshToken(ctx, rec.ChildHash)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", store.RefreshToken{}, err
		}
		if err == nil && child.UsedAt == nil && child.RevokedAt == nil {
			return s.child(tok), child, nil
		}
	}
	if err := s.EndFamily(ctx, rec.FamilyID); err != nil {
		return "", store.RefreshToken{}, err
	}
	s.audit.Record(ctx, store.AuditEvent{
		Action: audit.RefreshReuse, ActorKind: rec.SubjectKind, ActorID: rec.SubjectID,
		OrganisationID: rec.OrganisationID, TargetKind: "refresh_family", TargetID: rec.FamilyID,
		Details: map[string]string{"client_id": rec.ClientID},
	})
	return "", store.RefreshToken{}, ErrReused
}

// find reads tok's record: ErrInvalid for a malformed or unknown token.
func (s *Service) find(ctx context.Context, tok string) (store.RefreshToken, error) {
	if !LooksLike(tok) {
		return store.RefreshToken{}, ErrInvalid
	}
	rec, err := s.st.GetRefreshToken(ctx, Hash(tok))
	if errors.Is(err, store.ErrNotFound) {
		return store.RefreshToken{}, ErrInvalid
	}
	return rec, err
}

// Peek returns the record of a token in any state (used, revoked,
// expired), or ErrInvalid for a malformed or unknown one; nothing
// happens to it.
func (s *Service) Peek(ctx context.Context, tok string) (store.RefreshToken, error) {
	return s.find(ctx, tok)
}

// Lookup returns the record of a live token (for introspection) and when
// it stops being redeemable unless rotated first, or ErrInvalid. lifetimes
// tells its client's lifetimes (nil: the configured ones).
func (s *Service) Lookup(ctx context.Context, tok string, lifetimes LifetimesOf) (store.RefreshToken, time.Time, error) {
	rec, err := s.find(ctx, tok)
	if err != nil {
		return store.RefreshToken{}, time.Time{}, err
	}
	var lt Lifetimes
	if lifetimes != nil {
		if lt, err = lifetimes(ctx, rec.ClientID); err != nil {
			return store.RefreshToken{}, time.Time{}, err
		}
	}
	idle := s.effective(lt).Idle
	now := s.now()
	if rec.RevokedAt != nil || rec.UsedAt != nil || !now.Before(rec.FamilyExpiresAt) || now.Sub(rec.CreatedAt) > idle {
		return rec, time.Time{}, ErrInvalid
	}
	exp := rec.CreatedAt.Add(idle)
	if rec.FamilyExpiresAt.Before(exp) {
		exp = rec.FamilyExpiresAt
	}
	return rec, exp, nil
}

// RevokeFamily ends the family of tok (logout, RFC 7009). Unknown tokens
// are ErrInvalid; a token the caller may not end (accept refuses it: another
// client's, another person's) is ErrOtherClient and nothing changes.
func (s *Service) RevokeFamily(ctx context.Context, tok string, accept Accept) (store.RefreshToken, error) {
	rec, err := s.find(ctx, tok)
	if err != nil {
		return store.RefreshToken{}, err
	}
	if accept != nil && !accept(rec) {
		return rec, ErrOtherClient
	}
	return rec, s.EndFamily(ctx, rec.FamilyID)
}

// RevokeSubject ends every family of a user or contact, and tells the
// hook, so their access tokens end too.
func (s *Service) RevokeSubject(ctx context.Context, kind, id string) error {
	if err := s.st.RevokeRefreshTokensOf(ctx, kind, id, s.now().UTC()); err != nil {
		return err
	}
	if s.onSubject != nil {
		return s.onSubject(ctx, kind, id)
	}
	return nil
}

// EndFamilies ends every family of one subject but sel.Except (sign out
// everywhere else, a password change or reset, an erasure), and tells the
// hook of each, so their access tokens end too.
func (s *Service) EndFamilies(ctx context.Context, sel store.SubjectSessions) error {
	_, err := s.endFamilies(ctx, sel)
	return err
}

func (s *Service) endFamilies(ctx context.Context, sel store.SubjectSessions) ([]string, error) {
	families, err := s.st.RevokeRefreshFamilies(ctx, sel, s.now().UTC())
	if err != nil || s.onRevoked == nil {
		return families, err
	}
	for _, f := range families {
		if err := s.onRevoked(ctx, f); err != nil {
			return families, err
		}
	}
	return families, nil
}

// maxUserAgent bounds the user agent kept with a token (bytes).
const maxUserAgent = 256

// requestOf is the client address and user agent of the request in ctx,
// as kept with a token: the user agent cut to maxUserAgent bytes on a
// character boundary.
func requestOf(ctx context.Context) (ip, userAgent string) {
	m := audit.MetaFrom(ctx)
	ua := strings.ToValidUTF8(m.UserAgent, "")
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
		for !utf8.ValidString(ua) {
			ua = ua[:len(ua)-1]
		}
	}
	return m.IP, ua
}

// Sessions lists the live families sel selects (Except and Family
// ignored), newest sign-in first: a family whose current token went
// unused for its client's idle lifetime is left out, as it can no longer
// be redeemed. lifetimes tells a client's lifetimes (nil: the configured
// ones).
func (s *Service) Sessions(ctx context.Context, sel store.SubjectSessions, lifetimes LifetimesOf) ([]store.RefreshSession, error) {
	now := s.now().UTC()
	all, err := s.st.ListRefreshSessions(ctx, sel, now)
	if err != nil {
		return nil, err
	}
	idle := map[string]time.Duration{}
	out := all[:0]
	for _, f := range all {
		d, ok := idle[f.ClientID]
		if !ok {
			var lt Lifetimes
			if lifetimes != nil {
				if lt, err = lifetimes(ctx, f.ClientID); err != nil {
					return nil, err
				}
			}
			d = s.effective(lt).Idle
			idle[f.ClientID] = d
		}
		if now.Sub(f.LastUsedAt) <= d {
			out = append(out, f)
		}
	}
	return out, nil
}

// EndSession ends one family of the subject sel names (sel.Family), and
// tells the hook; ErrInvalid when the subject has no such live family.
func (s *Service) EndSession(ctx context.Context, sel store.SubjectSessions) error {
	if sel.Family == "" {
		return ErrInvalid
	}
	families, err := s.endFamilies(ctx, sel)
	if err == nil && len(families) == 0 {
		return ErrInvalid
	}
	return err
}

// RevokeClient ends every family issued to a client (the client is being
// deleted). The hooks are not told: the client's revocation
// (store.RevokeClient) covers every access token issued to it.
func (s *Service) RevokeClient(ctx context.Context, clientID string) error {
	return s.st.RevokeRefreshTokensOfClient(ctx, clientID, s.now().UTC())
}

// Cleanup deletes tokens of families that ended more than a day ago.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	return s.st.DeleteExpiredRefreshTokens(ctx, s.now().Add(-24*time.Hour))
}

// RevokeSubjectFunc adapts RevokeSubject for callbacks.
func (s *Service) RevokeSubjectFunc(kind string) func(context.Context, string) error {
	return func(ctx context.Context, id string) error { return s.RevokeSubject(ctx, kind, id) }
}
