package clients

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/store"
)

// UpdateParams are the changes to a client: a nil field is left as it is.
// The id, the type, the secret and the organisation binding never change
// (create another client instead). A zero lifetime goes back to the
// service's default.
type UpdateParams struct {
	Name            *string
	GrantTypes      *[]string
	Scopes          *[]string
	Audiences       *[]string
	AccessTokenTTL  *time.Duration
	RefreshTokenTTL *time.Duration
	RefreshIdleTTL  *time.Duration
}

// empty reports whether u changes nothing.
func (u UpdateParams) empty() bool {
	return u == UpdateParams{}
}

// apply lays u over p.
func (u UpdateParams) apply(p CreateParams) CreateParams {
	set := func(dst *[]string, src *[]string) {
		if src != nil {
			*dst = slices.Clone(*src)
		}
	}
	if u.Name != nil {
		p.Name = *u.Name
	}
	set(&p.GrantTypes, u.GrantTypes)
	set(&p.Scopes, u.Scopes)
	set(&p.Audiences, u.Audiences)
	for _, f := range []struct {
		dst *time.Duration
		src *time.Duration
	}{{&p.AccessTokenTTL, u.AccessTokenTTL}, {&p.RefreshTokenTTL, u.RefreshTokenTTL}, {&p.RefreshIdleTTL, u.RefreshIdleTTL}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	return p
}

// paramsOf is a stored client as the parameters that would create it.
func paramsOf(c store.Client) CreateParams {
	return CreateParams{
		Name: c.Name, Type: clientType(c), GrantTypes: c.GrantTypes, Scopes: c.Scopes, Audiences: c.Audience,
		OrganisationID: c.OrganisationID, Mode: c.Mode,
		Lifetimes: Lifetimes{AccessTokenTTL: c.AccessTokenTTL, RefreshTokenTTL: c.RefreshTokenTTL, RefreshIdleTTL: c.RefreshIdleTTL},
	}
}

// Update changes a client's name, grant types, scopes, audiences or
// lifetimes, under the rules of Create (the result must be a client Create
// would accept); nothing changes when they refuse it. The change is read
// and written in one transaction, so concurrent updates do not lose each
// other's fields.
//
// Every replica drops its cached copy of the client when it reads the
// change from the revocation log (milliseconds through pub/sub, one poll
// interval at worst), so the client's new grants, scopes, audiences and
// lifetimes apply to every request that follows: a grant or scope taken
// away is refused at once, and a refresh token whose family holds a scope
// or audience taken away, or of a client no longer allowed the
// refresh_token grant, is refused (signin). Access tokens already issued
// keep their claims until they expire (at most the client's access-token
// lifetime); delete the client to stop them at once. The change is
// committed before it is announced: should the announcement fail, the
// error is returned and a retry (the same change) announces it again.
func (s *Service) Update(ctx context.Context, c Caller, id string, u UpdateParams) (Info, error) {
	a, err := s.authorize(ctx, c)
	if err != nil {
		return Info{}, err
	}
	if u.empty() {
		return s.Get(ctx, c, id)
	}
	var before, after store.Client
	err = s.st.UpdateClient(ctx, id, func(cur store.Client) (store.Client, error) {
		p, err := u.apply(paramsOf(cur)).normalise(s.limits())
		if err != nil {
			return cur, err
		}
		before, after = cur, cur
		after.Name, after.GrantTypes, after.Scopes, after.Audience = p.Name, p.GrantTypes, p.Scopes, p.Audiences
		after.AccessTokenTTL, after.RefreshTokenTTL, after.RefreshIdleTTL = p.AccessTokenTTL, p.RefreshTokenTTL, p.RefreshIdleTTL
		return after, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return Info{}, ErrUnknown
	}
	if err != nil {
		return Info{}, err
	}
	if details := changes(before, after); len(details) > 0 {
		s.record(ctx, a, audit.ClientUpdated, id, details)
	}
	if err := s.announce(ctx, id); err != nil {
		return Info{}, err
	}
	return info(after, s.cfg.Now()), nil
}

// changes lists, for the audit trail, the fields an update changed with
// their new values.
func changes(before, after store.Client) map[string]string {
	out := map[string]string{}
	list := func(field string, b, a []string) {
		if !slices.Equal(b, a) {
			out[field] = strings.Join(a, " ")
			if len(a) == 0 {
				out[field] = "none"
			}
		}
	}
	if before.Name != after.Name {
		out["name"] = after.Name
	}
	list("grant_types", before.GrantTypes, after.GrantTypes)
	list("scopes", before.Scopes, after.Scopes)
	list("audiences", before.Audience, after.Audience)
	for _, f := range []struct {
		field string
		b, a  time.Duration
	}{
		{"access_token_ttl", before.AccessTokenTTL, after.AccessTokenTTL},
		{"refresh_token_ttl", before.RefreshTokenTTL, after.RefreshTokenTTL},
		{"refresh_token_idle_ttl", before.RefreshIdleTTL, after.RefreshIdleTTL},
	} {
		if f.b != f.a {
			out[f.field] = ttlDetail(f.a)
		}
	}
	return out
}
