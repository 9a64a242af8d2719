package identity

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/phone"
	"github.com/authd/authd/internal/store"
)

// ContactInput is a contact as a caller describes it.
type ContactInput struct {
	ID                string
	Code              string
	FirstName         string
	LastName          string
	Title             string
	Email             string
	PhoneNumber       string // national (with CountryCode) or international
	CountryCode       string // ISO 3166 alpha-3
	AvatarURL         string
	EmailOptOut       bool
	SMSOptOut         bool
	ServiceAcceptance bool
}

// NormalisedPhone is a phone number in E.164 and its region.
type NormalisedPhone struct {
	E164   string
	Region string
}

// NormalisePhone validates a phone number; field names the input field.
func NormalisePhone(number, country, field string) (NormalisedPhone, error) {
	e164, region, err := phone.Normalise(number, country)
	switch {
	case errors.Is(err, phone.ErrCountry):
		return NormalisedPhone{}, &ValidationError{Field: "country_code", Message: "The country_code must be an ISO 3166 alpha-3 code (e.g. GBR)."}
	case err != nil:
		return NormalisedPhone{}, &ValidationError{Field: field, Message: "The phone number is not valid for that country."}
	}
	return NormalisedPhone{E164: e164, Region: region}, nil
}

// MaxIDLength is the longest id a client may choose.
const MaxIDLength = 36

// ValidID reports whether id may be an id a client chooses (a contact's):
// 1 to MaxIDLength letters, digits, '-' or '_'. Ids are path segments of
// the API, so no dot: "." and ".." would be rewritten by any
// URL-normalising proxy and the resource could not be addressed.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLength {
		return false
	}
	for _, r := range id {
		if !idChar(r) {
			return false
		}
	}
	return true
}

// BuildContact validates in and returns the contact to store (with a
// generated id when none is supplied).
func (s *Service) BuildContact(businessID string, mode store.Mode, in ContactInput) (store.Contact, error) {
	c := store.Contact{BusinessID: businessID, Mode: mode, ID: strings.TrimSpace(in.ID), Code: strings.TrimSpace(in.Code),
		FirstName: strings.TrimSpace(in.FirstName), LastName: strings.TrimSpace(in.LastName), Title: strings.TrimSpace(in.Title),
		AvatarURL: strings.TrimSpace(in.AvatarURL), EmailOptOut: in.EmailOptOut, SMSOptOut: in.SMSOptOut,
		ServiceAcceptance: in.ServiceAcceptance}
	if c.ID == "" {
		c.ID = uuid.NewString()
	} else if !ValidID(c.ID) {
		return store.Contact{}, &ValidationError{Field: "id", Message: "The id must be 1 to 36 letters, digits, '-' or '_'."}
	}
	texts := [][2]string{{"code", c.Code}, {"first_name", c.FirstName}, {"last_name", c.LastName}, {"title", c.Title}}
	for _, f := range texts {
		if utf8.RuneCountInString(f[1]) > 100 {
			return store.Contact{}, &ValidationError{Field: f[0], Message: "The " + f[0] + " must be at most 100 characters."}
		}
	}
	if err := checkText(texts...); err != nil {
		return store.Contact{}, err
	}
	if in.Email != "" {
		e, err := NormaliseEmail(in.Email, "email")
		if err != nil {
			return store.Contact{}, err
		}
		c.Email = e
	}
	if in.PhoneNumber != "" {
		p, err := NormalisePhone(in.PhoneNumber, in.CountryCode, "phone_number")
		if err != nil {
			return store.Contact{}, err
		}
		c.PhoneNumber = p.E164
	}
	if c.AvatarURL != "" {
		u, err := url.Parse(c.AvatarURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(c.AvatarURL) > 2048 {
			return store.Contact{}, &ValidationError{Field: "avatar_url", Message: "The avatar_url must be an http(s) URL."}
		}
	}
	now := s.now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	return c, nil
}

// CreateContact stores a contact without credentials (the back office or
// a server with a secret key). A duplicate id or code is ErrConflict.
func (s *Service) CreateContact(ctx context.Context, c store.Contact, actorKind, actorID string) error {
	err := s.st.CreateContact(ctx, c)
	if errors.Is(err, store.ErrAlreadyExists) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.ContactCreated, Success: true, ActorKind: actorKind, ActorID: actorID,
		OrganisationID: c.BusinessID, TargetKind: store.KindContact, TargetID: c.ID, Details: map[string]string{"mode": string(c.Mode)}})
	return nil
}

// RegisterContact stores a new contact with its identity in one
// transaction. The identity already existing is ErrConflict; nothing is
// written then.
func (s *Service) RegisterContact(ctx context.Context, c store.Contact, id store.Identity) error {
	id.BusinessID, id.Mode, id.ContactID, id.CreatedAt = c.BusinessID, c.Mode, c.ID, s.now().UTC()
	err := s.st.Tx(ctx, func(tx store.Store) error {
		if err := tx.CreateContact(ctx, c); err != nil {
			return err
		}
		return tx.CreateIdentity(ctx, id)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.ContactRegistered, Success: true, ActorKind: store.KindContact, ActorID: c.ID,
		OrganisationID: c.BusinessID, TargetKind: store.KindContact, TargetID: c.ID,
		Details: map[string]string{"provider": id.Provider, "mode": string(c.Mode)}})
	return nil
}

// IdentityTaken reports whether an identity already signs a contact in.
func (s *Service) IdentityTaken(ctx context.Context, businessID string, mode store.Mode, provider, subject string) (bool, error) {
	_, err := s.st.GetIdentity(ctx, businessID, mode, provider, subject)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// WithoutCredentials keeps the contacts that have no identity yet: those
// created in the back office and not claimed. Every contact that registered
// itself (or came from Facebook) has one, so what is on a contact without
// credentials was entered by the back office.
func (s *Service) WithoutCredentials(ctx context.Context, cs []store.Contact) ([]store.Contact, error) {
	var out []store.Contact
	for _, c := range cs {
		ids, err := s.st.ListIdentities(ctx, c.BusinessID, c.Mode, c.ID)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// Identity returns the identity for (provider, subject), or ErrNotFound.
func (s *Service) Identity(ctx context.Context, businessID string, mode store.Mode, provider, subject string) (store.Identity, error) {
	return s.st.GetIdentity(ctx, businessID, mode, provider, subject)
}

// AttachIdentity adds an identity to an existing contact.
func (s *Service) AttachIdentity(ctx context.Context, id store.Identity) error {
	id.CreatedAt = s.now().UTC()
	err := s.st.CreateIdentity(ctx, id)
	if errors.Is(err, store.ErrAlreadyExists) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.IdentityAttached, Success: true, ActorKind: store.KindContact, ActorID: id.ContactID,
		OrganisationID: id.BusinessID, TargetKind: store.KindContact, TargetID: id.ContactID,
		Details: map[string]string{"provider": id.Provider, "mode": string(id.Mode)}})
	return nil
}

// Contact returns a contact of a business and mode.
func (s *Service) Contact(ctx context.Context, businessID string, mode store.Mode, id string) (store.Contact, error) {
	return s.st.GetContact(ctx, businessID, mode, id)
}

// ContactActive confirms a contact still exists (refresh of contact
// tokens).
func (s *Service) ContactActive(ctx context.Context, businessID string, mode store.Mode, id string) error {
	_, err := s.st.GetContact(ctx, businessID, mode, id)
	return err
}

// FindContacts returns the contacts whose email or phone on record match.
func (s *Service) FindContacts(ctx context.Context, businessID string, mode store.Mode, email, phone string) ([]store.Contact, error) {
	return s.st.FindContacts(ctx, businessID, mode, email, phone)
}

// ContactOrganisations lists the organisations a contact is joined to or
// shared with.
func (s *Service) ContactOrganisations(ctx context.Context, businessID string, mode store.Mode, id string) ([]store.ContactOrganisation, []store.Organisation, error) {
	links, err := s.st.ListContactOrganisations(ctx, businessID, mode, id)
	if err != nil {
		return nil, nil, err
	}
	orgs := make([]store.Organisation, 0, len(links))
	for _, l := range links {
		o, err := s.organisation(ctx, l.OrganisationID)
		if err != nil {
			return nil, nil, err
		}
		orgs = append(orgs, o)
	}
	return links, orgs, nil
}

// AuthenticateContact checks a contact's email and password within a
// business and mode, with the same limits, timing and single error as
// back-office sign-in; a look-alike spelling of an email is a
// ValidationError on field email (signInEmail).
func (s *Service) AuthenticateContact(ctx context.Context, businessID string, mode store.Mode, email, pw string) (store.Contact, error) {
	email, err := signInEmail(email, "email")
	if err != nil {
		return store.Contact{}, err
	}
	if err := s.CheckPasswordRate(ctx, "contact:"+businessID+":"+string(mode)+":"+email); err != nil {
		return store.Contact{}, err
	}
	id, err := s.st.GetIdentity(ctx, businessID, mode, store.ProviderEmail, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && id.PasswordHash == "") {
		s.hasher.Dummy(pw)
		s.audit.Record(ctx, store.AuditEvent{Action: audit.ContactSignInFailed, ActorKind: store.KindContact, OrganisationID: businessID,
			Details: map[string]string{"reason": "unknown_account", "mode": string(mode)}})
		return store.Contact{}, ErrInvalidCredentials
	}
	if err != nil {
		return store.Contact{}, err
	}
	rehash, verr := s.hasher.Verify(pw, id.PasswordHash)
	if verr != nil {
		s.audit.Record(ctx, store.AuditEvent{Action: audit.ContactSignInFailed, ActorKind: store.KindContact, ActorID: id.ContactID,
			OrganisationID: businessID, TargetKind: store.KindContact, TargetID: id.ContactID,
			Details: map[string]string{"reason": "wrong_password", "mode": string(mode)}})
		return store.Contact{}, ErrInvalidCredentials
	}
	if rehash {
		if h, err := s.hasher.Hash(pw); err == nil {
			_ = s.st.UpdateIdentity(ctx, businessID, mode, store.ProviderEmail, email, func(old store.Identity) (store.Identity, error) {
				old.PasswordHash = h
				return old, nil
			})
		}
	}
	return s.st.GetContact(ctx, businessID, mode, id.ContactID)
}

// HashPassword applies the policy and hashes a new password.
func (s *Service) HashPassword(pw string) (string, error) {
	if err := s.CheckPassword(pw); err != nil {
		return "", err
	}
	return s.hasher.Hash(pw)
}

// LinkContactOrganisation joins a contact to, or shares it with, another
// organisation of its business's network (the same tree, e.g. a merchant
// of the business).
func (s *Service) LinkContactOrganisation(ctx context.Context, businessID string, mode store.Mode, contactID, orgID, relationship, actorKind, actorID string) error {
	if relationship != store.RelationshipJoined && relationship != store.RelationshipShared {
		return &ValidationError{Field: "relationship", Message: "The relationship must be joined or shared."}
	}
	if _, err := s.st.GetContact(ctx, businessID, mode, contactID); err != nil {
		return err
	}
	target, err := ancestors(ctx, orgID, s.organisation)
	if errors.Is(err, store.ErrNotFound) {
		return &ValidationError{Field: "organisation_id", Message: "No such organisation."}
	}
	if err != nil {
		return err
	}
	below := false
	for _, o := range target[1:] { // strictly below: the business itself is not a link
		below = below || o.ID == businessID
	}
	if !below {
		return &ValidationError{Field: "organisation_id", Message: "The organisation must be one of the business's own network (below it)."}
	}
	err = s.st.AddContactOrganisation(ctx, store.ContactOrganisation{BusinessID: businessID, Mode: mode, ContactID: contactID,
		OrganisationID: orgID, Relationship: relationship, CreatedAt: s.now().UTC()})
	if errors.Is(err, store.ErrAlreadyExists) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.ContactLinked, Success: true, ActorKind: actorKind, ActorID: actorID,
		OrganisationID: businessID, TargetKind: store.KindContact, TargetID: contactID,
		Details: map[string]string{"organisation_id": orgID, "relationship": relationship, "mode": string(mode)}})
	return nil
}

// idChar: ASCII letters, digits, '-' and '_'.
func idChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}
