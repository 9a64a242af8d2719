package identity

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/store"
)

// maxNetwork bounds how many organisations a listing walks.
const maxNetwork = 10000

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
	in.Name = strings.TrimSpace(in.Name)
	in.Type = strings.TrimSpace(in.Type)
	switch {
	case in.Name == "" || len(in.Name) > 200:
		return store.Organisation{}, &ValidationError{Field: "name", Message: "The name must be 1 to 200 characters."}
	case !validType(in.Type):
		return store.Organisation{}, &ValidationError{Field: "type", Message: "The type must be 1 to 40 lower-case letters or underscores."}
	case in.Type == store.OrgTypeServiceOwner:
		return store.Organisation{}, &ValidationError{Field: "type", Message: "There is one service owner; it cannot be created here."}
	case in.ParentID == "":
		return store.Organisation{}, &ValidationError{Field: "parent_id", Message: "The parent organisation is required."}
	}
	if err := checkText([2]string{"name", in.Name}); err != nil {
		return store.Organisation{}, err
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

// ActingOrganisations lists every organisation the user may act for: each
// membership's organisation and everything below it, with the strongest
// role, ordered by type depth then name. The walk is bounded.
func (s *Service) ActingOrganisations(ctx context.Context, userID string) ([]Acting, error) {
	ms, err := s.st.ListMemberships(ctx, userID)
	if err != nil {
		return nil, err
	}
	role := map[string]string{}
	depth := map[string]int{}
	var out []Acting
	type item struct {
		org   store.Organisation
		role  string
		depth int
	}
	var queue []item
	for _, m := range ms {
		o, err := s.st.GetOrganisation(ctx, m.OrganisationID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		queue = append(queue, item{o, m.Role, 0})
	}
	for len(queue) > 0 && len(role) < maxNetwork {
		it := queue[0]
		queue = queue[1:]
		if r, ok := role[it.org.ID]; ok && roleRank(r) >= roleRank(it.role) {
			continue
		}
		_, seen := role[it.org.ID]
		role[it.org.ID] = it.role
		if !seen {
			depth[it.org.ID] = it.depth
			out = append(out, Acting{Organisation: it.org})
		}
		for offset := 0; ; offset += 500 {
			kids, err := s.st.ListOrganisations(ctx, it.org.ID, store.Page{Offset: offset, Size: 500})
			if err != nil {
				return nil, err
			}
			for _, k := range kids {
				queue = append(queue, item{k, it.role, it.depth + 1})
			}
			if len(kids) < 500 {
				break
			}
		}
	}
	for i := range out {
		out[i].Role = role[out[i].ID]
	}
	sort.SliceStable(out, func(i, j int) bool {
		if depth[out[i].ID] != depth[out[j].ID] {
			return depth[out[i].ID] < depth[out[j].ID]
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
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

// AuditScope lists the organisations whose audit events an actor may read:
// the organisation its token acts for and everything below it, when the
// user is admin or owner there.
func (s *Service) AuditScope(ctx context.Context, a Actor) ([]string, error) {
	orgID := a.Org
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
	ids := []string{orgID}
	for i := 0; i < len(ids) && len(ids) < maxNetwork; i++ {
		for offset := 0; ; offset += 500 {
			kids, err := s.st.ListOrganisations(ctx, ids[i], store.Page{Offset: offset, Size: 500})
			if err != nil {
				return nil, err
			}
			for _, k := range kids {
				ids = append(ids, k.ID)
			}
			if len(kids) < 500 {
				break
			}
		}
	}
	return ids, nil
}
