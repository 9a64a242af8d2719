package identity

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/language"

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
	Type              string // person (default) or company
	Locale            string // BCP 47
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
		ServiceAcceptance: in.ServiceAcceptance, Type: strings.TrimSpace(in.Type), Locale: strings.TrimSpace(in.Locale)}
	if c.ID == "" {
		c.ID = uuid.NewString()
	} else if !ValidID(c.ID) {
		return store.Contact{}, &ValidationError{Field: "id", Message: "The id must be 1 to 36 letters, digits, '-' or '_'."}
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
	if err := checkProfile(&c); err != nil {
		return store.Contact{}, err
	}
	now := s.now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	return c, nil
}

// Limits of a contact's profile.
const (
	maxNameLength   = 100
	maxAvatarLength = 2048
	maxLocaleLength = 35
)

// checkProfile validates the fields of a contact a caller may choose and
// puts them in their stored form: the one rule for creation, registration
// and every update.
func checkProfile(c *store.Contact) error {
	texts := [][2]string{{"code", c.Code}, {"first_name", c.FirstName}, {"last_name", c.LastName}, {"title", c.Title}}
	for _, f := range texts {
		if utf8.RuneCountInString(f[1]) > maxNameLength {
			return &ValidationError{Field: f[0], Message: fmt.Sprintf("The %s must be at most %d characters.", f[0], maxNameLength)}
		}
	}
	if err := checkText(texts...); err != nil {
		return err
	}
	if c.AvatarURL != "" {
		u, err := url.Parse(c.AvatarURL)
		switch {
		case len(c.AvatarURL) > maxAvatarLength:
			return &ValidationError{Field: "avatar_url", Message: fmt.Sprintf("The avatar_url must be at most %d characters.", maxAvatarLength)}
		case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil:
			return &ValidationError{Field: "avatar_url", Message: "The avatar_url must be an https URL."}
		}
	}
	switch c.Type {
	case "":
		c.Type = store.ContactPerson
	case store.ContactPerson, store.ContactCompany:
	default:
		return &ValidationError{Field: "type", Message: "The type must be person or company."}
	}
	if c.Locale != "" {
		tag, err := language.Parse(c.Locale)
		if err != nil || len(c.Locale) > maxLocaleLength || tag == language.Und {
			return &ValidationError{Field: "locale", Message: "The locale must be a BCP 47 language tag (e.g. en, en-GB, pt-BR)."}
		}
		c.Locale = tag.String()
	}
	return nil
}

// ContactPatch is a change to a contact's profile: nil fields stay as
// they are, an empty string clears an optional text. Identities, the id
// and the cross-reference code never change this way; the email and phone
// on record only from the back office (Record).
type ContactPatch struct {
	Title, FirstName, LastName, AvatarURL, Locale, Type *string
	EmailOptOut, SMSOptOut                              *bool
	// Record: the email and phone on record (the back office only; the
	// phone as national digits with CountryCode, or international).
	Email, PhoneNumber, CountryCode *string
}

// UpdateContact applies p to a contact and returns it as stored. The
// changed field names (never their values) go to the audit trail.
func (s *Service) UpdateContact(ctx context.Context, businessID string, mode store.Mode, id string, p ContactPatch, actorKind, actorID string) (store.Contact, error) {
	var (
		out     store.Contact
		changed []string
	)
	err := s.st.UpdateContact(ctx, businessID, mode, id, func(c store.Contact) (store.Contact, error) {
		changed = changed[:0]
		set := func(name string, dst *string, v *string) {
			if v != nil {
				*dst = strings.TrimSpace(*v)
				changed = append(changed, name)
			}
		}
		set("title", &c.Title, p.Title)
		set("first_name", &c.FirstName, p.FirstName)
		set("last_name", &c.LastName, p.LastName)
		set("avatar_url", &c.AvatarURL, p.AvatarURL)
		set("locale", &c.Locale, p.Locale)
		set("type", &c.Type, p.Type)
		if p.EmailOptOut != nil {
			c.EmailOptOut = *p.EmailOptOut
			changed = append(changed, "email_opt_out")
		}
		if p.SMSOptOut != nil {
			c.SMSOptOut = *p.SMSOptOut
			changed = append(changed, "sms_opt_out")
		}
		if p.Email != nil {
			c.Email = ""
			if *p.Email != "" {
				e, err := NormaliseEmail(*p.Email, "email")
				if err != nil {
					return c, err
				}
				c.Email = e
			}
			changed = append(changed, "email")
		}
		if p.PhoneNumber != nil {
			c.PhoneNumber = ""
			if *p.PhoneNumber != "" {
				country := ""
				if p.CountryCode != nil {
					country = *p.CountryCode
				}
				ph, err := NormalisePhone(*p.PhoneNumber, country, "phone_number")
				if err != nil {
					return c, err
				}
				c.PhoneNumber = ph.E164
			}
			changed = append(changed, "phone_number")
		}
		if err := checkProfile(&c); err != nil {
			return c, err
		}
		c.UpdatedAt = s.now().UTC()
		out = c
		return c, nil
	})
	if err != nil {
		return store.Contact{}, err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.ContactUpdated, Success: true, ActorKind: actorKind, ActorID: actorID,
		OrganisationID: businessID, TargetKind: store.KindContact, TargetID: id,
		Details: map[string]string{"fields": strings.Join(changed, ","), "mode": string(mode)}})
	return out, nil
}

// ContactQuery selects contacts by exact values on record; the email and
// phone are normalised like the stored ones first.
type ContactQuery struct {
	Code, Email, PhoneNumber, CountryCode string
}

// ListContacts returns a page of a business's contacts in mode matching q
// exactly, and how many match.
func (s *Service) ListContacts(ctx context.Context, businessID string, mode store.Mode, q ContactQuery, p store.Page) ([]store.Contact, int, error) {
	f := store.ContactFilter{Code: strings.TrimSpace(q.Code)}
	if q.Email != "" {
		e, err := NormaliseEmail(q.Email, "email")
		if err != nil {
			return nil, 0, err
		}
		f.Email = e
	}
	if q.PhoneNumber != "" {
		ph, err := NormalisePhone(q.PhoneNumber, q.CountryCode, "phone_number")
		if err != nil {
			return nil, 0, err
		}
		f.Phone = ph.E164
	} else if q.CountryCode != "" {
		return nil, 0, &ValidationError{Field: "country_code", Message: "The country_code goes with a phone_number."}
	}
	return s.st.ListContacts(ctx, businessID, mode, f, p)
}

// EraseContact removes a contact for good: its personal data, identities
// and organisation links, and every session. Its tokens are revoked first
// (the hook, through the durable revocation log, on every replica), so a
// failure part-way leaves the contact signed out rather than erased with
// live tokens; calling again finishes the job. The audit event names the
// contact's id only. An unknown contact is store.ErrNotFound.
func (s *Service) EraseContact(ctx context.Context, businessID string, mode store.Mode, id, actorKind, actorID string) error {
	if _, err := s.st.GetContact(ctx, businessID, mode, id); err != nil {
		return err
	}
	if s.onErase != nil {
		if err := s.onErase(ctx, businessID, mode, id); err != nil {
			return err
		}
	}
	if err := s.st.DeleteContact(ctx, businessID, mode, id); err != nil {
		return err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.ContactErased, Success: true, ActorKind: actorKind, ActorID: actorID,
		OrganisationID: businessID, TargetKind: store.KindContact, TargetID: id, Details: map[string]string{"mode": string(mode)}})
	return nil
}

// OnContactErased installs the hook that ends every token of a contact
// about to be erased.
func (s *Service) OnContactErased(f func(ctx context.Context, businessID string, mode store.Mode, id string) error) {
	s.onErase = f
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
