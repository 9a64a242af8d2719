package clients

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authd/authd/internal/store"
)

// Grant types a client may hold. The token endpoint (internal/oauth)
// serves exactly these.
const (
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantOTP               = "urn:authd:params:oauth:grant-type:otp"
)

// GrantTypes lists every grant type a client may hold.
var GrantTypes = []string{GrantClientCredentials, GrantPassword, GrantRefreshToken, GrantTokenExchange, GrantOTP}

// Client permissions, held as client scopes. Each lets a confidential
// client call an endpoint that needs client authentication.
const (
	// ScopeIntrospect lets a confidential client call /oauth2/introspect.
	ScopeIntrospect = "tokens:introspect"
	// ScopeRevokeAny lets a confidential client revoke tokens issued to
	// other clients (RFC 7009 otherwise limits a client to its own).
	ScopeRevokeAny = "tokens:revoke"
	// ScopeRevocationsRead lets a confidential client read the revocation
	// feed (GET /oauth2/revocations).
	ScopeRevocationsRead = "revocations:read"
)

// Permissions lists every client permission (scope) a client may hold.
var Permissions = []string{ScopeIntrospect, ScopeRevokeAny, ScopeRevocationsRead}

// Client types.
const (
	TypePublic       = "public"
	TypeConfidential = "confidential"
)

// Limits of the management API.
const (
	MaxNameLength     = 100
	MaxAudiences      = 10
	MaxAudienceLength = 255
	// MaxRotationOverlap is the longest a replaced secret keeps working.
	MaxRotationOverlap = 30 * 24 * time.Hour
	// MinTokenTTL is the shortest lifetime a client may give its tokens.
	MinTokenTTL = time.Minute
	// MaxAccessTokenTTL is the longest access-token lifetime
	// tokens.max_access_token_ttl may allow.
	MaxAccessTokenTTL = 24 * time.Hour
)

// Lifetimes are a client's own token lifetimes, whole seconds; zero takes
// the service's default (tokens.access_token_ttl, tokens.refresh_token_ttl,
// tokens.refresh_idle_ttl).
type Lifetimes struct {
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration // absolute lifetime of a refresh family
	RefreshIdleTTL  time.Duration // a family not used this long ends
}

// limits bound a client's lifetimes: the service's maxima.
type limits struct {
	maxAccess, maxRefresh time.Duration
}

// check refuses lifetimes out of bounds, naming the API field.
func (l Lifetimes) check(lim limits) error {
	for _, f := range []struct {
		field string
		v     time.Duration
		max   time.Duration
		what  string
	}{
		{"access_token_ttl", l.AccessTokenTTL, lim.maxAccess, "tokens.max_access_token_ttl"},
		{"refresh_token_ttl", l.RefreshTokenTTL, lim.maxRefresh, "tokens.refresh_token_ttl"},
		{"refresh_token_idle_ttl", l.RefreshIdleTTL, lim.maxRefresh, "tokens.refresh_token_ttl"},
	} {
		switch {
		case f.v == 0:
		case f.v < MinTokenTTL || f.v > f.max:
			return &ValidationError{Field: f.field, Message: fmt.Sprintf("%s must be 0 (the service's default) or between %d and %d seconds (%s).",
				f.field, int64(MinTokenTTL/time.Second), int64(f.max/time.Second), f.what)}
		case f.v%time.Second != 0:
			return &ValidationError{Field: f.field, Message: f.field + " must be a whole number of seconds."}
		}
	}
	if l.RefreshIdleTTL > 0 && l.RefreshTokenTTL > 0 && l.RefreshIdleTTL > l.RefreshTokenTTL {
		return &ValidationError{Field: "refresh_token_idle_ttl", Message: "refresh_token_idle_ttl must not exceed refresh_token_ttl."}
	}
	return nil
}

// ValidationError names an invalid input field.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return "clients: " + e.Field + ": " + e.Message }

// CreateParams describe a new client.
type CreateParams struct {
	Name       string
	Type       string // TypePublic or TypeConfidential
	GrantTypes []string
	Scopes     []string // client permissions (Permissions)
	Audiences  []string
	// OrganisationID optionally binds the client to a business: grants
	// that sign a contact in without an api_key know their tenant from
	// it, and client_credentials tokens act for it.
	OrganisationID string
	// Mode goes with OrganisationID (default live).
	Mode store.Mode
	Lifetimes
}

// normalise checks p and returns it trimmed, without duplicates (first
// occurrence kept), with the mode defaulted. It checks everything but
// whether the organisation exists and is a business (a read). Create and
// Update both apply it: one set of rules.
func (p CreateParams) normalise(lim limits) (CreateParams, error) {
	var err error
	if p.Name, err = validName(p.Name); err != nil {
		return p, err
	}
	if p.Type != TypePublic && p.Type != TypeConfidential {
		return p, &ValidationError{Field: "type", Message: "The type must be public or confidential."}
	}
	public := p.Type == TypePublic
	if p.GrantTypes, err = normaliseList("grant_types", p.GrantTypes, func(field, g string) error {
		switch {
		case !slices.Contains(GrantTypes, g):
			return &ValidationError{Field: field, Message: fmt.Sprintf("Unknown grant type %q; known: %s.", g, strings.Join(GrantTypes, ", "))}
		case g == GrantClientCredentials && public:
			return &ValidationError{Field: field, Message: "client_credentials is for confidential clients: a public client has no secret."}
		}
		return nil
	}); err != nil {
		return p, err
	}
	if public && len(p.GrantTypes) == 0 {
		return p, &ValidationError{Field: "grant_types", Message: "A public client needs at least one grant type."}
	}
	if p.Scopes, err = normaliseList("scopes", p.Scopes, func(field, sc string) error {
		switch {
		case !slices.Contains(Permissions, sc):
			return &ValidationError{Field: field, Message: fmt.Sprintf("Unknown client permission %q; known: %s.", sc, strings.Join(Permissions, ", "))}
		case public:
			return &ValidationError{Field: field, Message: "Client permissions are for confidential clients: a public client cannot authenticate."}
		}
		return nil
	}); err != nil {
		return p, err
	}
	if p.Audiences, err = normaliseList("audiences", p.Audiences, func(field, a string) error {
		if !validAudience(a) {
			return &ValidationError{Field: field, Message: fmt.Sprintf("An audience is an absolute URI or a name (letters, digits, '.', '_', '-'), at most %d characters.", MaxAudienceLength)}
		}
		return nil
	}); err != nil {
		return p, err
	}
	if len(p.Audiences) > MaxAudiences {
		return p, &ValidationError{Field: "audiences", Message: fmt.Sprintf("A client has at most %d audiences.", MaxAudiences)}
	}
	p.OrganisationID = strings.TrimSpace(p.OrganisationID)
	switch {
	case p.OrganisationID == "" && p.Mode != "":
		return p, &ValidationError{Field: "mode", Message: "A mode goes with an organisation_id."}
	case p.OrganisationID != "" && p.Mode == "":
		p.Mode = store.ModeLive
	case p.OrganisationID != "" && !p.Mode.Valid():
		return p, &ValidationError{Field: "mode", Message: "The mode must be live or test."}
	}
	return p, p.check(lim)
}

// normaliseList trims each entry, checks it and drops repeats.
func normaliseList(name string, in []string, check func(field, v string) error) ([]string, error) {
	out := make([]string, 0, len(in))
	for i, v := range in {
		v = strings.TrimSpace(v)
		if err := check(fmt.Sprintf("%s[%d]", name, i), v); err != nil {
			return nil, err
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", &ValidationError{Field: "name", Message: "A name is required."}
	case !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "", &ValidationError{Field: "name", Message: "The name must be printable text."}
	case utf8.RuneCountInString(name) > MaxNameLength:
		return "", &ValidationError{Field: "name", Message: fmt.Sprintf("The name must be at most %d characters.", MaxNameLength)}
	}
	return name, nil
}

var audienceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// validAudience: an absolute URI without a fragment (RFC 8707's resource
// indicators; https://billing.example, urn:crm:billing), or a plain name
// (billing-api).
func validAudience(a string) bool {
	if a == "" || len(a) > MaxAudienceLength {
		return false
	}
	if !strings.Contains(a, ":") {
		return audienceName.MatchString(a)
	}
	if strings.IndexFunc(a, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return false
	}
	u, err := url.Parse(a)
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(a, "#") {
		return false
	}
	return u.Opaque != "" || u.Host != ""
}
