package signin_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/keys"
	"github.com/authd/authd/internal/password"
	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/revocation"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/store/sqlstore"
	"github.com/authd/authd/internal/token"
)

const secret = "signin-test-system-secret-0123456789abcdef"

// net is a small network: so ─ biz ─ merch, and so ─ other; owner holds
// the service owner, admin is an admin of biz, member a member of merch.
type net struct {
	s      *signin.Service
	tokens *token.Service
	st     store.Store
}

func newNet(t *testing.T) *net {
	t.Helper()
	return newNetWith(t, signin.Config{AccessTokenTTL: 15 * time.Minute})
}

func newNetWith(t *testing.T, cfg signin.Config) *net {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "signin.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	km, err := keys.New(st, secret, keys.Config{Algorithm: "ES256", PublishAhead: time.Hour, MaxTokenTTL: 15 * time.Minute,
		JWKSMaxAge: 5 * time.Minute, ReloadInterval: time.Minute}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Init(ctx); err != nil {
		t.Fatal(err)
	}
	revs := revocation.New(st, nil, revocation.Config{}, nil, nil)
	if err := revs.Load(ctx); err != nil {
		t.Fatal(err)
	}
	tokens := token.New(km, revs, "https://authd.test", nil)
	c := memcache.New(memcache.Options{})
	t.Cleanup(func() { _ = c.Close() })
	rec := audit.New(st, nil)
	id := identity.New(st, c, password.New(password.Params{MemoryKiB: 1024, Iterations: 1}), rec,
		identity.Config{AccountAttemptsPerHour: 1000, IPAttemptsPerMinute: 1000}, nil)
	rs := refresh.New(st, []byte(secret), refresh.Config{AbsoluteTTL: time.Hour, IdleTTL: time.Hour, ReuseGrace: 10 * time.Second}, rec, nil)
	now := time.Now().UTC()
	for _, o := range []store.Organisation{
		{ID: "so", Name: "SO", Type: store.OrgTypeServiceOwner},
		{ID: "biz", Name: "Biz", Type: store.OrgTypeBusiness, ParentID: "so"},
		{ID: "merch", Name: "Merch", Type: store.OrgTypeMerchant, ParentID: "biz"},
		{ID: "other", Name: "Other", Type: store.OrgTypeBusiness, ParentID: "so"},
	} {
		o.CreatedAt = now
		if err := st.CreateOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct{ id, org, role string }{{"owner", "so", identity.RoleOwner}, {"admin", "biz", identity.RoleAdmin}, {"member", "merch", identity.RoleMember}} {
		if err := st.CreateUser(ctx, store.User{ID: u.id, Email: u.id + "@example.com", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateMembership(ctx, store.Membership{UserID: u.id, OrganisationID: u.org, Role: u.role, IsDefault: true, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	return &net{s: signin.New(tokens, rs, id, rec, cfg), tokens: tokens, st: st}
}

// claims is a verified access token of user acting for org in mode,
// issued to the back-office client.
func (n *net) claims(t *testing.T, kind, user, org, mode string) token.Claims {
	t.Helper()
	_, c, err := n.tokens.IssueFor(token.Subject{ID: user, Kind: kind, ClientID: "backoffice", Org: org, Mode: mode}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSwitchRules is the decision table of masquerading (token exchange and
// the back-office switch): which subject, issued to which client, may act
// for which organisation in which mode, and what the new tokens say.
func TestSwitchRules(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	backoffice := signin.Client{ID: "backoffice", Refresh: true}
	for _, tc := range []struct {
		rule     string
		subject  token.Claims
		org      string
		mode     store.Mode
		client   signin.Client
		want     error
		wantHome string
	}{
		{"owner acts for a business, through the service owner", n.claims(t, token.KindUser, "owner", "so", "live"), "biz", "", backoffice, nil, "so"},
		{"owner acts for another business", n.claims(t, token.KindUser, "owner", "so", "live"), "other", "", backoffice, nil, "so"},
		{"admin acts for her merchant", n.claims(t, token.KindUser, "admin", "biz", "live"), "merch", "", backoffice, nil, "biz"},
		{"admin switches her business to test mode", n.claims(t, token.KindUser, "admin", "biz", "live"), "", store.ModeTest, backoffice, nil, ""},
		{"admin switched to the merchant switches back up (her own membership)", n.claims(t, token.KindUser, "admin", "merch", "live"), "biz", "", backoffice, nil, ""},
		{"admin may not act for another business", n.claims(t, token.KindUser, "admin", "biz", "live"), "other", "", backoffice, signin.ErrForbiddenOrganisation, ""},
		{"admin may not act for the service owner", n.claims(t, token.KindUser, "admin", "biz", "live"), "so", "", backoffice, signin.ErrForbiddenOrganisation, ""},
		{"member may not act above his merchant", n.claims(t, token.KindUser, "member", "merch", "live"), "biz", "", backoffice, signin.ErrForbiddenOrganisation, ""},
		{"an unknown organisation is refused like a foreign one", n.claims(t, token.KindUser, "owner", "so", "live"), "nope", "", backoffice, signin.ErrForbiddenOrganisation, ""},
		{"a contact's token is never exchanged", n.claims(t, token.KindContact, "c1", "biz", "live"), "biz", store.ModeTest, backoffice, signin.ErrForbiddenOrganisation, ""},
		{"a token is exchanged only by its own client", n.claims(t, token.KindUser, "owner", "so", "live"), "biz", "", signin.Client{ID: "other-app"}, signin.ErrOtherClient, ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			p, toks, err := n.s.Switch(ctx, tc.subject, tc.org, tc.mode, tc.client)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantOrg, wantMode := tc.org, tc.mode
			if wantOrg == "" {
				wantOrg = tc.subject.Org
			}
			if wantMode == "" {
				wantMode = store.Mode(tc.subject.Mode)
			}
			c := toks.Claims
			if p.Org != wantOrg || p.Mode != wantMode || c.Org != wantOrg || c.Mode != string(wantMode) || c.Subject != tc.subject.Subject ||
				c.HomeOrg != tc.wantHome || toks.RefreshToken == "" || c.Family == "" {
				t.Fatalf("principal %+v claims %+v", p, c)
			}
		})
	}
}

// TestSignInRules: the password sign-in's decisions.
func TestSignInRules(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	id := identity.New(n.st, memcache.New(memcache.Options{}), password.New(password.Params{MemoryKiB: 1024, Iterations: 1}), nil,
		identity.Config{AccountAttemptsPerHour: 1000, IPAttemptsPerMinute: 1000}, nil)
	hash, err := id.HashPassword("a-long-enough-password")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, u := range []store.User{
		{ID: "alice", Email: "alice@example.com", PasswordHash: hash},
		{ID: "nomember", Email: "nomember@example.com", PasswordHash: hash},
		{ID: "off", Email: "off@example.com", PasswordHash: hash, Disabled: true},
	} {
		u.CreatedAt, u.UpdatedAt = now, now
		if err := n.st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.st.CreateMembership(ctx, store.Membership{UserID: "alice", OrganisationID: "biz", Role: identity.RoleAdmin, IsDefault: true, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := n.st.CreateMembership(ctx, store.Membership{UserID: "off", OrganisationID: "biz", Role: identity.RoleAdmin, IsDefault: true, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rule, user, pw string
		client         signin.Client
		want           error
		refresh        bool
	}{
		{"a user signs in for her default organisation, live", "alice@example.com", "a-long-enough-password", signin.Client{ID: "bo", Refresh: true}, nil, true},
		{"a client without the refresh grant gets an access token only", "alice@example.com", "a-long-enough-password", signin.Client{ID: "cli"}, nil, false},
		{"a wrong password is invalid credentials", "alice@example.com", "wrong-password-123", signin.Client{ID: "bo"}, identity.ErrInvalidCredentials, false},
		{"an unknown user is invalid credentials", "ghost@example.com", "a-long-enough-password", signin.Client{ID: "bo"}, identity.ErrInvalidCredentials, false},
		{"a disabled user is invalid credentials", "off@example.com", "a-long-enough-password", signin.Client{ID: "bo"}, identity.ErrInvalidCredentials, false},
		{"a user with no organisation cannot act for any", "nomember@example.com", "a-long-enough-password", signin.Client{ID: "bo"}, signin.ErrForbiddenOrganisation, false},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			res, err := n.s.UserPassword(ctx, tc.client, nil, tc.user, tc.pw)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Principal.Org != "biz" || res.Principal.Mode != store.ModeLive || res.Tokens.Claims.ClientID != tc.client.ID ||
				(res.Tokens.RefreshToken != "") != tc.refresh || (res.Tokens.Claims.Family != "") != tc.refresh {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// policies answers clients' policies from a map; a missing client is
// unknown.
type policies struct {
	m    map[string]signin.ClientPolicy
	fail error
}

func (p *policies) Policy(_ context.Context, id string) (signin.ClientPolicy, error) {
	if p.fail != nil {
		return signin.ClientPolicy{}, p.fail
	}
	return p.m[id], nil
}

// TestClientPolicy: tokens take their client's access lifetime, capped at
// the maximum, or the default for a client without one (or unknown); a
// client no longer allowed to refresh is refused before the token is
// touched; a policy that cannot be read issues nothing.
func TestClientPolicy(t *testing.T) {
	pol := &policies{m: map[string]signin.ClientPolicy{
		"short": {Known: true, AccessTokenTTL: 2 * time.Minute, MayRefresh: true},
		"long":  {Known: true, AccessTokenTTL: 3 * time.Hour, MayRefresh: true},
		"plain": {Known: true, MayRefresh: true},
	}}
	n := newNetWith(t, signin.Config{AccessTokenTTL: 15 * time.Minute, MaxAccessTokenTTL: time.Hour, Clients: pol})
	ctx := context.Background()
	owner := signin.Principal{Kind: store.KindUser, ID: "owner", Org: "so", Mode: store.ModeLive}
	for _, tc := range []struct {
		client string
		want   int64
	}{{"short", 120}, {"long", 3600}, {"plain", 900}, {"unknown", 900}} {
		toks, err := n.s.Mint(ctx, owner, signin.Client{ID: tc.client, Refresh: true}, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.client, err)
		}
		if toks.ExpiresIn != tc.want || toks.Claims.ExpiresAt-toks.Claims.IssuedAt != tc.want {
			t.Errorf("%s: expires_in %d, exp − iat %d; want %d", tc.client, toks.ExpiresIn, toks.Claims.ExpiresAt-toks.Claims.IssuedAt, tc.want)
		}
		if _, renewed, err := n.s.Refresh(ctx, toks.RefreshToken, tc.client, nil); err != nil || renewed.ExpiresIn != tc.want {
			t.Errorf("%s: refresh %d, %v; want %d", tc.client, renewed.ExpiresIn, err, tc.want)
		}
	}
	res, err := n.s.ClientCredentials(ctx, signin.ClientPrincipal{ID: "short"}, nil, nil)
	if err != nil || res.Tokens.ExpiresIn != 120 {
		t.Fatalf("client_credentials: %d %v", res.Tokens.ExpiresIn, err)
	}

	// No longer allowed to refresh: refused, the token untouched.
	toks, err := n.s.Mint(ctx, owner, signin.Client{ID: "short", Refresh: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pol.m["short"] = signin.ClientPolicy{Known: true, AccessTokenTTL: 2 * time.Minute}
	if _, _, err := n.s.Refresh(ctx, toks.RefreshToken, "short", nil); !errors.Is(err, signin.ErrInvalidGrant) {
		t.Fatalf("refresh by a client without refresh_token: %v", err)
	}
	pol.m["short"] = signin.ClientPolicy{Known: true, AccessTokenTTL: 2 * time.Minute, MayRefresh: true}
	if _, _, err := n.s.Refresh(ctx, toks.RefreshToken, "short", nil); err != nil {
		t.Fatalf("refresh once allowed again: %v", err)
	}

	pol.fail = errors.New("database down")
	if _, err := n.s.Mint(ctx, owner, signin.Client{ID: "short", Refresh: true}, nil); err == nil {
		t.Fatal("Mint without the client's policy issued tokens")
	}
}
