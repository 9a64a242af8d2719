package oauth

import (
	"context"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/store"
)

// FacebookExchanger signs contacts in at /oauth2/token with RFC 8693 token
// exchange and subject_issuer=facebook (Keycloak's convention). The
// tenant is the client's: the client must be bound to a business.
type FacebookExchanger struct {
	ss *selfservice.Service
}

// NewFacebookExchanger returns the exchanger; nil when ss is nil.
func NewFacebookExchanger(ss *selfservice.Service) *FacebookExchanger {
	return &FacebookExchanger{ss: ss}
}

// Issuer implements ExternalExchanger.
func (f *FacebookExchanger) Issuer() string { return "facebook" }

// Exchange implements ExternalExchanger.
func (f *FacebookExchanger) Exchange(ctx context.Context, client store.Client, tok, tokType string, form map[string][]string) (signin.Principal, error) {
	if client.OrganisationID == "" {
		return signin.Principal{}, fosite.ErrInvalidClient.WithHint("This client is not bound to a business; Facebook sign-in needs one.")
	}
	var kind string
	switch tokType {
	case TokenTypeAccessToken:
		kind = selfservice.FacebookAccessToken
	case TokenTypeIDToken:
		kind = selfservice.FacebookIDToken
	default:
		return signin.Principal{}, fosite.ErrInvalidRequest.WithHint("subject_token_type must be an access_token or an id_token type.")
	}
	nonce := ""
	if v := form["nonce"]; len(v) > 0 {
		nonce = v[0]
	}
	mode := client.Mode
	if mode == "" {
		mode = store.ModeLive
	}
	c, err := f.ss.FacebookSignIn(ctx, selfservice.Tenant{BusinessID: client.OrganisationID, Mode: mode}, tok, kind, nonce)
	if err != nil {
		return signin.Principal{}, grantError(err, "")
	}
	return signin.ContactPrincipal(c), nil
}
