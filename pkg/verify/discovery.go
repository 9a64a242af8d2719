package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxDocument bounds the discovery document and the JWKS read.
const maxDocument = 1 << 20

// Metadata is what the verifier uses of the issuer's discovery document
// (RFC 8414, served at <issuer>/.well-known/openid-configuration).
type Metadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	// RevocationFeedEndpoint is authd's revocation feed; when the document
	// does not name it, <issuer>/oauth2/revocations.
	RevocationFeedEndpoint string `json:"revocation_feed_endpoint"`
}

// discover fetches and checks the issuer's metadata.
func discover(ctx context.Context, hc *http.Client, issuer string) (Metadata, error) {
	base := strings.TrimSuffix(issuer, "/")
	u := base + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Metadata{}, fmt.Errorf("verify: discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return Metadata{}, fmt.Errorf("verify: discovery: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	if err != nil {
		return Metadata{}, fmt.Errorf("verify: discovery: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Metadata{}, fmt.Errorf("verify: discovery: GET %s: %s", u, resp.Status)
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return Metadata{}, fmt.Errorf("verify: discovery: %s: %w", u, err)
	}
	// RFC 8414 §3.3: the document's issuer must be the one asked for.
	if m.Issuer != issuer {
		return Metadata{}, fmt.Errorf("verify: discovery: %s names the issuer %q, not %q", u, m.Issuer, issuer)
	}
	if m.JWKSURI == "" {
		return Metadata{}, errors.New("verify: discovery: no jwks_uri")
	}
	if m.RevocationFeedEndpoint == "" {
		m.RevocationFeedEndpoint = base + "/oauth2/revocations"
	}
	return m, nil
}
