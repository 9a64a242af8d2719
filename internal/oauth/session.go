package oauth

import (
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/signin"
)

// Session is what authd knows about the subject of a token request. Grant
// handlers fill it; the access-token strategy turns it into claims.
type Session struct {
	Subject   string
	Username  string
	Kind      string // token.KindUser, KindContact or KindClient
	Org       string
	Mode      string
	HomeOrg   string
	Family    string
	ExpiresAt map[fosite.TokenType]time.Time
	// Extra is copied into the token response (e.g. the CRM-style
	// profile), never into the token.
	Extra map[string]any

	// issued holds tokens a grant minted itself (refresh, exchange).
	issued *signin.Tokens
}

var _ fosite.Session = (*Session)(nil)

// NewSession returns an empty session.
func NewSession() *Session {
	return &Session{ExpiresAt: map[fosite.TokenType]time.Time{}}
}

// SetExpiresAt implements fosite.Session.
func (s *Session) SetExpiresAt(key fosite.TokenType, exp time.Time) {
	if s.ExpiresAt == nil {
		s.ExpiresAt = map[fosite.TokenType]time.Time{}
	}
	s.ExpiresAt[key] = exp
}

// GetExpiresAt implements fosite.Session.
func (s *Session) GetExpiresAt(key fosite.TokenType) time.Time { return s.ExpiresAt[key] }

// GetUsername implements fosite.Session.
func (s *Session) GetUsername() string { return s.Username }

// GetSubject implements fosite.Session.
func (s *Session) GetSubject() string { return s.Subject }

// Clone implements fosite.Session.
func (s *Session) Clone() fosite.Session {
	c := *s
	c.ExpiresAt = make(map[fosite.TokenType]time.Time, len(s.ExpiresAt))
	for k, v := range s.ExpiresAt {
		c.ExpiresAt[k] = v
	}
	if s.Extra != nil {
		c.Extra = make(map[string]any, len(s.Extra))
		for k, v := range s.Extra {
			c.Extra[k] = v
		}
	}
	return &c
}
