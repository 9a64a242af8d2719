package signup

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/otp"
	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/store"
)

var (
	// ErrLiveOnly: organisations are signed up with live keys only.
	ErrLiveOnly = errors.New("signup: organisations are signed up in live mode only")
	// ErrPublicKeyOnly: the key is not a public key.
	ErrPublicKeyOnly = errors.New("signup: organisations are signed up with a public key")
	// ErrEmailTaken: the owner's email has an account; nothing was created.
	ErrEmailTaken = errors.New("signup: the email already has an account")
)

// Config holds the sign-up limits (each at least 1).
type Config struct {
	PerIPPerHour     int
	PerAPIKeyPerHour int
	PerEmailPerHour  int
}

// OTP is the one-time code service.
type OTP interface {
	Issue(ctx context.Context, r otp.Request) (otp.Issued, error)
	VerifyFor(ctx context.Context, id, code, businessID string, mode store.Mode, purposes ...otp.Purpose) (otp.Verified, error)
}

// Key is the API key a sign-up is made with, and where the request came
// from.
type Key struct {
	ID             string
	OrganisationID string // the new organisation's parent
	Type           string // store.APIKeyPublic
	Mode           store.Mode
	IP             string
}

// Request is what a sign-up asks for.
type Request struct {
	Organisation identity.NewOrganisation // Name and Type
	Owner        identity.NewUser         // Email, Password, FirstName, LastName
}

// Completed is a sign-up that was stored.
type Completed struct {
	Organisation store.Organisation
	Owner        store.User
}

// Service runs sign-ups.
type Service struct {
	id    *identity.Service
	otp   OTP
	audit *audit.Recorder
	cfg   Config
}

// New returns a Service; a zero limit takes its default (10 per IP, 200
// per key, 3 per email, an hour).
func New(id *identity.Service, o OTP, rec *audit.Recorder, cfg Config) *Service {
	if cfg.PerIPPerHour <= 0 {
		cfg.PerIPPerHour = 10
	}
	if cfg.PerAPIKeyPerHour <= 0 {
		cfg.PerAPIKeyPerHour = 200
	}
	if cfg.PerEmailPerHour <= 0 {
		cfg.PerEmailPerHour = 3
	}
	return &Service{id: id, otp: o, audit: rec, cfg: cfg}
}

// Data keys of a pending sign-up in the code's sealed record.
const (
	dataParent   = "parent_id"
	dataName     = "name"
	dataType     = "type"
	dataEmail    = "email"
	dataFirst    = "first_name"
	dataLast     = "last_name"
	dataPassword = "password_hash"
)

// checkKey refuses keys that may not sign organisations up.
func checkKey(k Key) error {
	if k.Type != store.APIKeyPublic {
		return ErrPublicKeyOnly
	}
	if k.Mode != store.ModeLive {
		return ErrLiveOnly
	}
	return nil
}

// Register starts a sign-up below the key's organisation and returns the
// code sent to the owner's email. The answer, and the work behind it, is
// the same whether or not the email has an account; only the message the
// email's owner gets differs.
func (s *Service) Register(ctx context.Context, k Key, r Request) (otp.Issued, error) {
	if err := checkKey(k); err != nil {
		return otp.Issued{}, err
	}
	// Per client and per key first: malformed requests count too.
	if k.IP != "" {
		if err := s.id.Limit(ctx, "signup:rl:ip:"+k.IP, cache.PerHour(s.cfg.PerIPPerHour)); err != nil {
			return otp.Issued{}, err
		}
	}
	if err := s.id.Limit(ctx, "signup:rl:key:"+k.ID, cache.PerHour(s.cfg.PerAPIKeyPerHour)); err != nil {
		return otp.Issued{}, err
	}
	org, owner, err := s.id.CheckSignUp(ctx, k.OrganisationID, r.Organisation, r.Owner)
	if err != nil {
		return otp.Issued{}, err
	}
	if err := s.id.Limit(ctx, "signup:rl:email:"+identity.HashKey(owner.Email), cache.PerHour(s.cfg.PerEmailPerHour)); err != nil {
		return otp.Issued{}, err
	}
	// Hashed whether or not the email is taken: the same work.
	hash, err := s.id.HashPassword(owner.Password)
	if err != nil {
		return otp.Issued{}, prefixPassword(err)
	}
	taken, err := s.id.UserEmailTaken(ctx, owner.Email)
	if err != nil {
		return otp.Issued{}, err
	}
	req := otp.Request{BusinessID: k.OrganisationID, Mode: k.Mode, APIKeyID: k.ID, IP: k.IP,
		Channel: otp.ChannelEmail, To: owner.Email, Purpose: otp.PurposeOrganisationRegister, Deliver: true,
		Data: map[string]string{dataParent: org.ParentID, dataName: org.Name, dataType: org.Type, dataEmail: owner.Email,
			dataFirst: owner.FirstName, dataLast: owner.LastName, dataPassword: hash}}
	if taken {
		req.Purpose = otp.PurposeOrganisationRegisterExisting
		req.Data = map[string]string{dataParent: org.ParentID, dataEmail: owner.Email}
	}
	return s.otp.Issue(ctx, req)
}

// Complete spends a sign-up code (issued for the key's organisation) and
// stores the organisation and its owner. A code sent to an email that had
// an account, and a new email that got an account meanwhile, are
// ErrEmailTaken: nothing is created.
func (s *Service) Complete(ctx context.Context, k Key, otpID, code string) (Completed, error) {
	if err := checkKey(k); err != nil {
		return Completed{}, err
	}
	v, err := s.otp.VerifyFor(ctx, otpID, code, k.OrganisationID, k.Mode,
		otp.PurposeOrganisationRegister, otp.PurposeOrganisationRegisterExisting)
	if err != nil {
		return Completed{}, selfservice.CodeError(err)
	}
	if v.BusinessID != k.OrganisationID || v.Mode != k.Mode || v.Data[dataParent] != k.OrganisationID {
		return Completed{}, selfservice.ErrOTPExpired
	}
	switch v.Purpose {
	case otp.PurposeOrganisationRegisterExisting:
		s.refused(ctx, k)
		return Completed{}, ErrEmailTaken
	case otp.PurposeOrganisationRegister:
	default:
		return Completed{}, selfservice.ErrOTPExpired
	}
	d := v.Data
	o, u, err := s.id.SignUpOrganisation(ctx,
		identity.NewOrganisation{Name: d[dataName], Type: d[dataType], ParentID: d[dataParent]},
		identity.NewUser{Email: d[dataEmail], FirstName: d[dataFirst], LastName: d[dataLast]}, d[dataPassword])
	switch {
	case errors.Is(err, identity.ErrConflict):
		s.refused(ctx, k)
		return Completed{}, ErrEmailTaken
	case errors.Is(err, store.ErrNotFound):
		return Completed{}, selfservice.ErrOTPExpired // the parent is gone
	case err != nil:
		return Completed{}, fmt.Errorf("signup: storing the organisation: %w", err)
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.OrgRegistered, Success: true, ActorKind: store.KindAPIKey, ActorID: k.ID,
		OrganisationID: o.ID, TargetKind: "organisation", TargetID: o.ID,
		Details: map[string]string{"parent_id": o.ParentID, "type": o.Type, "owner_id": u.ID, "role": identity.RoleOwner}})
	return Completed{Organisation: o, Owner: u}, nil
}

// refused records a sign-up code validated for an email that has an
// account: filed under the key's organisation, naming no one.
func (s *Service) refused(ctx context.Context, k Key) {
	s.audit.Record(ctx, store.AuditEvent{Action: audit.OrgRegisterRefused, ActorKind: store.KindAPIKey, ActorID: k.ID,
		OrganisationID: k.OrganisationID, Details: map[string]string{"reason": "email_taken"}})
}

func prefixPassword(err error) error {
	var ve *identity.ValidationError
	if errors.As(err, &ve) {
		return &identity.ValidationError{Field: "owner.password", Message: ve.Message}
	}
	return err
}
