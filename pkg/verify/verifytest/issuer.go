package verifytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Default credentials of the revocation feed's client (SetFeedClient
// changes them).
const (
	FeedClientID     = "verifier"
	FeedClientSecret = "verifier-secret"
)

// Issuer is a fake authd. Its methods are safe for concurrent use.
type Issuer struct {
	srv *httptest.Server

	mu              sync.Mutex
	now             func() time.Time
	keys            []*Key
	active          *Key
	cacheControl    string
	jwksDown        bool
	jwksRequests    int
	jwksNotModified int
	advertiseFeed   bool
	feedID          string
	feedSecret      string
	log             []entry
	changed         chan struct{} // closed when an entry is appended
	drop            chan struct{} // closed to end the open streams
	keepalive       chan struct{} // closed to send a keepalive on the open streams
	conns           []string      // Last-Event-ID of each feed connection
	closed          bool          // drop stays closed: every stream ends at once
}

// entry is one revocation as authd's feed sends it.
type entry struct {
	Seq   int64  `json:"seq"`
	Kind  string `json:"kind"`
	Key   string `json:"key"`
	At    int64  `json:"at"`
	Until int64  `json:"until"`
}

// NewIssuer starts a fake authd with one published ES256 key, which
// signs its tokens. Close it when done.
func NewIssuer() *Issuer {
	i := &Issuer{
		now: time.Now, cacheControl: "public, max-age=300", advertiseFeed: true,
		feedID: FeedClientID, feedSecret: FeedClientSecret,
		changed: make(chan struct{}), drop: make(chan struct{}), keepalive: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", i.discovery)
	mux.HandleFunc("GET /.well-known/jwks.json", i.jwks)
	mux.HandleFunc("GET /oauth2/revocations", i.feed)
	i.srv = httptest.NewServer(mux)
	i.active = i.AddKey("ES256", true)
	return i
}

// URL is the issuer (the iss of its tokens and the base of discovery).
func (i *Issuer) URL() string { return i.srv.URL }

// Client is an HTTP client for the issuer's server.
func (i *Issuer) Client() *http.Client { return i.srv.Client() }

// Close ends the open feed streams and stops the server.
func (i *Issuer) Close() {
	i.mu.Lock()
	if !i.closed {
		i.closed = true
		close(i.drop)
	}
	i.mu.Unlock()
	i.srv.Close()
}

// SetClock sets the clock of Claims (iat, exp) and of the feed (which
// entries are in force); default time.Now.
func (i *Issuer) SetClock(now func() time.Time) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.now = now
}

func (i *Issuer) clock() time.Time {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.now()
}

// Claims returns the claims of a valid access token for a user, issued
// now for five minutes, with a fresh jti: change or delete members to
// make other tokens.
func (i *Issuer) Claims() map[string]any {
	now := i.clock()
	return map[string]any{
		"iss": i.URL(), "aud": i.URL(), "sub": "user-1", "kind": "user",
		"org": "org-1", "mode": "live", "scope": "profile",
		"client_id": "backoffice", "sid": "family-1", "jti": randomID(),
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// Token signs claims with the active key as an RFC 9068 access token
// (typ at+jwt).
func (i *Issuer) Token(claims map[string]any) string {
	i.mu.Lock()
	k := i.active
	i.mu.Unlock()
	return k.Sign(nil, claims)
}

// Key is a signing key of the issuer.
type Key struct {
	KID    string
	Alg    string // ES256, RS256 or EdDSA
	signer crypto.Signer

	published bool // guarded by the issuer's mu
}

// Public is the public key.
func (k *Key) Public() crypto.PublicKey { return k.signer.Public() }

// JWK is the public JWK as the JWKS publishes it (kid, alg, use sig).
func (k *Key) JWK() []byte {
	b, err := jose.JSONWebKey{Key: k.Public(), KeyID: k.KID, Algorithm: k.Alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		panic(err)
	}
	return b
}

// Sign returns a compact JWS of claims signed by k with the protected
// header {alg, kid, typ: at+jwt}. header changes it: "kid" names another
// kid ("" for none), "typ" another type (nil for none); other members are
// added.
func (k *Key) Sign(header map[string]any, claims map[string]any) string {
	kid, typ := k.KID, any("at+jwt")
	opts := &jose.SignerOptions{}
	for name, v := range header {
		switch name {
		case "kid":
			kid, _ = v.(string)
		case "typ":
			typ = v
		default:
			opts.WithHeader(jose.HeaderKey(name), v)
		}
	}
	if typ != nil {
		opts.WithHeader(jose.HeaderType, typ)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Alg),
		Key: jose.JSONWebKey{Key: k.signer, KeyID: kid, Algorithm: k.Alg}}, opts)
	if err != nil {
		panic(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		panic(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return out
}

// AddKey generates a key (ES256, RS256 or EdDSA), published in the JWKS
// or not. It does not become the active key (SetActive).
func (i *Issuer) AddKey(alg string, publish bool) *Key {
	var s crypto.Signer
	var err error
	switch alg {
	case "ES256":
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		s, err = rsa.GenerateKey(rand.Reader, 2048)
	case "EdDSA":
		_, s, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("verifytest: unsupported algorithm %q", alg)
	}
	if err != nil {
		panic(err)
	}
	k := &Key{KID: alg + "-" + randomID()[:8], Alg: alg, signer: s, published: publish}
	i.mu.Lock()
	i.keys = append(i.keys, k)
	i.mu.Unlock()
	return k
}

// Active is the key Token signs with.
func (i *Issuer) Active() *Key {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.active
}

// SetActive makes k the key Token signs with.
func (i *Issuer) SetActive(k *Key) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.active = k
}

// Publish puts k in the JWKS, or takes it out.
func (i *Issuer) Publish(k *Key, published bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	k.published = published
}

// SetJWKSCacheControl sets the JWKS's Cache-Control header (default
// "public, max-age=300").
func (i *Issuer) SetJWKSCacheControl(v string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.cacheControl = v
}

// SetJWKSDown makes the JWKS answer 503 (or serve again).
func (i *Issuer) SetJWKSDown(down bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.jwksDown = down
}

// JWKSRequests reports how many JWKS requests were served, and how many
// of them were answered 304 Not Modified.
func (i *Issuer) JWKSRequests() (total, notModified int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.jwksRequests, i.jwksNotModified
}

// SetFeedClient sets the credentials the feed accepts.
func (i *Issuer) SetFeedClient(id, secret string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.feedID, i.feedSecret = id, secret
}

// AdvertiseFeed chooses whether discovery names revocation_feed_endpoint
// (default true); the feed is served at /oauth2/revocations either way.
func (i *Issuer) AdvertiseFeed(yes bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.advertiseFeed = yes
}

// Revoke appends an entry to the revocation feed and returns its seq.
// kind is token (key: jti), family (sid), user (user id), contact
// (<org>/<mode>/<contact id>), client (client_id) or api_key; user,
// contact and client entries cover the tokens issued at or before at.
// The entry is in force until until.
func (i *Issuer) Revoke(kind, key string, at, until time.Time) int64 {
	i.mu.Lock()
	defer i.mu.Unlock()
	seq := int64(1)
	if n := len(i.log); n > 0 {
		seq = i.log[n-1].Seq + 1
	}
	i.log = append(i.log, entry{Seq: seq, Kind: kind, Key: key, At: at.Unix(), Until: until.Unix()})
	close(i.changed)
	i.changed = make(chan struct{})
	return seq
}

// DropFeed ends the open feed streams (the server side of a lost
// connection).
func (i *Issuer) DropFeed() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.closed {
		close(i.drop)
		i.drop = make(chan struct{})
	}
}

// Keepalive sends a keepalive comment on the open feed streams.
func (i *Issuer) Keepalive() {
	i.mu.Lock()
	defer i.mu.Unlock()
	close(i.keepalive)
	i.keepalive = make(chan struct{})
}

// FeedConnections returns the Last-Event-ID of each feed connection so
// far, in order ("" when absent).
func (i *Issuer) FeedConnections() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]string(nil), i.conns...)
}

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	iss := i.URL()
	m := map[string]any{
		"issuer":                 iss,
		"jwks_uri":               iss + "/.well-known/jwks.json",
		"token_endpoint":         iss + "/oauth2/token",
		"introspection_endpoint": iss + "/oauth2/introspect",
		"revocation_endpoint":    iss + "/oauth2/revoke",
	}
	i.mu.Lock()
	if i.advertiseFeed {
		m["revocation_feed_endpoint"] = iss + "/oauth2/revocations"
	}
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, m)
}

func (i *Issuer) jwks(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	i.jwksRequests++
	if i.jwksDown {
		i.mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var keys []json.RawMessage
	for _, k := range i.keys {
		if k.published {
			keys = append(keys, k.JWK())
		}
	}
	body, _ := json.Marshal(map[string]any{"keys": append([]json.RawMessage{}, keys...)})
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	h := w.Header()
	h.Set("Cache-Control", i.cacheControl)
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		i.jwksNotModified++
		i.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	i.mu.Unlock()
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// feed serves GET /oauth2/revocations as authd does: HTTP Basic client
// authentication; ?since= answers JSON; otherwise Server-Sent Events
// replaying the entries in force after Last-Event-ID, then ready, then
// new entries.
func (i *Issuer) feed(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	id, _ := url.QueryUnescape(user)
	secret, _ := url.QueryUnescape(pass)
	i.mu.Lock()
	wantID, wantSecret := i.feedID, i.feedSecret
	i.mu.Unlock()
	if !ok || id != wantID || secret != wantSecret {
		w.Header().Set("WWW-Authenticate", `Basic realm="authd"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client authentication failed."})
		return
	}
	cursor, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	if r.URL.Query().Has("since") {
		if err != nil || cursor < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		entries, at, _, _, _ := i.since(cursor)
		writeJSON(w, http.StatusOK, map[string]any{"revocations": entries, "cursor": at})
		return
	}
	last := r.Header.Get("Last-Event-ID")
	cursor = 0
	if last != "" {
		if cursor, err = strconv.ParseInt(last, 10, 64); err != nil || cursor < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
	}
	i.mu.Lock()
	i.conns = append(i.conns, last)
	i.mu.Unlock()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	ready := false
	for {
		entries, at, changed, drop, keepalive := i.since(cursor)
		for _, e := range entries {
			b, _ := json.Marshal(e)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: revocation\ndata: %s\n\n", e.Seq, b); err != nil {
				return
			}
		}
		cursor = max(cursor, at)
		if !ready {
			if _, err := fmt.Fprintf(w, "event: ready\ndata: {\"cursor\":%d}\n\n", cursor); err != nil {
				return
			}
			ready = true
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-drop:
			return
		case <-changed:
		case <-keepalive:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// since returns the entries in force after cursor, the last seq, and the
// channels to wait on.
func (i *Issuer) since(cursor int64) (out []entry, at int64, changed, drop, keepalive <-chan struct{}) {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := i.now().Unix()
	at = cursor
	for _, e := range i.log {
		at = max(at, e.Seq)
		if e.Seq > cursor && e.Until >= now {
			out = append(out, e)
		}
	}
	if out == nil {
		out = []entry{}
	}
	return out, at, i.changed, i.drop, i.keepalive
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.TrimRight(base64.RawURLEncoding.EncodeToString(b[:]), "=")
}
