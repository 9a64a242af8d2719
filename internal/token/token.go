package token

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authd/authd/internal/keys"
	"github.com/authd/authd/internal/store"
)

// Type is the JWS typ header of access tokens (RFC 9068 §2.1).
const Type = "at+jwt"

// Subject kinds (the kind claim).
const (
	KindUser    = "user"
	KindContact = "contact"
	KindClient  = "client"
)

var (
	// ErrInvalid: not an authd access token (malformed, bad signature,
	// unknown key, wrong typ, issuer or claims).
	ErrInvalid = errors.New("token: invalid")
	// ErrExpired: a genuine token past its exp.
	ErrExpired = errors.New("token: expired")
	// ErrRevoked: a genuine token revoked before its exp.
	ErrRevoked = errors.New("token: revoked")
)

// Claims are the claims of an access token.
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  Audience `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf,omitempty"`
	ID        string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope,omitempty"`
	Org       string   `json:"org,omitempty"`
	Mode      string   `json:"mode,omitempty"`
	Kind      string   `json:"kind"`
	// HomeOrg is the organisation of the membership that granted a
	// masquerade, when it differs from Org.
	HomeOrg string `json:"home_org,omitempty"`
	// Family names the refresh-token family this token was issued with.
	Family string `json:"sid,omitempty"`
	// ServiceOwner is set on tokens of users who are members of the
	// service owner.
	ServiceOwner bool `json:"service_owner,omitempty"`
}

// Scopes splits Scope.
func (c Claims) Scopes() []string { return strings.Fields(c.Scope) }

// Expiry is ExpiresAt as a time.
func (c Claims) Expiry() time.Time { return time.Unix(c.ExpiresAt, 0) }

// Audience marshals as a string when it has one member (RFC 7519 §4.1.3
// allows both; most verifiers expect the string form).
type Audience []string

// MarshalJSON implements json.Marshaler.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON implements json.Unmarshaler.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = Audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// Signer is what the keys manager offers.
type Signer interface {
	Sign(payload []byte, typ string) (string, error)
	Verify(token string) ([]byte, keys.Header, error)
}

// Revocations is the revocation state (package revocation): durable
// writes, in-process reads.
type Revocations interface {
	// Revoked reports whether verified claims are revoked, from process
	// memory only.
	Revoked(c Claims) bool
	// Revoke records entries durably and applies them in this process
	// before it returns.
	Revoke(ctx context.Context, rs ...store.Revocation) error
}

// Service issues and verifies access tokens.
type Service struct {
	signer Signer
	revs   Revocations
	issuer string
	leeway time.Duration
	now    func() time.Time
	check  func(context.Context, Claims) error
	cache  *verifiedCache
}

// ErrSubjectGone is what a SubjectCheck returns when the subject may no
// longer use its tokens (a disabled user, a removed membership).
var ErrSubjectGone = errors.New("token: subject no longer allowed")

// SetSubjectCheck installs a check run by Verify on every otherwise valid
// token: returning ErrSubjectGone makes the token revoked. It must be
// cheap (the identity service answers from a cache).
func (s *Service) SetSubjectCheck(f func(context.Context, Claims) error) { s.check = f }

// New returns a Service with a verified-token cache of the default size
// (SetCache changes it). now may be nil (time.Now).
func New(signer Signer, revs Revocations, issuer string, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{signer: signer, revs: revs, issuer: issuer, leeway: 30 * time.Second, now: now,
		cache: newVerifiedCache(DefaultCacheEntries, DefaultCacheBytes, issuer)}
}

// SetCache sizes the verified-token cache: at most entries tokens and
// about maxBytes bytes; either 0 turns it off. Call it before Verify is
// used.
func (s *Service) SetCache(entries int, maxBytes int64) {
	s.cache = newVerifiedCache(entries, maxBytes, s.issuer)
}

// KeyChecker is what a Signer may also offer: whether a token signed by
// kid still verifies at t (the key is loaded and has not expired). Verify
// asks it before answering from the verified-token cache, so a key
// removed or expired since stops its cached tokens too. A Signer without
// it gets no cache.
type KeyChecker interface {
	Accepts(kid string, t time.Time) bool
}

// Issuer is the iss of every token this service signs.
func (s *Service) Issuer() string { return s.issuer }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// NewID returns a random token id (jti).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Issue signs c. It fills iss, iat and jti when empty; exp must be set.
func (s *Service) Issue(c Claims) (string, error) {
	if c.Issuer == "" {
		c.Issuer = s.issuer
	}
	if c.IssuedAt == 0 {
		c.IssuedAt = s.now().Unix()
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	if c.ExpiresAt <= c.IssuedAt || c.Subject == "" || c.Kind == "" {
		return "", fmt.Errorf("token: refusing to sign claims without exp, sub or kind")
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return s.signer.Sign(payload, Type)
}

// Subject is whom an access token is for and what it acts for.
type Subject struct {
	ID       string
	Kind     string
	ClientID string
	Org      string
	Mode     string
	HomeOrg  string
	Family   string
	Scopes   []string
	Audience []string // empty: the issuer
	// ServiceOwner: a user who is a member of the service owner.
	ServiceOwner bool
}

// IssueFor signs an access token for sub, valid for ttl from now (exp is
// exactly ttl, in whole seconds, after iat): the one place access-token
// claims are built (OAuth grants through fosite and the CRM-style
// endpoints alike). It returns the claims as signed.
func (s *Service) IssueFor(sub Subject, ttl time.Duration) (string, Claims, error) {
	aud := sub.Audience
	if len(aud) == 0 {
		aud = []string{s.issuer}
	}
	iat := s.now().Unix()
	c := Claims{
		Issuer:       s.issuer,
		Subject:      sub.ID,
		Audience:     aud,
		ExpiresAt:    iat + int64(ttl/time.Second),
		IssuedAt:     iat,
		ID:           NewID(),
		ClientID:     sub.ClientID,
		Scope:        strings.Join(sub.Scopes, " "),
		Org:          sub.Org,
		Mode:         sub.Mode,
		Kind:         sub.Kind,
		HomeOrg:      sub.HomeOrg,
		Family:       sub.Family,
		ServiceOwner: sub.ServiceOwner,
	}
	tok, err := s.Issue(c)
	return tok, c, err
}

// Verify checks signature (key chosen by kid), typ, issuer, exp/nbf, the
// revocation state (process memory: no I/O) and the subject check. It
// returns the claims with ErrExpired too, so callers can tell a UI to
// refresh.
//
// A token that passed every check is remembered (by its SHA-256) in the
// verified-token cache: presented again, its signature and claims are not
// parsed again, but exp, its key, the revocation state and the subject
// check are, on every call.
func (s *Service) Verify(ctx context.Context, raw string) (Claims, error) {
	kc, _ := s.signer.(KeyChecker)
	if s.cache == nil || kc == nil || len(raw) > maxTokenLen {
		c, _, err := s.verify(ctx, raw, s.now())
		return c, err
	}
	sum := tokenSum(raw)
	now := s.now()
	if c, kid, ok := s.cache.get(sum); ok {
		switch {
		case s.expired(c, now):
			s.cache.remove(sum)
			return c, ErrExpired
		case !kc.Accepts(kid, now):
			s.cache.remove(sum) // the key is gone: verify from scratch (and refuse)
		default:
			err := s.checkState(ctx, c)
			switch {
			case err == nil:
				return c, nil
			case errors.Is(err, ErrRevoked):
				s.cache.remove(sum)
				return c, err
			default:
				return Claims{}, err
			}
		}
	}
	c, kid, err := s.verify(ctx, raw, now)
	if err == nil {
		s.cache.add(sum, c, kid, now.Add(-s.leeway).Unix())
	}
	return c, err
}

// maxTokenLen is the longest token Parse reads.
const maxTokenLen = 8192

// verify is Verify without the cache; it also returns the kid of the key
// that signed the token.
func (s *Service) verify(ctx context.Context, raw string, now time.Time) (Claims, string, error) {
	c, kid, err := s.parse(raw)
	if err != nil {
		return Claims{}, "", err
	}
	if s.expired(c, now) {
		return c, "", ErrExpired
	}
	if c.NotBefore != 0 && now.Add(s.leeway).Before(time.Unix(c.NotBefore, 0)) {
		return Claims{}, "", fmt.Errorf("%w: not yet valid", ErrInvalid)
	}
	if err := s.checkState(ctx, c); errors.Is(err, ErrRevoked) {
		return c, "", err
	} else if err != nil {
		return Claims{}, "", err
	}
	return c, kid, nil
}

// expired reports whether c's exp, plus the leeway, has passed at now.
func (s *Service) expired(c Claims, now time.Time) bool {
	return now.After(time.Unix(c.ExpiresAt, 0).Add(s.leeway))
}

// checkState applies what can change while a token lives: the revocation
// state, then the subject check. ErrRevoked when either refuses the token;
// another error when the subject check cannot answer.
func (s *Service) checkState(ctx context.Context, c Claims) error {
	if s.revs.Revoked(c) {
		return ErrRevoked
	}
	if s.check != nil {
		if err := s.check(ctx, c); errors.Is(err, ErrSubjectGone) {
			return ErrRevoked
		} else if err != nil {
			return err
		}
	}
	return nil
}

// Parse checks signature, typ and issuer only (no time or revocation).
func (s *Service) Parse(raw string) (Claims, error) {
	c, _, err := s.parse(raw)
	return c, err
}

func (s *Service) parse(raw string) (Claims, string, error) {
	if strings.Count(raw, ".") != 2 || len(raw) > maxTokenLen {
		return Claims{}, "", ErrInvalid
	}
	payload, hdr, err := s.signer.Verify(raw)
	if err != nil {
		return Claims{}, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if !strings.EqualFold(hdr.Type, Type) && !strings.EqualFold(hdr.Type, "application/"+Type) {
		return Claims{}, "", fmt.Errorf("%w: typ %q is not %s", ErrInvalid, hdr.Type, Type)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, "", fmt.Errorf("%w: claims: %v", ErrInvalid, err)
	}
	if c.Issuer != s.issuer || c.Subject == "" || c.ID == "" || c.ExpiresAt == 0 || c.Kind == "" {
		return Claims{}, "", fmt.Errorf("%w: missing or foreign claims", ErrInvalid)
	}
	return c, hdr.KID, nil
}

// Revoke revokes the token c (by jti) until it would have expired.
func (s *Service) Revoke(ctx context.Context, c Claims) error {
	exp := time.Unix(c.ExpiresAt, 0).Add(s.leeway)
	if !exp.After(s.now()) {
		return nil
	}
	return s.revs.Revoke(ctx, store.Revocation{Kind: store.RevokeToken, Key: c.ID, ExpiresAt: exp})
}

// RevokeFamily ends every access token issued with a refresh family
// (claim sid) for as long as such a token can live: accessTTL is the
// longest lifetime any client's access token may have.
func (s *Service) RevokeFamily(ctx context.Context, familyID string, accessTTL time.Duration) error {
	if familyID == "" {
		return nil
	}
	return s.revs.Revoke(ctx, store.Revocation{Kind: store.RevokeFamily, Key: familyID, ExpiresAt: s.now().Add(accessTTL + s.leeway)})
}

// RevokeSubject ends every access token issued until now to a subject:
// kind is store.RevokeUser (key: the user id), store.RevokeContact (key:
// store.ContactKey) or store.RevokeClient (key: the client id). accessTTL
// is the longest lifetime such a token can have: the longest any client's
// access token may have, not the default.
func (s *Service) RevokeSubject(ctx context.Context, kind, key string, accessTTL time.Duration) error {
	return s.revs.Revoke(ctx, store.Revocation{Kind: kind, Key: key, ExpiresAt: s.now().Add(accessTTL + s.leeway)})
}

// RevokeSubjectThrough is RevokeSubject for the tokens issued at or
// before through, which may lie ahead: a subject that is going away (a
// deleted client) may still be issued tokens for a moment by a replica
// that has not heard of it yet, and those are refused too.
func (s *Service) RevokeSubjectThrough(ctx context.Context, kind, key string, through time.Time, accessTTL time.Duration) error {
	return s.revs.Revoke(ctx, store.Revocation{Kind: kind, Key: key, At: through, ExpiresAt: through.Add(accessTTL + s.leeway)})
}
