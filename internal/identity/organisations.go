package identity

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/store"
)

// NewOrganisation is the input of CreateOrganisation.
type NewOrganisation struct {
	Name     string
	Type     string
	ParentID string
}

// CreateOrganisation adds an organisation below ParentID. The parent must
// lie within the actor's token scope (inScope) and the actor must be an
// admin or owner of it (directly or above it). There is one root: the
// service owner is made by bootstrap only.
func (s *Service) CreateOrganisation(ctx context.Context, a Actor, in NewOrganisation) (store.Organisation, error) {
	if err := checkOrganisation(&in); err != nil {
		return store.Organisation{}, err
	}
	if in.ParentID == "" {
		return store.Organisation{}, &ValidationError{Field: "parent_id", Message: "The parent organisation is required."}
	}
	if err := s.inScope(ctx, a, in.ParentID); err != nil {
		return store.Organisation{}, err
	}
	g, err := s.RoleIn(ctx, a.UserID, in.ParentID)
	if err != nil {
		return store.Organisation{}, err
	}
	if !AtLeast(g.Role, RoleAdmin) {
		return store.Organisation{}, ErrForbidden
	}
	o := store.Organisation{ID: uuid.Must(uuid.NewV7()).String(), Name: in.Name, Type: in.Type, ParentID: in.ParentID, CreatedAt: s.now().UTC()}
	if err := s.st.CreateOrganisation(ctx, o); err != nil {
		return store.Organisation{}, err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.OrgCreated, Success: true, ActorKind: store.KindUser, ActorID: a.UserID,
		OrganisationID: o.ID, TargetKind: "organisation", TargetID: o.ID, Details: map[string]string{"parent_id": o.ParentID, "type": o.Type}})
	return o, nil
}

// checkOrganisation trims a new organisation's name and type and applies
// the rules every organisation created below another follows (by a user,
// or by a sign-up): a name of 1 to 200 visible characters, a type of
// lower-case letters or underscores that is not the service owner's (there
// is one, made by bootstrap). Fields are named "name" and "type".
func checkOrganisation(in *NewOrganisation) error {
	in.Name = strings.TrimSpace(in.Name)
	in.Type = strings.TrimSpace(in.Type)
	switch {
	case in.Name == "" || len(in.Name) > 200:
		return &ValidationError{Field: "name", Message: "The name must be 1 to 200 characters."}
	case !validType(in.Type):
		return &ValidationError{Field: "type", Message: "The type must be 1 to 40 lower-case letters or underscores."}
	case in.Type == store.OrgTypeServiceOwner:
		return &ValidationError{Field: "type", Message: "There is one service owner; it cannot be created here."}
	}
	return checkText([2]string{"name", in.Name})
}

func validType(t string) bool {
	if t == "" || len(t) > 40 {
		return false
	}
	for _, r := range t {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}

// Organisation returns one organisation the actor may read: within its
// token scope, and one the user may act for.
func (s *Service) Organisation(ctx context.Context, a Actor, orgID string) (store.Organisation, Grant, error) {
	if err := s.inScope(ctx, a, orgID); err != nil {
		return store.Organisation{}, Grant{}, err
	}
	g, err := s.RoleIn(ctx, a.UserID, orgID)
	if err != nil {
		return store.Organisation{}, Grant{}, err
	}
	o, err := s.st.GetOrganisation(ctx, orgID)
	return o, g, err
}

// Children lists the organisations directly below parentID, for an actor
// whose token scope holds parentID and whose user has a right there.
func (s *Service) Children(ctx context.Context, a Actor, parentID string, p store.Page) ([]store.Organisation, error) {
	if err := s.inScope(ctx, a, parentID); err != nil {
		return nil, err
	}
	if _, err := s.RoleIn(ctx, a.UserID, parentID); err != nil {
		return nil, err
	}
	return s.st.ListOrganisations(ctx, parentID, p)
}

// Acting is an organisation a user may act for, with the role they hold
// there.
type Acting struct {
	store.Organisation
	Role string
}

// IsServiceOwnerUser reports whether the user holds a membership of the
// root organisation.
func (s *Service) IsServiceOwnerUser(ctx context.Context, userID string) (bool, error) {
	ua, err := s.userAuthz(ctx, userID) // the rights cache: no query on a hit
	if err != nil {
		return false, err
	}
	for _, m := range ua.memberships {
		o, err := s.organisation(ctx, m.OrganisationID)
		if err != nil {
			return false, err
		}
		if o.ParentID == "" {
			return true, nil
		}
	}
	return false, nil
}

// ActingOrganisations pages through the organisations the user may act
// for (each membership's organisation and everything below it, with the
// strongest role), ordered by depth in the network, name and id, in the
// database; it also returns their total.
func (s *Service) ActingOrganisations(ctx context.Context, userID string, p store.Page) ([]Acting, int, error) {
	list, total, err := s.st.ListActingOrganisations(ctx, userID, p)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Acting, len(list))
	for i, a := range list {
		out[i] = Acting{Organisation: a.Organisation, Role: a.Role}
	}
	return out, total, nil
}

// Members lists the memberships of an organisation within the actor's
// token scope, for its admins.
func (s *Service) Members(ctx context.Context, a Actor, orgID string, p store.Page) ([]store.Membership, error) {
	if err := s.inScope(ctx, a, orgID); err != nil {
		return nil, err
	}
	g, err := s.RoleIn(ctx, a.UserID, orgID)
	if err != nil {
		return nil, err
	}
	if !AtLeast(g.Role, RoleAdmin) {
		return nil, ErrForbidden
	}
	return s.st.ListOrganisationMembers(ctx, orgID, p)
}

// AuditScope is the organisation whose audit trail (its own events and
// those of everything below it) an actor may read: the organisation its
// token acts for, when the user is admin or owner there.
func (s *Service) AuditScope(ctx context.Context, a Actor) (string, error) {
	orgID := a.Org
	if err := s.inScope(ctx, a, orgID); err != nil {
		return "", err
	}
	g, err := s.RoleIn(ctx, a.UserID, orgID)
	if err != nil {
		return "", err
	}
	if !AtLeast(g.Role, RoleAdmin) {
		return "", ErrForbidden
	}
	return orgID, nil
}
