// Package selfservice runs the contact flows of the CRM's reference guide:
// registration (phone or email with a one-time code, or email with a
// password), sign-in by one-time code, and adding credentials to a contact
// created in the back office. It orchestrates identity (contacts and
// identities), otp (codes) and signin (tokens); the HTTP handlers and the
// OAuth OTP grant both call it.
package selfservice

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/otp"
	"github.com/authd/authd/internal/store"
)

var (
	// ErrInvalidOTP: the code is wrong.
	ErrInvalidOTP = errors.New("selfservice: invalid one-time code")
	// ErrOTPExpired: unknown, used up, expired or of another tenant.
	ErrOTPExpired = errors.New("selfservice: one-time code expired")
)

// OTP is the one-time code service.
type OTP interface {
	Issue(ctx context.Context, r otp.Request) (otp.Issued, error)
	Verify(ctx context.Context, id, code string, purposes ...otp.Purpose) (otp.Verified, error)
	VerifyFor(ctx context.Context, id, code, businessID string, mode store.Mode, purposes ...otp.Purpose) (otp.Verified, error)
}

// Tenant is who a self-service call acts for: the business and mode of
// the public API key (or of the client, for OAuth grants).
type Tenant struct {
	BusinessID string
	Mode       store.Mode
	APIKeyID   string
	IP         string
}

// Service runs the flows.
type Service struct {
	id     *identity.Service
	otp    OTP
	logger *slog.Logger

	fb             FacebookVerifier
	fbAutoRegister bool
}

// New returns a Service.
func New(id *identity.Service, o OTP, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{id: id, otp: o, logger: logger}
}

// Identity input of registration and add-credentials.
type IdentityInput struct {
	Provider    string // EMAIL or PHONE
	Email       string
	PhoneNumber string
	CountryCode string
	Password    string // EMAIL only; empty: sign in by one-time code
}

// Registered is the outcome of Register: the contact as registered and
// the code that proves the identity (the contact is stored once the code
// validates).
type Registered struct {
	Contact store.Contact
	OTP     otp.Issued
}

// resolved is an identity input checked and normalised.
type resolved struct {
	provider, subject string
	channel           otp.Channel
	region            string
}

func (s *Service) resolve(in IdentityInput) (resolved, error) {
	switch in.Provider {
	case store.ProviderPhone:
		p, err := identity.NormalisePhone(in.PhoneNumber, in.CountryCode, "identity.phone_number")
		if err != nil {
			return resolved{}, err
		}
		return resolved{provider: store.ProviderPhone, subject: p.E164, channel: otp.ChannelSMS, region: p.Region}, nil
	case store.ProviderEmail:
		e, err := identity.NormaliseEmail(in.Email, "identity.email")
		if err != nil {
			return resolved{}, err
		}
		return resolved{provider: store.ProviderEmail, subject: e, channel: otp.ChannelEmail}, nil
	}
	return resolved{}, &identity.ValidationError{Field: "identity.provider", Message: "The provider must be PHONE or EMAIL."}
}

// Register starts a contact's registration: a code goes to the phone or
// email, and the contact (with its password, for EMAIL with one) is
// stored once the code validates (ValidateOTP). When the identity already
// signs a contact in, the answer is the same and costs the same: the code
// goes to that identity with a "you already have an account" text, and
// validating it signs the existing contact in without changing it.
// Nothing tells the two apart but the message the identity's owner gets.
func (s *Service) Register(ctx context.Context, t Tenant, in identity.ContactInput, idIn IdentityInput) (Registered, error) {
	r, err := s.resolve(idIn)
	if err != nil {
		return Registered{}, err
	}
	if idIn.Password != "" && r.provider != store.ProviderEmail {
		return Registered{}, &identity.ValidationError{Field: "identity.password", Message: "A password goes with the EMAIL provider only."}
	}
	// The identity is also the contact's email or phone on record.
	if r.provider == store.ProviderEmail {
		in.Email = r.subject
	} else {
		in.PhoneNumber, in.CountryCode = r.subject, ""
	}
	c, err := s.id.BuildContact(t.BusinessID, t.Mode, in)
	if err != nil {
		return Registered{}, err
	}
	var hash string
	if idIn.Password != "" {
		// Hashed whether or not the identity is taken: the same work.
		if hash, err = s.id.HashPassword(idIn.Password); err != nil {
			var ve *identity.ValidationError
			if errors.As(err, &ve) {
				ve.Field = "identity.password"
			}
			return Registered{}, err
		}
	}
	pending, err := json.Marshal(c)
	if err != nil {
		return Registered{}, err
	}
	req := otp.Request{BusinessID: t.BusinessID, Mode: t.Mode, APIKeyID: t.APIKeyID, IP: t.IP, Locale: c.Locale,
		Channel: r.channel, To: r.subject, Region: r.region, Purpose: otp.PurposeRegister, Deliver: true,
		Data: map[string]string{"contact": string(pending), "provider": r.provider, "subject": r.subject, "password_hash": hash}}
	existing, err := s.id.Identity(ctx, t.BusinessID, t.Mode, r.provider, r.subject)
	switch {
	case err == nil:
		req.Purpose = otp.PurposeRegisterExisting
		req.Data = map[string]string{"contact_id": existing.ContactID}
		if ec, err := s.id.Contact(ctx, t.BusinessID, t.Mode, existing.ContactID); err == nil {
			req.Locale = ec.Locale // the account holder's language, not the registrant's
		}
	case !errors.Is(err, store.ErrNotFound):
		return Registered{}, err
	}
	issued, err := s.otp.Issue(ctx, req)
	if err != nil {
		return Registered{}, err
	}
	return Registered{Contact: c, OTP: issued}, nil
}

// RequestOTP sends a sign-in code to a phone or email. The answer is the
// same whether or not a contact has that identity; nothing is sent when
// none has.
func (s *Service) RequestOTP(ctx context.Context, t Tenant, idIn IdentityInput) (otp.Issued, error) {
	r, err := s.resolve(idIn)
	if err != nil {
		return otp.Issued{}, err
	}
	req := otp.Request{BusinessID: t.BusinessID, Mode: t.Mode, APIKeyID: t.APIKeyID, IP: t.IP,
		Channel: r.channel, To: r.subject, Region: r.region, Purpose: otp.PurposeSignIn}
	ident, err := s.id.Identity(ctx, t.BusinessID, t.Mode, r.provider, r.subject)
	switch {
	case err == nil:
		req.Deliver = true
		req.Data = map[string]string{"contact_id": ident.ContactID}
		req.Locale = s.locale(ctx, t, ident.ContactID)
	case errors.Is(err, store.ErrNotFound):
	default:
		return otp.Issued{}, err
	}
	return s.otp.Issue(ctx, req)
}

// locale is the contact's language for its messages (empty: the
// default), best effort.
func (s *Service) locale(ctx context.Context, t Tenant, contactID string) string {
	c, err := s.id.Contact(ctx, t.BusinessID, t.Mode, contactID)
	if err != nil {
		return ""
	}
	return c.Locale
}

// RequestPasswordReset sends a password reset code to the email of a
// contact of t. The answer is the same whether or not a contact signs in
// with that email; nothing is sent when none does.
func (s *Service) RequestPasswordReset(ctx context.Context, t Tenant, email string) (otp.Issued, error) {
	e, err := identity.NormaliseEmail(email, "email")
	if err != nil {
		return otp.Issued{}, err
	}
	req := otp.Request{BusinessID: t.BusinessID, Mode: t.Mode, APIKeyID: t.APIKeyID, IP: t.IP,
		Channel: otp.ChannelEmail, To: e, Purpose: otp.PurposePasswordReset}
	ident, err := s.id.Identity(ctx, t.BusinessID, t.Mode, store.ProviderEmail, e)
	switch {
	case err == nil:
		req.Deliver = true
		req.Data = map[string]string{"contact_id": ident.ContactID, "subject": ident.Subject}
		req.Locale = s.locale(ctx, t, ident.ContactID)
	case !errors.Is(err, store.ErrNotFound):
		return otp.Issued{}, err
	}
	return s.otp.Issue(ctx, req)
}

// ResetPassword completes a password reset: the code (of a reset, for t
// when not nil) proves the email, and the new password replaces the
// contact's. The password policy is checked first, so a refused
// password does not spend the code; the argon2id work comes after the
// code, so wrong codes cost no hashing. The caller ends the contact's
// sessions.
func (s *Service) ResetPassword(ctx context.Context, t *Tenant, otpID, code, password string) (store.Contact, error) {
	if err := s.id.CheckPassword(password); err != nil {
		return store.Contact{}, err
	}
	v, err := s.verify(ctx, t, otpID, code, otp.PurposePasswordReset)
	if err != nil {
		return store.Contact{}, err
	}
	hash, err := s.id.HashPassword(password)
	if err != nil {
		return store.Contact{}, err
	}
	c, err := s.id.Contact(ctx, v.BusinessID, v.Mode, v.Data["contact_id"])
	if err == nil {
		err = s.id.ResetContactPassword(ctx, v.BusinessID, v.Mode, c.ID, v.Data["subject"], hash)
	}
	if errors.Is(err, store.ErrNotFound) { // erased, or the email moved, meanwhile
		return store.Contact{}, ErrOTPExpired
	}
	return c, err
}

// Proof is how a signed-in contact confirms a destructive step (erasing
// itself): its current password, or a fresh sign-in code sent to one of
// its identities (POST /self-service/v1/otps).
type Proof struct {
	Password    string
	OTPID, Code string
}

// Prove checks a Proof for contact c.
func (s *Service) Prove(ctx context.Context, c store.Contact, p Proof) error {
	switch {
	case p.Password != "" && p.OTPID != "":
		return &identity.ValidationError{Field: "password", Message: "Give the password or a one-time code, not both."}
	case p.Password != "":
		return s.id.VerifyContactPassword(ctx, c.BusinessID, c.Mode, c.ID, p.Password, "password")
	case p.OTPID != "":
		if p.Code == "" {
			return &identity.ValidationError{Field: "code", Message: "The code is required with the otp_id."}
		}
		v, err := s.verify(ctx, &Tenant{BusinessID: c.BusinessID, Mode: c.Mode}, p.OTPID, p.Code, otp.PurposeSignIn)
		if err != nil {
			return err
		}
		if v.Data["contact_id"] != c.ID {
			return ErrOTPExpired
		}
		return nil
	}
	return &identity.ValidationError{Field: "password", Message: "Confirm with the current password, or an otp_id and its code."}
}

// verify checks a code of one of purposes (of t's, when t is not nil)
// and maps otp's errors.
func (s *Service) verify(ctx context.Context, t *Tenant, otpID, code string, purposes ...otp.Purpose) (otp.Verified, error) {
	var (
		v   otp.Verified
		err error
	)
	if t != nil {
		v, err = s.otp.VerifyFor(ctx, otpID, code, t.BusinessID, t.Mode, purposes...)
	} else {
		v, err = s.otp.Verify(ctx, otpID, code, purposes...)
	}
	if err != nil {
		return otp.Verified{}, CodeError(err)
	}
	if t != nil && (v.BusinessID != t.BusinessID || v.Mode != t.Mode) {
		return otp.Verified{}, ErrOTPExpired
	}
	return v, nil
}

// CodeError is err of a code's verification as the flows answer it: a
// wrong code ErrInvalidOTP, an unknown, used or expired one ErrOTPExpired.
func CodeError(err error) error {
	switch {
	case errors.Is(err, otp.ErrInvalidCode):
		return ErrInvalidOTP
	case errors.Is(err, otp.ErrExpired):
		return ErrOTPExpired
	}
	return err
}

// Match identifies a contact created in the back office by what is on
// record.
type Match struct {
	Email       string
	PhoneNumber string
	CountryCode string
}

// AddCredentials starts attaching a new identity to the one contact
// without credentials yet (created in the back office) whose email or
// phone on record matches: a code goes to that matched channel, and
// validating it attaches the identity. The identity must itself be on
// the contact's record (its email, or its phone): the code proves the
// matched channel, and the back office vouched for what is on record, so
// nobody can attach an email or phone they have not shown to be theirs.
// The answer is the same, and nothing is sent, when nothing (or more than
// one contact) matches, the identity is not on record, or it is taken.
func (s *Service) AddCredentials(ctx context.Context, t Tenant, m Match, idIn IdentityInput) (otp.Issued, error) {
	var (
		channel        otp.Channel
		to, region     string
		email, phoneNo string
	)
	switch {
	case m.Email != "" && m.PhoneNumber != "":
		return otp.Issued{}, &identity.ValidationError{Field: "match", Message: "Match on email or on phone_number, not both."}
	case m.Email != "":
		e, err := identity.NormaliseEmail(m.Email, "match.email")
		if err != nil {
			return otp.Issued{}, err
		}
		email = e
		channel, to = otp.ChannelEmail, email
	case m.PhoneNumber != "":
		p, err := identity.NormalisePhone(m.PhoneNumber, m.CountryCode, "match.phone_number")
		if err != nil {
			return otp.Issued{}, err
		}
		phoneNo, channel, to, region = p.E164, otp.ChannelSMS, p.E164, p.Region
	default:
		return otp.Issued{}, &identity.ValidationError{Field: "match", Message: "Give the email or phone_number on record."}
	}
	r, err := s.resolve(idIn)
	if err != nil {
		return otp.Issued{}, err
	}
	var hash string
	if idIn.Password != "" {
		if r.provider != store.ProviderEmail {
			return otp.Issued{}, &identity.ValidationError{Field: "identity.password", Message: "A password goes with the EMAIL provider only."}
		}
		if hash, err = s.id.HashPassword(idIn.Password); err != nil {
			var ve *identity.ValidationError
			if errors.As(err, &ve) {
				ve.Field = "identity.password"
			}
			return otp.Issued{}, err
		}
	}
	req := otp.Request{BusinessID: t.BusinessID, Mode: t.Mode, APIKeyID: t.APIKeyID, IP: t.IP,
		Channel: channel, To: to, Region: region, Purpose: otp.PurposeAddCredentials}
	matches, err := s.id.FindContacts(ctx, t.BusinessID, t.Mode, email, phoneNo)
	if err != nil {
		return otp.Issued{}, err
	}
	// Only contacts without credentials, made in the back office: a
	// contact that registered itself typed its own record, which vouches
	// for nothing (and a copy of someone's email on it must not block
	// them).
	if matches, err = s.id.WithoutCredentials(ctx, matches); err != nil {
		return otp.Issued{}, err
	}
	taken, err := s.id.IdentityTaken(ctx, t.BusinessID, t.Mode, r.provider, r.subject)
	if err != nil {
		return otp.Issued{}, err
	}
	if len(matches) == 1 && !taken && onRecord(matches[0], r) {
		req.Deliver = true
		req.Data = map[string]string{"contact_id": matches[0].ID, "provider": r.provider, "subject": r.subject, "password_hash": hash}
	}
	return s.otp.Issue(ctx, req)
}

// onRecord reports whether the identity r is the contact's email or phone
// on record.
func onRecord(c store.Contact, r resolved) bool {
	switch r.provider {
	case store.ProviderEmail:
		return c.Email != "" && c.Email == r.subject
	case store.ProviderPhone:
		return c.PhoneNumber != "" && c.PhoneNumber == r.subject
	}
	return false
}

// ValidateOTP checks a code and returns the contact it proves: for a
// registration it stores the contact and its identity first (or, when
// the identity was taken meanwhile, signs its contact in), for
// add-credentials it attaches the identity. t, when not nil, must be the
// tenant the code was issued for.
func (s *Service) ValidateOTP(ctx context.Context, t *Tenant, otpID, code string) (store.Contact, error) {
	v, err := s.verify(ctx, t, otpID, code,
		otp.PurposeSignIn, otp.PurposeRegisterExisting, otp.PurposeRegister, otp.PurposeAddCredentials)
	if err != nil {
		return store.Contact{}, err
	}
	var c store.Contact
	switch v.Purpose {
	case otp.PurposeSignIn, otp.PurposeRegisterExisting:
		c, err = s.id.Contact(ctx, v.BusinessID, v.Mode, v.Data["contact_id"])
	case otp.PurposeRegister:
		if err = json.Unmarshal([]byte(v.Data["contact"]), &c); err == nil {
			err = s.id.RegisterContact(ctx, c, store.Identity{Provider: v.Data["provider"], Subject: v.Data["subject"], PasswordHash: v.Data["password_hash"]})
		}
		if errors.Is(err, identity.ErrConflict) {
			// Registered by another code for the same identity meanwhile:
			// this code proves the identity too, so it signs that contact
			// in, changing nothing (as for a taken identity).
			var existing store.Identity
			if existing, err = s.id.Identity(ctx, v.BusinessID, v.Mode, v.Data["provider"], v.Data["subject"]); err == nil {
				c, err = s.id.Contact(ctx, v.BusinessID, v.Mode, existing.ContactID)
			}
		}
	case otp.PurposeAddCredentials:
		c, err = s.id.Contact(ctx, v.BusinessID, v.Mode, v.Data["contact_id"])
		if err == nil {
			err = s.id.AttachIdentity(ctx, store.Identity{BusinessID: v.BusinessID, Mode: v.Mode, ContactID: c.ID,
				Provider: v.Data["provider"], Subject: v.Data["subject"], PasswordHash: v.Data["password_hash"]})
		}
	default:
		err = ErrOTPExpired
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Contact{}, ErrOTPExpired
	}
	if err != nil {
		return store.Contact{}, err
	}
	return c, nil
}
