package facebooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/upstream/facebook"
)

// Mode is how the fake Graph API answers every request.
type Mode int

const (
	// Up answers like Graph.
	Up Mode = iota
	// Down answers 500 with Graph's transient error JSON.
	Down
	// Hang answers nothing until the client gives up (or the test ends).
	Hang
	// Garbage answers 200 with an HTML page.
	Garbage
	// Throttled answers 403 with Graph's "(#4) Application request limit
	// reached".
	Throttled
)

// Server is a fake Graph API: debug_token and /me for the user tokens
// registered with AddUser, answering the way graph.facebook.com does
// (bodies, status codes, error codes and subcodes), including its checks
// of the app access token and of appsecret_proof ("Require App Secret"
// on). Safe for concurrent use.
type Server struct {
	appID, appSecret string
	srv              *httptest.Server
	release          chan struct{} // closed at cleanup: hanging requests return

	mu      sync.Mutex
	tokens  map[string]*tokenInfo
	calls   map[string]int
	mode    Mode
	delay   time.Duration
	version string
	now     func() time.Time
}

type tokenInfo struct {
	profile   facebook.Profile
	appID     string
	typ       string
	issuedAt  time.Time
	expiresAt time.Time // zero: never
	revoked   int       // error subcode when revoked, else 0
	meID      string
}

// TokenOption changes a token registered with AddUser.
type TokenOption func(*tokenInfo)

// ExpiresAt sets when the token expires; the zero time means never
// (debug_token answers expires_at 0). Default: two hours after AddUser.
func ExpiresAt(t time.Time) TokenOption { return func(ti *tokenInfo) { ti.expiresAt = t } }

// Expired makes a token that expired an hour ago: debug_token answers
// is_valid false with code 190 subcode 463, /me the same error.
func Expired() TokenOption {
	return func(ti *tokenInfo) {
		ti.expiresAt = ti.issuedAt.Add(-time.Hour)
		ti.issuedAt = ti.expiresAt.Add(-2 * time.Hour)
	}
}

// OtherApp makes the token one of another app: debug_token names that app
// (is_valid true, the check is the caller's); /me refuses our
// appsecret_proof, which is keyed by our secret.
func OtherApp(appID string) TokenOption { return func(ti *tokenInfo) { ti.appID = appID } }

// Revoked makes a token the person revoked by removing the app (subcode
// 458, "The user has not authorized application").
func Revoked() TokenOption { return RevokedWith(458) }

// RevokedWith makes a revoked token with the given Graph subcode (458 app
// removed, 459 checkpoint, 460 password changed, 464 unconfirmed user,
// 467 invalid token).
func RevokedWith(subcode int) TokenOption { return func(ti *tokenInfo) { ti.revoked = subcode } }

// Type sets the token type debug_token reports: "USER" (default), "PAGE"
// or "APP".
func Type(typ string) TokenOption { return func(ti *tokenInfo) { ti.typ = typ } }

// PageToken is Type("PAGE"): a page access token of the app.
func PageToken() TokenOption { return Type("PAGE") }

// AppToken is Type("APP"): debug_token names no user.
func AppToken() TokenOption { return Type("APP") }

// MeID makes /me answer another id than debug_token's user_id: an
// inconsistent Graph, for testing that the client compares them.
func MeID(id string) TokenOption { return func(ti *tokenInfo) { ti.meID = id } }

// NewServer starts a fake Graph API for the app appID/appSecret, closed
// when the test ends.
func NewServer(t testing.TB, appID, appSecret string) *Server {
	t.Helper()
	s := &Server{
		appID:     appID,
		appSecret: appSecret,
		release:   make(chan struct{}),
		tokens:    make(map[string]*tokenInfo),
		calls:     make(map[string]int),
		now:       time.Now,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.release)
		s.srv.Close()
	})
	return s
}

// URL is the Graph base URL (config graph_url).
func (s *Server) URL() string { return s.srv.URL }

// AddUser registers token as a valid user access token of the app for p
// (p.ID is the app-scoped user id; an empty p.Email means the email
// permission was not granted), changed by opts.
func (s *Server) AddUser(token string, p facebook.Profile, opts ...TokenOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ti := &tokenInfo{profile: p, appID: s.appID, typ: "USER", issuedAt: now, expiresAt: now.Add(2 * time.Hour)}
	for _, o := range opts {
		o(ti)
	}
	s.tokens[token] = ti
}

// Revoke revokes a registered token (subcode 458) from now on.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ti, ok := s.tokens[token]; ok {
		ti.revoked = 458
	}
}

// SetMode switches how every later request is answered.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// SetDelay delays every answer by d (to make concurrent calls overlap).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetVersion makes the fake require the API version prefix v ("v21.0"):
// other paths get Graph's "Unknown path components" error. By default any
// version, or none, is accepted.
func (s *Server) SetVersion(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
}

// SetNow sets the fake's clock, used for token expiry.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Calls is how many requests reached path ("/debug_token", "/me"; the
// version prefix is ignored, the leading slash optional), whatever the
// answer.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls["/"+strings.TrimPrefix(path, "/")]
}

// AppSecretProof is what the fake expects as appsecret_proof for token.
func (s *Server) AppSecretProof(token string) string { return proof(s.appSecret, token) }

func proof(secret, token string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

var versionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+(/|$)`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, version := r.URL.Path, ""
	if m := versionPrefix.FindString(path); m != "" {
		version = strings.Trim(m, "/")
		path = "/" + strings.TrimPrefix(path, m)
		path = "/" + strings.Trim(path, "/")
	}
	s.mu.Lock()
	s.calls[path]++
	mode, delay, want := s.mode, s.delay, s.version
	s.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		case <-s.release:
		}
	}
	switch mode {
	case Down:
		graphError(w, http.StatusInternalServerError, "An unexpected error has occurred. Please retry your request later.", "OAuthException", 2, 0, true)
		return
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
		return
	case Garbage:
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Sorry, something went wrong.</body></html>"))
		return
	case Throttled:
		graphError(w, http.StatusForbidden, "(#4) Application request limit reached", "OAuthException", 4, 0, true)
		return
	}
	if r.Method != http.MethodGet {
		graphError(w, http.StatusBadRequest, "Unsupported method", "GraphMethodException", 100, 0, false)
		return
	}
	if want != "" && version != want {
		graphError(w, http.StatusBadRequest, "Unknown path components: "+r.URL.Path, "OAuthException", 2500, 0, false)
		return
	}
	switch path {
	case "/debug_token":
		s.debugToken(w, r)
	case "/me":
		s.me(w, r)
	default:
		graphError(w, http.StatusBadRequest, "Unknown path components: "+path, "OAuthException", 2500, 0, false)
	}
}

func (s *Server) debugToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch at := q.Get("access_token"); {
	case at == "":
		graphError(w, http.StatusBadRequest, "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app", "OAuthException", 100, 0, false)
		return
	case !hmac.Equal([]byte(at), []byte(s.appID+"|"+s.appSecret)):
		graphError(w, http.StatusBadRequest, "Invalid OAuth access token signature.", "OAuthException", 190, 0, false)
		return
	}
	input := q.Get("input_token")
	if input == "" {
		graphError(w, http.StatusBadRequest, "(#100) The parameter input_token is required", "OAuthException", 100, 0, false)
		return
	}
	s.mu.Lock()
	ti, ok := s.tokens[input]
	var tc tokenInfo
	if ok {
		tc = *ti
	}
	now := s.now()
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
			"error":    map[string]any{"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"},
			"is_valid": false,
			"scopes":   []string{},
		}})
		return
	}
	data := map[string]any{
		"app_id":                 tc.appID,
		"type":                   tc.typ,
		"application":            "authd test app",
		"data_access_expires_at": now.Add(90 * 24 * time.Hour).Unix(),
		"expires_at":             unix(tc.expiresAt),
		"is_valid":               true,
		"issued_at":              tc.issuedAt.Unix(),
		"scopes":                 tc.scopes(),
	}
	switch tc.typ {
	case "USER":
		data["user_id"] = tc.profile.ID
	case "PAGE":
		data["profile_id"] = tc.profile.ID
		data["user_id"] = "9" + tc.profile.ID // the page admin
	}
	if e := tc.problem(now); e != nil {
		data["is_valid"] = false
		data["error"] = map[string]any{"code": e.code, "message": e.message, "subcode": e.subcode}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := q.Get("access_token")
	if token == "" {
		graphError(w, http.StatusBadRequest, "An active access token must be used to query information about the current user.", "OAuthException", 2500, 0, false)
		return
	}
	s.mu.Lock()
	ti, ok := s.tokens[token]
	var tc tokenInfo
	if ok {
		tc = *ti
	}
	now := s.now()
	s.mu.Unlock()
	if !ok {
		// Graph quotes a malformed token back: a client must not log this.
		graphError(w, http.StatusBadRequest, "Malformed access token "+token, "OAuthException", 190, 0, false)
		return
	}
	if e := tc.problem(now); e != nil {
		graphError(w, http.StatusBadRequest, e.message, "OAuthException", e.code, e.subcode, false)
		return
	}
	switch p := q.Get("appsecret_proof"); {
	case p == "":
		graphError(w, http.StatusBadRequest, "API calls from the server require an appsecret_proof argument", "GraphMethodException", 100, 0, false)
		return
	case tc.appID != s.appID || !hmac.Equal([]byte(p), []byte(proof(s.appSecret, token))):
		graphError(w, http.StatusBadRequest, "Invalid appsecret_proof provided in the API argument", "GraphMethodException", 100, 0, false)
		return
	}
	if tc.typ == "APP" {
		graphError(w, http.StatusBadRequest, "An active access token must be used to query information about the current user.", "OAuthException", 2500, 0, false)
		return
	}
	id := tc.profile.ID
	if tc.meID != "" {
		id = tc.meID
	}
	node := map[string]any{"id": id}
	fields := q.Get("fields")
	if fields == "" {
		fields = "id,name"
	}
	for _, f := range strings.Split(fields, ",") {
		name := f
		if i := strings.IndexAny(f, ".{("); i >= 0 {
			name = f[:i]
		}
		switch name {
		case "id":
		case "name":
			node["name"] = strings.TrimSpace(tc.profile.FirstName + " " + tc.profile.LastName)
		case "first_name":
			node["first_name"] = tc.profile.FirstName
		case "last_name":
			node["last_name"] = tc.profile.LastName
		case "email":
			if tc.profile.Email != "" {
				node["email"] = tc.profile.Email
			}
		case "picture":
			pic := map[string]any{"height": 200, "width": 200, "is_silhouette": tc.profile.PictureURL == ""}
			if tc.profile.PictureURL != "" {
				pic["url"] = tc.profile.PictureURL
			} else {
				pic["url"] = "https://static.xx.fbcdn.net/rsrc.php/silhouette.png"
			}
			node["picture"] = map[string]any{"data": pic}
		default:
			graphError(w, http.StatusBadRequest, fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (User)", name), "OAuthException", 100, 0, false)
			return
		}
	}
	writeJSON(w, http.StatusOK, node)
}

type tokenProblem struct {
	code, subcode int
	message       string
}

// problem is why Graph would refuse the token now, or nil.
func (ti tokenInfo) problem(now time.Time) *tokenProblem {
	switch {
	case ti.revoked != 0:
		return &tokenProblem{190, ti.revoked, "Error validating access token: The user has not authorized application " + ti.appID + "."}
	case !ti.expiresAt.IsZero() && !now.Before(ti.expiresAt):
		return &tokenProblem{190, 463, "Error validating access token: Session has expired on " +
			ti.expiresAt.UTC().Format("Monday, 02-Jan-06 15:04:05 MST") + "."}
	}
	return nil
}

func (ti tokenInfo) scopes() []string {
	if ti.profile.Email != "" {
		return []string{"email", "public_profile"}
	}
	return []string{"public_profile"}
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func graphError(w http.ResponseWriter, status int, message, typ string, code, subcode int, transient bool) {
	e := map[string]any{"message": message, "type": typ, "code": code, "fbtrace_id": "AbCdEfGhIj0"}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if transient {
		e["is_transient"] = true
	}
	if code == 190 {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token"`)
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
