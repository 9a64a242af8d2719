package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Kinds of subject (Claims.Kind).
const (
	// KindUser: a back-office user (Subject is the user id).
	KindUser = "user"
	// KindContact: a customer of a business (Subject is the contact id,
	// unique within Org and Mode).
	KindContact = "contact"
	// KindClient: an OAuth client acting for itself (client_credentials).
	KindClient = "client"
)

// Modes (Claims.Mode).
const (
	ModeLive = "live"
	ModeTest = "test"
)

// Errors of Verify; test with errors.Is. Every error Verify returns
// matches exactly one of them. Their text may carry detail for logs; do
// not show it to callers (the middlewares answer a fixed description).
var (
	// ErrInvalid: not a valid authd access token: malformed, not signed by
	// a key of the issuer's JWKS (unknown kid, alg none, HMAC, an alg
	// other than the key's, a bad signature), typ not at+jwt, another
	// issuer, a required claim missing, or nbf in the future.
	ErrInvalid = errors.New("verify: invalid access token")
	// ErrExpired: a genuine token past its exp (and the leeway). A client
	// gets a new one with its refresh token.
	ErrExpired = errors.New("verify: access token expired")
	// ErrRevoked: a genuine token revoked before its exp (learnt from
	// the revocation feed).
	ErrRevoked = errors.New("verify: access token revoked")
	// ErrAudience: a genuine token whose aud does not name this service.
	ErrAudience = errors.New("verify: access token not for this audience")
)

// Claims are the verified claims of an authd access token.
type Claims struct {
	// Subject (sub) is the user, contact or client id, by Kind.
	Subject string
	// Kind is KindUser, KindContact or KindClient.
	Kind string
	// Org is the organisation the token acts for (empty for some client
	// tokens).
	Org string
	// Mode is ModeLive or ModeTest: data of one mode never acts on the
	// other.
	Mode string
	// Scopes are the granted scopes (the space-separated scope claim).
	Scopes []string
	// ServiceOwner is set on tokens of users who are members of the
	// service owner (the root of the network).
	ServiceOwner bool
	// HomeOrg is set when a user masquerades: the organisation of the
	// membership that granted acting for Org.
	HomeOrg string
	// ClientID is the OAuth client the token was issued to.
	ClientID string
	// ID (jti) names this token.
	ID string
	// Family (sid) is the refresh-token family the token was issued
	// with; empty when there is none.
	Family string
	// IssuedAt (iat) and ExpiresAt (exp).
	IssuedAt, ExpiresAt time.Time
	// Audience (aud) lists the services the token is for.
	Audience []string
}

// HasScope reports whether the token was granted scope.
func (c *Claims) HasScope(scope string) bool {
	return slices.Contains(c.Scopes, scope)
}

// clone returns a copy of c that shares nothing mutable with it: two
// allocations (the Claims and one array behind both slices).
func (c *Claims) clone() *Claims {
	out := new(Claims)
	*out = *c
	ns, na := len(c.Scopes), len(c.Audience)
	if ns+na > 0 {
		buf := make([]string, ns+na)
		copy(buf, c.Scopes)
		copy(buf[ns:], c.Audience)
		out.Scopes = buf[:ns:ns]
		out.Audience = buf[ns:]
	}
	if ns == 0 {
		out.Scopes = nil
	}
	if na == 0 {
		out.Audience = nil
	}
	return out
}

// wireClaims is the JSON payload of an authd access token (RFC 9068 §2.2
// plus authd's own claims).
type wireClaims struct {
	Issuer       string       `json:"iss"`
	Subject      string       `json:"sub"`
	Audience     audience     `json:"aud"`
	ExpiresAt    *numericDate `json:"exp"`
	NotBefore    *numericDate `json:"nbf"`
	IssuedAt     *numericDate `json:"iat"`
	ID           string       `json:"jti"`
	ClientID     string       `json:"client_id"`
	Scope        string       `json:"scope"`
	Kind         string       `json:"kind"`
	Org          string       `json:"org"`
	Mode         string       `json:"mode"`
	HomeOrg      string       `json:"home_org"`
	Family       string       `json:"sid"`
	ServiceOwner bool         `json:"service_owner"`
}

// check applies the claim rules of Verify to a token whose signature and
// header were verified, and returns its Claims.
func (w *wireClaims) check(issuer, aud string, now time.Time, leeway time.Duration) (Claims, error) {
	switch {
	case w.Issuer != issuer:
		return Claims{}, fmt.Errorf("%w: iss %q is not %q", ErrInvalid, w.Issuer, issuer)
	case w.Subject == "" || w.ID == "" || w.Kind == "" || w.ClientID == "":
		return Claims{}, fmt.Errorf("%w: sub, jti, kind or client_id missing", ErrInvalid)
	case w.ExpiresAt == nil || w.IssuedAt == nil:
		return Claims{}, fmt.Errorf("%w: exp or iat missing", ErrInvalid)
	case !slices.Contains(w.Audience, aud):
		return Claims{}, fmt.Errorf("%w: aud %q does not contain %q", ErrAudience, []string(w.Audience), aud)
	case w.NotBefore != nil && now.Add(leeway).Before(w.NotBefore.time()):
		return Claims{}, fmt.Errorf("%w: not valid before %s", ErrInvalid, w.NotBefore.time().UTC().Format(time.RFC3339))
	case now.After(w.ExpiresAt.time().Add(leeway)):
		return Claims{}, fmt.Errorf("%w: at %s", ErrExpired, w.ExpiresAt.time().UTC().Format(time.RFC3339))
	}
	return Claims{
		Subject:      w.Subject,
		Kind:         w.Kind,
		Org:          w.Org,
		Mode:         w.Mode,
		Scopes:       splitScope(w.Scope),
		ServiceOwner: w.ServiceOwner,
		HomeOrg:      w.HomeOrg,
		ClientID:     w.ClientID,
		ID:           w.ID,
		Family:       w.Family,
		IssuedAt:     w.IssuedAt.time(),
		ExpiresAt:    w.ExpiresAt.time(),
		Audience:     w.Audience,
	}, nil
}

// splitScope splits a scope claim on spaces (RFC 6749 §3.3), or nil.
func splitScope(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		j := i
		for j < len(s) && s[j] != ' ' {
			j++
		}
		if j > i {
			out = append(out, s[i:j])
		}
		i = j
	}
	return out
}

// audience is the aud claim: a string or an array of strings (RFC 7519
// §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = l
	return nil
}

// numericDate is a JSON number of seconds since the epoch (RFC 7519 §2),
// kept in whole seconds: a fraction is dropped, which moves exp earlier
// and iat earlier (so a revocation cut-off covers it).
type numericDate int64

func (d *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1<<40 {
		return fmt.Errorf("not a NumericDate: %s", b)
	}
	*d = numericDate(f)
	return nil
}

func (d numericDate) time() time.Time { return time.Unix(int64(d), 0) }
