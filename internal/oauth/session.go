package oauth

import (
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/signin"
)

// Session is fosite's view of a token request: the subject and the tokens
// the grant had signin issue.
type Session struct {
	Subject   string
	ExpiresAt map[fosite.TokenType]time.Time

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
func (s *Session) GetUsername() string { return "" }

// GetSubject implements fosite.Session.
func (s *Session) GetSubject() string { return s.Subject }

// Clone implements fosite.Session.
func (s *Session) Clone() fosite.Session {
	c := *s
	c.ExpiresAt = make(map[fosite.TokenType]time.Time, len(s.ExpiresAt))
	for k, v := range s.ExpiresAt {
		c.ExpiresAt[k] = v
	}
	return &c
}
