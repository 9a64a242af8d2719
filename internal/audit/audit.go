// Package audit records security events (sign-ins, switches, refresh-token
// reuse, user, organisation, API-key and OAuth-client changes) in the
// store's audit table. Recording never fails the operation it describes: a
// write error is logged, and the event fields never hold secrets.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/internal/store"
)

// Actions recorded.
const (
	UserSignIn          = "user.signin"
	UserSignInFailed    = "user.signin_failed"
	UserCreated         = "user.created"
	UserDisabled        = "user.disabled"
	UserSwitched        = "user.switched"
	MembershipAdded     = "membership.added"
	MembershipRemoved   = "membership.removed"
	OrgCreated          = "organisation.created"
	RefreshReuse        = "refresh.reuse_detected"
	RefreshFamilyEnded  = "refresh.family_revoked"
	SessionsEnded       = "user.sessions_ended"
	ContactRegistered   = "contact.registered"
	ContactCreated      = "contact.created"
	ContactUpdated      = "contact.updated"
	ContactErased       = "contact.erased"
	PasswordChanged     = "password.changed"
	PasswordReset       = "password.reset"
	IdentityAttached    = "contact.identity_attached"
	ContactLinked       = "contact.organisation_linked"
	ContactSignIn       = "contact.signin"
	ContactSignInFailed = "contact.signin_failed"
	APIKeyCreated       = "api_key.created"
	APIKeyRolled        = "api_key.rolled"
	APIKeyRevoked       = "api_key.revoked"
	APIKeyRejected      = "api_key.rejected"
	ClientCreated       = "client.created"
	ClientSecretRotated = "client.secret_rotated"
	ClientUpdated       = "client.updated"
	ClientDeleted       = "client.deleted"

	// OrgRegistered: an organisation and its owner were signed up with a
	// public key. OrgRegisterRefused: a sign-up code was validated for an
	// email that has an account meanwhile (nothing was created).
	OrgRegistered      = "organisation.registered"
	OrgRegisterRefused = "organisation.register_refused"
)

// Meta is where a request came from.
type Meta struct {
	IP        string
	UserAgent string
	RequestID string
}

type metaKey struct{}

// WithMeta stores request metadata in ctx (the HTTP layer does this).
func WithMeta(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// MetaFrom returns the request metadata in ctx.
func MetaFrom(ctx context.Context) Meta {
	m, _ := ctx.Value(metaKey{}).(Meta)
	return m
}

// Writer is the store method the recorder needs.
type Writer interface {
	CreateAuditEvent(ctx context.Context, e store.AuditEvent) error
}

// Recorder writes audit events.
type Recorder struct {
	w      Writer
	logger *slog.Logger
	now    func() time.Time
}

// New returns a Recorder.
func New(w Writer, logger *slog.Logger) *Recorder {
	if logger == nil {
		logger = slog.Default()
	}
	return &Recorder{w: w, logger: logger, now: time.Now}
}

// Record writes e, filling id, time and request metadata from ctx.
func (r *Recorder) Record(ctx context.Context, e store.AuditEvent) {
	if r == nil {
		return
	}
	if e.ID == "" {
		e.ID = uuid.Must(uuid.NewV7()).String()
	}
	if e.At.IsZero() {
		e.At = r.now().UTC()
	}
	m := MetaFrom(ctx)
	if e.IP == "" {
		e.IP = m.IP
	}
	if e.UserAgent == "" {
		e.UserAgent = truncate(m.UserAgent, 256)
	}
	if e.RequestID == "" {
		e.RequestID = m.RequestID
	}
	// The event outlives a cancelled request: a failed sign-in must be
	// recorded even when the client hung up.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.w.CreateAuditEvent(wctx, e); err != nil {
		r.logger.ErrorContext(ctx, "audit: cannot record event", "action", e.Action, "error", err)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
