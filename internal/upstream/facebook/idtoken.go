package facebook

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// idClaims are the Limited Login claims beyond the registered ones
// ("OIDC Token for Limited Login"; OpenID Connect Core 1.0 §5.1).
type idClaims struct {
	Nonce      *string         `json:"nonce"`
	GivenName  string          `json:"given_name"`
	FamilyName string          `json:"family_name"`
	Email      string          `json:"email"`
	Picture    json.RawMessage `json:"picture"`
}

// VerifyIDToken implements Verifier (OpenID Connect Core 1.0 §3.1.3.7):
// a compact JWS signed RS256 (no other algorithm) by the JWKS key its kid
// names, iss equal to Config.LimitedLoginIssuer, aud exactly
// Config.AppID, exp present and not past and iat present and not in the
// future (30 s leeway each), sub present, and nonce equal to the claim
// when nonce is not empty. Id tokens are checked locally and not cached;
// only an unknown kid or an old key set reaches Facebook.
func (c *Client) VerifyIDToken(ctx context.Context, idToken, nonce string) (Profile, error) {
	p, kid, err := c.verifyIDToken(ctx, idToken, nonce)
	switch {
	case err == nil:
		c.logger.LogAttrs(ctx, slog.LevelDebug, "facebook id token verified", slog.String("kid", bounded(kid)))
	case errors.Is(err, ErrInvalidToken):
		c.logger.LogAttrs(ctx, slog.LevelInfo, "facebook id token refused", slog.String("kid", bounded(kid)), slog.String("reason", err.Error()))
	default:
		c.logger.LogAttrs(ctx, slog.LevelWarn, "facebook id token could not be verified", slog.String("kid", bounded(kid)), slog.String("error", err.Error()))
	}
	return p, err
}

func (c *Client) verifyIDToken(ctx context.Context, idToken, nonce string) (Profile, string, error) {
	if !wellFormed(idToken, maxIDTokenLen) || strings.Count(idToken, ".") != 2 {
		return Profile{}, "", invalid("malformed id token")
	}
	tok, err := jwt.ParseSigned(idToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		// go-jose's parse errors name the algorithm or the part that is
		// wrong, never the token.
		return Profile{}, "", invalid("id token: " + scrub(err.Error()))
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return Profile{}, "", invalid("id token without a key id")
	}
	kid := tok.Headers[0].KeyID
	key, err := c.keys.key(ctx, kid)
	if err != nil {
		return Profile{}, kid, err
	}
	var std jwt.Claims
	var ext idClaims
	if err := tok.Claims(key, &std, &ext); err != nil {
		return Profile{}, kid, invalid("id token signature or claims: " + scrub(err.Error()))
	}
	switch {
	case std.Expiry == nil:
		return Profile{}, kid, invalid("id token without exp")
	case std.IssuedAt == nil:
		return Profile{}, kid, invalid("id token without iat")
	case std.IssuedAt.Time().After(std.Expiry.Time()):
		return Profile{}, kid, invalid("id token issued after it expires")
	case std.Subject == "":
		return Profile{}, kid, invalid("id token without sub")
	case len(std.Audience) != 1 || std.Audience[0] != c.cfg.AppID:
		// One audience, ours: a token also meant for another party is
		// not ours to accept (OpenID Connect Core §3.1.3.7 items 3-5).
		return Profile{}, kid, invalid("id token for another audience")
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: c.cfg.LimitedLoginIssuer, Time: c.now()}, idTokenLeeway)
	if err != nil {
		return Profile{}, kid, invalid("id token: " + scrub(err.Error()))
	}
	if nonce != "" {
		if ext.Nonce == nil || subtle.ConstantTimeCompare([]byte(*ext.Nonce), []byte(nonce)) != 1 {
			return Profile{}, kid, invalid("id token nonce mismatch")
		}
	}
	p := Profile{ID: std.Subject, FirstName: ext.GivenName, LastName: ext.FamilyName, Email: ext.Email}
	var pic string
	if json.Unmarshal(ext.Picture, &pic) == nil {
		p.PictureURL = webURL(pic)
	}
	return p, kid, nil
}
