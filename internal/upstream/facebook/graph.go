package facebook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// graphError is Graph's error object ({"error": {...}}), as documented in
// "Handling Errors" of the Graph API guide.
type graphError struct {
	Message     string `json:"message"`
	Type        string `json:"type"`
	Code        int    `json:"code"`
	Subcode     int    `json:"error_subcode"`
	IsTransient bool   `json:"is_transient"`
	FBTraceID   string `json:"fbtrace_id"`
}

// transient reports whether the error says "try later" rather than
// anything about the token: unknown/service errors and the rate limits.
func (e *graphError) transient() bool {
	switch {
	case e.IsTransient:
		return true
	case e.Code == 1, e.Code == 2, // API unknown, API service
		e.Code == 4, e.Code == 17, e.Code == 32, e.Code == 341, e.Code == 613, // throttling
		e.Code >= 80000 && e.Code < 80100: // business use case rate limits
		return true
	}
	return false
}

// graphID accepts an id sent as a JSON string or number (Graph has used
// both for app_id and user_id).
type graphID string

func (id *graphID) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = graphID(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*id = graphID(n.String())
	}
	return nil
}

// graphAnswer is one Graph response: its status and, for a non-2xx
// answer or a 2xx one carrying "error", Graph's error object (nil when the
// body was not Graph's error JSON).
type graphAnswer struct {
	status int
	err    *graphError
}

// failed reports whether Graph answered with an error.
func (a graphAnswer) failed() bool { return a.status != http.StatusOK || a.err != nil }

// describe is "HTTP 400, code 190, subcode 463": numbers only, safe to
// put in errors and logs.
func (a graphAnswer) describe() string {
	s := fmt.Sprintf("HTTP %d", a.status)
	if a.err != nil {
		s += fmt.Sprintf(", code %d", a.err.Code)
		if a.err.Subcode != 0 {
			s += fmt.Sprintf(", subcode %d", a.err.Subcode)
		}
	}
	return s
}

// logAttrs describes Graph's error for a log line; secrets are removed
// from Graph's message.
func (a graphAnswer) logAttrs(secrets ...string) []slog.Attr {
	attrs := []slog.Attr{slog.Int("http_status", a.status)}
	if e := a.err; e != nil {
		attrs = append(attrs,
			slog.Int("graph_code", e.Code),
			slog.Int("graph_subcode", e.Subcode),
			slog.String("graph_type", scrub(e.Type, secrets...)),
			slog.String("graph_message", scrub(e.Message, secrets...)),
			slog.String("fbtrace_id", scrub(e.FBTraceID, secrets...)))
	}
	return attrs
}

// getGraph calls GET {graph}/{path}?{query} and decodes a 200 JSON body
// into out. A transport failure, a timeout or an unparsable 200 body is an
// ErrUnavailable error; any other answer (including Graph's errors) is
// returned for the caller to judge. secrets are the credentials in query:
// no error returned mentions them.
func (c *Client) getGraph(ctx context.Context, path string, query url.Values, out any, secrets ...string) (graphAnswer, error) {
	u := c.graph.JoinPath(path)
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return graphAnswer{}, unavailable(path+": building the request", safeCause(err, secrets...))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return graphAnswer{}, unavailable(path, safeCause(err, secrets...))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return graphAnswer{}, unavailable(path+": reading the answer", safeCause(err, secrets...))
	}
	ans := graphAnswer{status: resp.StatusCode}
	var env struct {
		Error *graphError `json:"error"`
	}
	if json.Unmarshal(raw, &env) == nil {
		ans.err = env.Error
	}
	if ans.failed() {
		return ans, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return ans, unavailable(path+": unparsable answer", safeCause(err, secrets...))
	}
	return ans, nil
}

// appSecretProof is hex(HMAC-SHA256(key = app secret, message = token)),
// the appsecret_proof Graph requires with user tokens when the app has
// "Require App Secret" on (Graph API, "Securing Requests").
func appSecretProof(appSecret, token string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// safeCause strips what an error from net/http may carry about the
// request: *url.Error embeds the whole URL, query (and so the tokens)
// included. If the remaining text still mentions a secret, only its
// class survives.
func safeCause(err error, secrets ...string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			return fmt.Errorf("%T (message withheld: it mentioned a credential)", err)
		}
	}
	return err
}

// longRun matches what could be a token or a fragment of one: 24 or more
// characters without a space or punctuation (Graph error messages hold
// ids of at most 20 digits).
var longRun = regexp.MustCompile(`[A-Za-z0-9_\-|]{24,}`)

// scrub makes a string from Facebook safe to log: secrets and anything
// token-shaped are replaced and the length is bounded. (Graph's "Malformed
// access token …" message, for one, quotes the token.)
func scrub(s string, secrets ...string) string {
	// Long runs first: a secret glued to other text is removed whole.
	s = longRun.ReplaceAllString(s, "[redacted]")
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// bounded cuts a string that is not secret but comes from outside (a kid)
// to a length fit for a log line.
func bounded(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
