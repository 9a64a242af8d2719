package clients

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/store"
)

// memStore holds clients in memory.
type memStore struct {
	mu   sync.Mutex
	m    map[string]store.Client
	gets int
	fail error // every call fails with it when set
}

func newMemStore() *memStore { return &memStore{m: map[string]store.Client{}} }

func (s *memStore) CreateClient(_ context.Context, c store.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if _, ok := s.m[c.ID]; ok {
		return store.ErrAlreadyExists
	}
	s.m[c.ID] = c
	return nil
}

func (s *memStore) GetClient(_ context.Context, id string) (store.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.fail != nil {
		return store.Client{}, s.fail
	}
	c, ok := s.m[id]
	if !ok {
		return store.Client{}, store.ErrNotFound
	}
	return c, nil
}

func (s *memStore) ListClients(_ context.Context, p store.Page) ([]store.Client, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]store.Client, 0, len(s.m))
	for _, c := range s.m {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b store.Client) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	total := len(out)
	size := p.Size
	if size <= 0 {
		size = 50
	}
	out = out[min(p.Offset, total):min(p.Offset+size, total)]
	return out, total, nil
}

func (s *memStore) UpdateClient(_ context.Context, id string, fn func(store.Client) (store.Client, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[id]
	if !ok {
		return store.ErrNotFound
	}
	c, err := fn(c)
	if err != nil {
		return err
	}
	c.ID = id
	s.m[id] = c
	return nil
}

func (s *memStore) DeleteClient(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if _, ok := s.m[id]; !ok {
		return store.ErrNotFound
	}
	delete(s.m, id)
	return nil
}

// network: root "so" ← business "biz" ← merchant "shop".
type fakeIdentity struct {
	orgs  map[string]store.Organisation
	roles map[string]map[string]string // user → org → role (memberships)
}

func newFakeIdentity() *fakeIdentity {
	return &fakeIdentity{
		orgs: map[string]store.Organisation{
			"so": {ID: "so", Type: store.OrgTypeServiceOwner}, "biz": {ID: "biz", ParentID: "so"}, "shop": {ID: "shop", ParentID: "biz"},
		},
		roles: map[string]map[string]string{
			"owner": {"so": identity.RoleOwner}, "admin": {"so": identity.RoleAdmin}, "member": {"so": identity.RoleMember},
			"bizadmin": {"biz": identity.RoleOwner},
		},
	}
}

// Organisation applies the rights of a membership to the organisation and
// everything below it.
func (f *fakeIdentity) Organisation(_ context.Context, a identity.Actor, orgID string) (store.Organisation, identity.Grant, error) {
	o, ok := f.orgs[orgID]
	if !ok {
		return store.Organisation{}, identity.Grant{}, identity.ErrOutsideScope
	}
	for id := orgID; id != ""; id = f.orgs[id].ParentID {
		if r, ok := f.roles[a.UserID][id]; ok {
			return o, identity.Grant{Role: r, HomeOrg: id}, nil
		}
	}
	return store.Organisation{}, identity.Grant{}, identity.ErrForbidden
}

func (f *fakeIdentity) BusinessOf(_ context.Context, orgID string) (string, error) {
	o, ok := f.orgs[orgID]
	if !ok {
		return "", store.ErrNotFound
	}
	switch {
	case o.ParentID == "":
		return "", identity.ErrNoBusiness
	case f.orgs[o.ParentID].ParentID == "":
		return o.ID, nil
	}
	return f.BusinessOf(context.Background(), o.ParentID)
}

type revoked struct {
	kind, key string
	through   time.Time
	ttl       time.Duration
}

type fakeRevocations struct {
	mu        sync.Mutex
	subjects  []revoked
	entries   []store.Revocation
	refreshed []string
	fail      error
	onApply   func(store.Revocation)
}

func (f *fakeRevocations) RevokeSubjectThrough(_ context.Context, kind, key string, through time.Time, ttl time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.subjects = append(f.subjects, revoked{kind, key, through, ttl})
	if f.onApply != nil {
		f.onApply(store.Revocation{Kind: kind, Key: key, At: through})
	}
	return nil
}

func (f *fakeRevocations) Revoke(_ context.Context, rs ...store.Revocation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.entries = append(f.entries, rs...)
	for _, r := range rs {
		if f.onApply != nil {
			f.onApply(r)
		}
	}
	return nil
}

func (f *fakeRevocations) RevokeClient(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.refreshed = append(f.refreshed, id)
	return nil
}

type events struct {
	mu sync.Mutex
	l  []store.AuditEvent
}

func (e *events) Record(_ context.Context, ev store.AuditEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.l = append(e.l, ev)
}

func (e *events) actions() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.l {
		out = append(out, ev.Action)
	}
	return out
}

type fixture struct {
	st    *memStore
	revs  *fakeRevocations
	audit *events
	now   time.Time
	svc   *Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{st: newMemStore(), revs: &fakeRevocations{}, audit: &events{}, now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	f.svc = New(f.st, Config{
		Now: func() time.Time { return f.now }, Identity: newFakeIdentity(),
		Tokens: f.revs, Refresh: f.revs, Revocations: f.revs, Audit: f.audit,
		MaxAccessTokenTTL: 2 * time.Hour, MaxRefreshTokenTTL: 30 * 24 * time.Hour, Reserved: map[string]string{"backoffice": "the CRM endpoints use it"},
	})
	f.revs.onApply = func(r store.Revocation) {
		if Forgets(r) {
			f.svc.Forget(r.Key)
		}
	}
	return f
}

var rootAdmin = Caller{UserID: "admin", Org: "so"}

func (f *fixture) create(t *testing.T, p CreateParams) Issued {
	t.Helper()
	in, err := f.svc.Create(context.Background(), rootAdmin, p)
	if err != nil {
		t.Fatalf("Create %+v: %v", p, err)
	}
	return in
}

var confidential = CreateParams{Name: "billing", Type: TypeConfidential, GrantTypes: []string{GrantClientCredentials}}
