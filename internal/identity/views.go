package identity

import (
	"context"

	"github.com/authd/authd/internal/store"
)

// Domain values the doors render: the store's plain types, named here so
// that a door needs the services only, never the store.
type (
	User                = store.User
	Organisation        = store.Organisation
	Membership          = store.Membership
	Contact             = store.Contact
	ContactOrganisation = store.ContactOrganisation
	AuditEvent          = store.AuditEvent
	Mode                = store.Mode
	Page                = store.Page
)

// Modes, principal kinds and identity providers, as the doors name them.
const (
	ModeLive         = store.ModeLive
	ModeTest         = store.ModeTest
	KindUser         = store.KindUser
	KindContact      = store.KindContact
	KindAPIKey       = store.KindAPIKey
	ProviderEmail    = store.ProviderEmail
	ProviderPhone    = store.ProviderPhone
	ProviderFacebook = store.ProviderFacebook
)

// UserProfile is what the back office shows of a signed-in user: the
// user, the organisation the token acts for and the role there, the
// organisation whose membership grants it (when another), whether the
// user belongs to the service owner, and otherwise the organisations the
// user may act for.
type UserProfile struct {
	User         store.User
	Current      store.Organisation
	Role         string
	Home         *store.Organisation
	ServiceOwner bool
	Acting       []Acting // nil for a service-owner user (listed with paging)
}

// Profile is the profile of userID acting for org (through homeOrg when
// not empty).
func (s *Service) Profile(ctx context.Context, userID, org, homeOrg string) (UserProfile, error) {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return UserProfile{}, err
	}
	cur, g, err := s.Organisation(ctx, Actor{UserID: userID, Org: org}, org)
	if err != nil {
		return UserProfile{}, err
	}
	p := UserProfile{User: u, Current: cur, Role: g.Role}
	if homeOrg != "" {
		h, err := s.organisation(ctx, homeOrg)
		if err != nil {
			return UserProfile{}, err
		}
		p.Home = &h
	}
	if p.ServiceOwner, err = s.IsServiceOwnerUser(ctx, userID); err != nil {
		return UserProfile{}, err
	}
	if !p.ServiceOwner {
		// The first page (500, the most a page holds); the paginated call
		// lists them all.
		if p.Acting, _, err = s.ActingOrganisations(ctx, userID, store.Page{Size: 500}); err != nil {
			return UserProfile{}, err
		}
	}
	return p, nil
}

// MemberUser is a user with their role in one organisation.
type MemberUser struct {
	store.User
	Role string
}

// MemberUsers lists the users holding a membership in orgID (the actor
// must be admin or owner there, within the token's scope), in one read of
// the memberships and one of the users.
func (s *Service) MemberUsers(ctx context.Context, a Actor, orgID string, p store.Page) ([]MemberUser, error) {
	ms, err := s.Members(ctx, a, orgID, p)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	users, err := s.st.GetUsers(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]store.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	out := make([]MemberUser, 0, len(ms))
	for _, m := range ms {
		if u, ok := byID[m.UserID]; ok {
			out = append(out, MemberUser{User: u, Role: m.Role})
		}
	}
	return out, nil
}

// AuditEvents lists the audit events the actor may read (AuditScope),
// newest first; action, when set, selects one kind.
func (s *Service) AuditEvents(ctx context.Context, a Actor, action string, p store.Page) ([]store.AuditEvent, error) {
	root, err := s.AuditScope(ctx, a)
	if err != nil {
		return nil, err
	}
	return s.st.ListAuditEvents(ctx, store.AuditFilter{Subtree: root, Action: action}, p)
}

// ContactBusiness is the business a contact belongs to.
func (s *Service) ContactBusiness(ctx context.Context, c store.Contact) (store.Organisation, error) {
	return s.organisation(ctx, c.BusinessID)
}

// ContactCaller is who calls a back-office contact endpoint: a secret
// key (KeyID set, acting for its organisation and mode) or a user's token
// acting for Org in Mode.
type ContactCaller struct {
	KeyID  string
	UserID string
	Org    string
	Mode   store.Mode
}

// ContactTenant is the business and mode a back-office caller reads and
// writes contacts of, and the actor for the audit trail. A user must hold
// a role in the organisation the token acts for. Contacts belong to a
// business, so the key or token must act for a business itself: one of
// the service owner or of a merchant is ErrNoBusiness (a merchant's
// credentials must not read or write the whole business's contacts).
func (s *Service) ContactTenant(ctx context.Context, c ContactCaller) (businessID string, mode store.Mode, actorKind, actorID string, err error) {
	actorKind, actorID = store.KindAPIKey, c.KeyID
	if c.KeyID == "" {
		if _, err := s.RoleIn(ctx, c.UserID, c.Org); err != nil {
			return "", "", "", "", err
		}
		actorKind, actorID = store.KindUser, c.UserID
	}
	biz, err := s.BusinessOf(ctx, c.Org)
	if err == nil && biz != c.Org {
		err = ErrNoBusiness
	}
	if err != nil {
		return "", "", "", "", err
	}
	return biz, c.Mode, actorKind, actorID, nil
}
