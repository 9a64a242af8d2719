package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/keys"
	"github.com/authd/authd/internal/store"
)

// memKeys is a minimal keys.Store for tests.
type memKeys struct{ keys []store.SigningKey }

func (m *memKeys) ListSigningKeys(context.Context) ([]store.SigningKey, error) { return m.keys, nil }
func (m *memKeys) UpdateSigningKeys(_ context.Context, fn func([]store.SigningKey) ([]store.SigningKey, []string, error)) error {
	add, _, err := fn(m.keys)
	if err != nil {
		return err
	}
	m.keys = append(m.keys, add...)
	return nil
}

const issuer = "https://auth.example.com"

func newService(t testing.TB, now func() time.Time) (*Service, *keys.Manager) {
	t.Helper()
	m, err := keys.New(&memKeys{}, "token-test-secret-0123456789abcdefghij", keys.Config{
		PublishAhead: time.Hour, MaxTokenTTL: 15 * time.Minute, JWKSMaxAge: 5 * time.Minute,
	}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return New(m, &memRevocations{}, issuer, now), m
}

func claims(now time.Time) Claims {
	return Claims{Subject: "u1", Kind: KindUser, ClientID: "backoffice", Audience: Audience{"crm"},
		ExpiresAt: now.Add(15 * time.Minute).Unix(), Org: "o1", Mode: "live", Scope: "a b"}
}

func TestIssueVerify(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	s, _ := newService(t, clock)
	ctx := context.Background()

	tok, err := s.Issue(claims(now))
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	var h map[string]string
	_ = json.Unmarshal(hdr, &h)
	if h["typ"] != "at+jwt" || h["kid"] == "" || h["alg"] != "ES256" {
		t.Fatalf("header %v", h)
	}
	c, err := s.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != issuer || c.Subject != "u1" || c.ID == "" || c.IssuedAt != now.Unix() || c.Org != "o1" ||
		c.Mode != "live" || len(c.Scopes()) != 2 || c.Audience[0] != "crm" {
		t.Fatalf("claims %+v", c)
	}
	// aud with one member is a string on the wire (RFC 7519 allows both).
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if !strings.Contains(string(payload), `"aud":"crm"`) {
		t.Fatalf("payload %s", payload)
	}

	t.Run("expired", func(t *testing.T) {
		later := now.Add(16 * time.Minute)
		s2 := *s
		s2.now = func() time.Time { return later }
		if c, err := s2.Verify(ctx, tok); !errors.Is(err, ErrExpired) || c.Subject != "u1" {
			t.Fatalf("err %v claims %+v", err, c)
		}
	})
	t.Run("within leeway", func(t *testing.T) {
		s2 := *s
		s2.now = func() time.Time { return now.Add(15*time.Minute + 10*time.Second) }
		if _, err := s2.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		other, _ := s.Issue(claims(now))
		oc, _ := s.Verify(ctx, other)
		if err := s.Revoke(ctx, oc); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verify(ctx, other); !errors.Is(err, ErrRevoked) {
			t.Fatalf("err %v", err)
		}
		if _, err := s.Verify(ctx, tok); err != nil {
			t.Fatalf("revoking one token revoked another: %v", err)
		}
	})
}

func TestVerifyRejects(t *testing.T) {
	now := time.Now()
	s, m := newService(t, func() time.Time { return now })
	ctx := context.Background()
	good, _ := s.Issue(claims(now))
	parts := strings.Split(good, ".")

	signRaw := func(payload any, typ string) string {
		b, _ := json.Marshal(payload)
		tok, err := m.Sign(b, typ)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	foreign, _ := newService(t, func() time.Time { return now })
	foreignTok, _ := foreign.Issue(claims(now))
	c := claims(now)
	c.Issuer, c.IssuedAt, c.ID = issuer, now.Unix(), "x"

	tests := []struct {
		name string
		tok  string
	}{
		{"empty", ""},
		{"garbage", "garbage"},
		{"two parts", parts[0] + "." + parts[1]},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2]},
		{"signed by another authd", foreignTok},
		{"id token typ", signRaw(c, "JWT")},
		{"other issuer", signRaw(func() Claims { x := c; x.Issuer = "https://evil.example.com"; return x }(), Type)},
		{"no kind", signRaw(func() Claims { x := c; x.Kind = ""; return x }(), Type)},
		{"no jti", signRaw(func() Claims { x := c; x.ID = ""; return x }(), Type)},
		{"not yet valid", signRaw(func() Claims { x := c; x.NotBefore = now.Add(time.Hour).Unix(); return x }(), Type)},
		{"oversized", strings.Repeat("a", 9000) + ".b.c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Verify(ctx, tc.tok); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestIssueRefusesIncompleteClaims(t *testing.T) {
	now := time.Now()
	s, _ := newService(t, func() time.Time { return now })
	for name, c := range map[string]Claims{
		"no exp":     {Subject: "u", Kind: KindUser},
		"no subject": {Kind: KindUser, ExpiresAt: now.Add(time.Minute).Unix()},
		"no kind":    {Subject: "u", ExpiresAt: now.Add(time.Minute).Unix()},
	} {
		if _, err := s.Issue(c); err == nil {
			t.Errorf("%s: issued", name)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	now := time.Now()
	s, _ := newService(b, time.Now)
	c := claims(now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Issue(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is a full verification (the cache off): what a token
// never seen before costs.
func BenchmarkVerify(b *testing.B) {
	now := time.Now()
	s, _ := newService(b, time.Now)
	s.SetCache(0, 0)
	tok, _ := s.Issue(claims(now))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSubjectCheck(t *testing.T) {
	now := time.Now()
	s, _ := newService(t, func() time.Time { return now })
	ctx := context.Background()
	tok, _ := s.Issue(claims(now))
	gone := false
	s.SetSubjectCheck(func(_ context.Context, c Claims) error {
		if c.Subject != "u1" {
			t.Errorf("checked %q", c.Subject)
		}
		if gone {
			return ErrSubjectGone
		}
		return nil
	})
	if _, err := s.Verify(ctx, tok); err != nil {
		t.Fatalf("allowed subject: %v", err)
	}
	gone = true
	if _, err := s.Verify(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("subject gone: %v", err)
	}
	boom := errors.New("backend down")
	s.SetSubjectCheck(func(context.Context, Claims) error { return boom })
	if _, err := s.Verify(ctx, tok); !errors.Is(err, boom) {
		t.Fatalf("check failure: %v", err)
	}
}

func TestRevokeFamily(t *testing.T) {
	now := time.Now()
	s, _ := newService(t, func() time.Time { return now })
	ctx := context.Background()
	fam := claims(now)
	fam.Family = "f1"
	inFamily, _ := s.Issue(fam)
	other := claims(now)
	other.Family = "f2"
	outside, _ := s.Issue(other)
	if err := s.RevokeFamily(ctx, "f1", 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, inFamily); !errors.Is(err, ErrRevoked) {
		t.Fatalf("token of a revoked family: %v", err)
	}
	if _, err := s.Verify(ctx, outside); err != nil {
		t.Fatalf("token of another family: %v", err)
	}
}

// TestIssueFor: the claims IssueFor returns are exactly those signed, with
// the issuer as the default audience.
func TestIssueFor(t *testing.T) {
	now := time.Now()
	s, _ := newService(t, func() time.Time { return now })
	tok, c, err := s.IssueFor(Subject{ID: "u1", Kind: KindUser, ClientID: "app", Org: "o1", Mode: "test", HomeOrg: "root",
		Family: "f", Scopes: []string{"a", "b"}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) || c.Audience[0] != issuer || c.Scope != "a b" || c.ExpiresAt != now.Add(time.Minute).Unix() || c.ExpiresAt-c.IssuedAt != 60 || c.ID == "" {
		t.Fatalf("signed %+v\nreturned %+v", got, c)
	}
}

// memRevocations records entries and answers by jti and family, as the
// revocation state does (its own tests cover every kind).
type memRevocations struct{ entries []store.Revocation }

func (m *memRevocations) Revoke(_ context.Context, rs ...store.Revocation) error {
	m.entries = append(m.entries, rs...)
	return nil
}

func (m *memRevocations) Revoked(c Claims) bool {
	for _, r := range m.entries {
		if r.Kind == store.RevokeToken && r.Key == c.ID || r.Kind == store.RevokeFamily && r.Key == c.Family {
			return true
		}
	}
	return false
}

// TestRevocationEntries: what the token service writes to the log lasts
// exactly as long as a token it covers can be valid.
func TestRevocationEntries(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, _ := newService(t, func() time.Time { return now })
	revs := s.revs.(*memRevocations)
	ctx := context.Background()
	c := claims(now)
	c.ID = "j1"
	if err := s.Revoke(ctx, c); err != nil {
		t.Fatal(err)
	}
	expired := claims(now)
	expired.ID, expired.ExpiresAt = "j0", now.Add(-time.Minute).Unix()
	if err := s.Revoke(ctx, expired); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeFamily(ctx, "f1", 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeFamily(ctx, "", 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSubject(ctx, store.RevokeUser, "u1", 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	want := []store.Revocation{
		{Kind: store.RevokeToken, Key: "j1", ExpiresAt: now.Add(15*time.Minute + 30*time.Second)},
		{Kind: store.RevokeFamily, Key: "f1", ExpiresAt: now.Add(15*time.Minute + 30*time.Second)},
		{Kind: store.RevokeUser, Key: "u1", ExpiresAt: now.Add(15*time.Minute + 30*time.Second)},
	}
	if !reflect.DeepEqual(revs.entries, want) {
		t.Fatalf("entries %+v\nwant %+v", revs.entries, want)
	}
}
