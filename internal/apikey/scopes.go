package apikey

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/authd/authd/internal/store"
)

// The scope catalogue. Endpoints that accept an API key name the scope they
// need; a key without it gets 403 INSUFFICIENT_SCOPE. Public scopes are
// the ones a public key (shipped in a web page or app) may hold: they
// start self-service flows and grant no access to data.
const (
	// ScopeContactsRegister: register a contact, and add credentials to a
	// contact created in the back office (self-service).
	ScopeContactsRegister = "contacts:register"
	// ScopeContactsAuthenticate: sign a contact in and refresh its tokens
	// (self-service).
	ScopeContactsAuthenticate = "contacts:authenticate"
	// ScopeOTPSend: request and validate one-time codes (self-service).
	ScopeOTPSend = "otp:send"
	// ScopeContactsRead: read contacts (server to server).
	ScopeContactsRead = "contacts:read"
	// ScopeContactsWrite: create and change contacts (server to server).
	ScopeContactsWrite = "contacts:write"
	// ScopeTokensIntrospect: check access tokens and API keys, e.g. through
	// /forward-auth rules (server to server).
	ScopeTokensIntrospect = "tokens:introspect"
	// ScopeAPIKeysRead: list and read the organisation's API keys (secret
	// keys masked).
	ScopeAPIKeysRead = "api_keys:read"
	// ScopeIntegrationsManage: read, change and test the business's own
	// integrations (its OTP delivery).
	ScopeIntegrationsManage = "integrations:manage"
	// ScopeOrganisationsRegister: sign an organisation up below the key's
	// organisation, with its owner (back office, public keys).
	ScopeOrganisationsRegister = "organisations:register"
	// ScopeAll grants every scope; secret keys only, and alone.
	ScopeAll = "*"
)

// ScopeInfo describes one scope of the catalogue.
type ScopeInfo struct {
	Name        string
	Public      bool // a public key may hold it (a secret key may hold every scope)
	Description string
}

// BuiltIn lists the scopes of authd's own endpoints, in documentation
// order; a deployment adds the CRM's own (NewCatalogue).
var BuiltIn = []ScopeInfo{
	{ScopeContactsRegister, true, "Register a contact; add credentials to a back-office contact (self-service)."},
	{ScopeContactsAuthenticate, true, "Sign a contact in and refresh its tokens (self-service)."},
	{ScopeOTPSend, true, "Request and validate one-time codes (POST /self-service/v1/otps...)."},
	{ScopeContactsRead, false, "Read contacts (GET /backoffice/v1/contacts/{id})."},
	{ScopeContactsWrite, false, "Create and change contacts (POST /backoffice/v1/contacts)."},
	{ScopeTokensIntrospect, false, "Check tokens and API keys (forward-auth rules)."},
	{ScopeAPIKeysRead, false, "List and read the organisation's API keys (GET /backoffice/v1/api-keys)."},
	{ScopeIntegrationsManage, false, "Read, change and test the business's own OTP delivery (/backoffice/v1/integrations/otp)."},
	{ScopeOrganisationsRegister, true, "Sign an organisation up below the key's organisation, with its owner (POST /backoffice/v1/organisations/register; live keys)."},
	{ScopeAll, false, "Every scope (secret keys only, and alone)."},
}

// Catalogue is the scopes a key may hold: the built-in ones and the
// deployment's own (api_keys.scopes).
type Catalogue struct {
	scopes []ScopeInfo
}

// scopeName is what a configured scope may be called: lower case, digits
// and ":_.-", starting with a letter.
var scopeName = regexp.MustCompile(`^[a-z][a-z0-9:_.-]{0,63}$`)

// NewCatalogue returns the built-in scopes followed by extra, refusing a
// name that is malformed or already taken.
func NewCatalogue(extra ...ScopeInfo) (*Catalogue, error) {
	c := &Catalogue{scopes: slices.Clone(BuiltIn)}
	for _, e := range extra {
		e.Name = strings.TrimSpace(e.Name)
		if !scopeName.MatchString(e.Name) {
			return nil, fmt.Errorf("apikey: scope %q: a name is a lower-case letter, then up to 63 of a-z 0-9 : _ . -", e.Name)
		}
		if _, taken := c.info(e.Name); taken {
			return nil, fmt.Errorf("apikey: scope %q is defined twice", e.Name)
		}
		c.scopes = append(c.scopes, e)
	}
	return c, nil
}

// DefaultCatalogue is the built-in scopes alone.
func DefaultCatalogue() *Catalogue { c, _ := NewCatalogue(); return c }

// List returns every scope, built-in ones first.
func (c *Catalogue) List() []ScopeInfo { return slices.Clone(c.scopes) }

func (c *Catalogue) info(name string) (ScopeInfo, bool) {
	for _, s := range c.scopes {
		if s.Name == name {
			return s, true
		}
	}
	return ScopeInfo{}, false
}

// NormaliseScopes validates scopes for a key of type typ against the
// built-in catalogue (Catalogue.Normalise).
func NormaliseScopes(typ string, scopes []string) ([]string, error) {
	return DefaultCatalogue().Normalise(typ, scopes)
}

// Normalise validates scopes for a key of type typ and returns them
// trimmed, without duplicates, in the order given: every scope must be in
// the catalogue; a public key may hold public scopes only; "*" only on a
// secret key, and then alone.
func (c *Catalogue) Normalise(typ string, scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, &ValidationError{Field: "scopes", Message: "A key needs at least one scope."}
	}
	out := make([]string, 0, len(scopes))
	for i, s := range scopes {
		s = strings.TrimSpace(s)
		field := fmt.Sprintf("scopes[%d]", i)
		info, ok := c.info(s)
		switch {
		case !ok:
			return nil, &ValidationError{Field: field, Message: fmt.Sprintf("Unknown scope %q.", s)}
		case typ == store.APIKeyPublic && !info.Public:
			return nil, &ValidationError{Field: field, Message: fmt.Sprintf("A public key may not hold the scope %q: only %s.", s, strings.Join(c.PublicScopes(), ", "))}
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if slices.Contains(out, ScopeAll) && len(out) > 1 {
		return nil, &ValidationError{Field: "scopes", Message: `The scope "*" stands alone: it grants every scope.`}
	}
	return out, nil
}

// PublicScopes lists the scopes a public key may hold.
func (c *Catalogue) PublicScopes() []string {
	var out []string
	for _, s := range c.scopes {
		if s.Public {
			out = append(out, s.Name)
		}
	}
	return out
}
