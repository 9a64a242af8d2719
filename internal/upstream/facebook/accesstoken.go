package facebook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// meFields is what /me is asked for.
const meFields = "id,first_name,last_name,email,picture.type(large)"

// debugData is debug_token's "data" (Graph API reference, debug_token).
type debugData struct {
	AppID     graphID     `json:"app_id"`
	Type      string      `json:"type"`
	IsValid   bool        `json:"is_valid"`
	ExpiresAt int64       `json:"expires_at"` // Unix seconds; 0: never
	UserID    graphID     `json:"user_id"`
	Error     *debugError `json:"error"` // why is_valid is false
}

// debugError is data.error: debug_token names the code and subcode of the
// input token's problem there, in a body answered with HTTP 200.
type debugError struct {
	Code    int `json:"code"`
	Subcode int `json:"subcode"`
}

// meAnswer is /me with meFields.
type meAnswer struct {
	ID        graphID `json:"id"`
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	Email     string  `json:"email"`
	Picture   *struct {
		Data struct {
			URL          string `json:"url"`
			IsSilhouette bool   `json:"is_silhouette"`
		} `json:"data"`
	} `json:"picture"`
}

// VerifyAccessToken implements Verifier: debug_token with the app access
// token must report the token valid, issued to Config.AppID, of type USER,
// unexpired and naming a user; /me, called with the token and its
// appsecret_proof, must name the same user. The answer is cached (see the
// package documentation); concurrent calls for one token share one round
// trip, bounded by Config.Timeout, which a caller leaving early does not
// cancel for the others.
func (c *Client) VerifyAccessToken(ctx context.Context, token string) (Profile, error) {
	if !wellFormed(token, maxTokenLen) {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "facebook access token refused", slog.String("reason", "malformed"))
		return Profile{}, invalid("malformed access token")
	}
	key := c.cacheKey(token)
	if p, ok, err := c.cached(ctx, key); ok {
		return p, err
	}
	ch := c.flight.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
		defer cancel()
		p, expiry, err := c.askGraph(fctx, token)
		c.log(fctx, key, err)
		c.remember(ctx, key, p, expiry, err)
		return p, err
	})
	select {
	case r := <-ch:
		p, _ := r.Val.(Profile)
		return p, r.Err
	case <-ctx.Done():
		return Profile{}, unavailable("waiting for Facebook", ctx.Err())
	}
}

// askGraph runs debug_token then /me. It returns the profile and the
// token's expiry (zero: never).
func (c *Client) askGraph(ctx context.Context, token string) (Profile, time.Time, error) {
	var dbg struct {
		Data *debugData `json:"data"`
	}
	ans, err := c.getGraph(ctx, "debug_token",
		url.Values{"input_token": {token}, "access_token": {c.appToken}}, &dbg,
		token, c.appToken, c.cfg.AppSecret)
	if err != nil {
		return Profile{}, time.Time{}, err
	}
	if ans.failed() {
		// Problems with the input token come back in data.error with HTTP
		// 200; an error here concerns our request or app credentials.
		if ans.err != nil && !ans.err.transient() && ans.status < 500 {
			c.logger.LogAttrs(ctx, slog.LevelError,
				"facebook debug_token refused the app's own request: check facebook.app_id and facebook.app_secret",
				ans.logAttrs(token, c.appToken, c.cfg.AppSecret)...)
		}
		return Profile{}, time.Time{}, unavailable("debug_token: "+ans.describe(), nil)
	}
	d := dbg.Data
	switch {
	case d == nil:
		return Profile{}, time.Time{}, unavailable("debug_token: answer without data", nil)
	case !d.IsValid:
		why := "debug_token: not valid"
		if d.Error != nil {
			why += fmt.Sprintf(" (code %d, subcode %d)", d.Error.Code, d.Error.Subcode)
		}
		return Profile{}, time.Time{}, invalid(why)
	case string(d.AppID) != c.cfg.AppID:
		return Profile{}, time.Time{}, invalid("issued to another app (" + scrub(string(d.AppID), token) + ")")
	case d.Type != "USER":
		return Profile{}, time.Time{}, invalid("not a user token (type " + scrub(d.Type, token) + ")")
	case d.UserID == "":
		return Profile{}, time.Time{}, invalid("debug_token names no user")
	}
	var expiry time.Time
	if d.ExpiresAt != 0 {
		expiry = time.Unix(d.ExpiresAt, 0)
		if !c.now().Before(expiry) {
			return Profile{}, time.Time{}, invalid("expired")
		}
	}

	proof := appSecretProof(c.cfg.AppSecret, token)
	var me meAnswer
	ans, err = c.getGraph(ctx, "me",
		url.Values{"fields": {meFields}, "access_token": {token}, "appsecret_proof": {proof}}, &me,
		token, proof, c.cfg.AppSecret)
	if err != nil {
		return Profile{}, time.Time{}, err
	}
	if ans.failed() {
		if ans.status >= 400 && ans.status < 500 && ans.status != http.StatusTooManyRequests &&
			(ans.err == nil || !ans.err.transient()) {
			return Profile{}, time.Time{}, invalid("/me refused the token: " + ans.describe())
		}
		return Profile{}, time.Time{}, unavailable("/me: "+ans.describe(), nil)
	}
	if me.ID == "" {
		return Profile{}, time.Time{}, unavailable("/me: answer without id", nil)
	}
	if me.ID != d.UserID {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "facebook /me and debug_token disagree on the user id",
			slog.String("debug_user_id", scrub(string(d.UserID), token)), slog.String("me_id", scrub(string(me.ID), token)))
		return Profile{}, time.Time{}, invalid("/me names another user than debug_token")
	}
	p := Profile{ID: string(me.ID), FirstName: me.FirstName, LastName: me.LastName, Email: me.Email}
	if me.Picture != nil && !me.Picture.Data.IsSilhouette {
		p.PictureURL = webURL(me.Picture.Data.URL)
	}
	return p, expiry, nil
}

// webURL returns s when it is an absolute http(s) URL, else "".
func webURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return s
}

// log records the outcome of one Graph round trip.
func (c *Client) log(ctx context.Context, key string, err error) {
	id := slog.String("token_id", key[len(key)-12:])
	switch {
	case err == nil:
		c.logger.LogAttrs(ctx, slog.LevelDebug, "facebook access token verified", id)
	case errors.Is(err, ErrInvalidToken):
		c.logger.LogAttrs(ctx, slog.LevelInfo, "facebook access token refused", id, slog.String("reason", err.Error()))
	default:
		c.logger.LogAttrs(ctx, slog.LevelWarn, "facebook could not verify an access token", id, slog.String("error", err.Error()))
	}
}

// cacheKey is "fb:at:" + hex(SHA-256(app id, NUL, token)): one app's
// answers never serve another's, and the token is not recoverable.
func (c *Client) cacheKey(token string) string {
	h := sha256.New()
	h.Write([]byte(c.cfg.AppID))
	h.Write([]byte{0})
	h.Write([]byte(token))
	return "fb:at:" + hex.EncodeToString(h.Sum(nil))
}
