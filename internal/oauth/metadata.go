package oauth

import "slices"

// Metadata is the RFC 8414 / OpenID Connect Discovery document. It lists
// exactly what is implemented.
func (p *Provider) Metadata(signingAlgs []string) map[string]any {
	iss := p.cfg.Issuer
	authMethods := []string{"client_secret_basic", "client_secret_post", "none"}
	confidential := []string{"client_secret_basic", "client_secret_post"}
	grants := slices.Clone(p.grants)
	slices.Sort(grants)
	hints := []string{}
	for _, i := range p.introspectors {
		hints = append(hints, i.Hint())
	}
	return map[string]any{
		"issuer":                 iss,
		"token_endpoint":         iss + "/oauth2/token",
		"introspection_endpoint": iss + "/oauth2/introspect",
		"revocation_endpoint":    iss + "/oauth2/revoke",
		// authd's own: the revocations a verifier must honour (SSE).
		"revocation_feed_endpoint":                      iss + "/oauth2/revocations",
		"jwks_uri":                                      iss + "/.well-known/jwks.json",
		"grant_types_supported":                         grants,
		"response_types_supported":                      []string{},
		"token_endpoint_auth_methods_supported":         authMethods,
		"introspection_endpoint_auth_methods_supported": confidential,
		"revocation_endpoint_auth_methods_supported":    authMethods,
		"introspection_token_type_hints_supported":      hints,
		"subject_types_supported":                       []string{"public"},
		"id_token_signing_alg_values_supported":         signingAlgs,
		"access_token_signing_alg_values_supported":     signingAlgs,
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope",
			"org", "mode", "kind", "home_org", "sid", "service_owner"},
	}
}
