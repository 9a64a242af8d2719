package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxTokenLen bounds what Verify parses.
const maxTokenLen = 16 << 10

// Verifier verifies authd access tokens in process. It is safe for
// concurrent use; make one per issuer and audience and share it.
type Verifier struct {
	issuer   string
	audience string
	meta     Metadata
	leeway   time.Duration
	now      func() time.Time
	keys     *keyCache
	cache    *tokenCache  // nil: off
	revs     *revocations // nil: no feed
	feed     *feed

	stop      context.CancelFunc
	done      chan struct{} // closed when the feed goroutine has returned
	closeOnce sync.Once
}

// New discovers issuer (GET <issuer>/.well-known/openid-configuration)
// and fetches its JWKS. With WithRevocationFeed it also connects to the
// revocation feed and returns once it has caught up, so no revoked token
// is accepted from the start; it gives up when ctx ends, or at once when
// authd refuses the client (wrong credentials, no revocations:read).
// Give ctx a deadline. Call Close when done.
func New(ctx context.Context, issuer string, opts ...Option) (*Verifier, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if issuer == "" {
		return nil, errors.New("verify: no issuer")
	}
	if cfg.audience == "" {
		return nil, errors.New("verify: WithAudience is required (WithAudience(issuer) accepts authd's default audience)")
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	hc := cfg.client
	if hc == nil {
		hc = &http.Client{}
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.httpDeadline)
	meta, err := discover(dctx, hc, issuer)
	cancel()
	if err != nil {
		return nil, err
	}
	life, stop := context.WithCancel(context.Background())
	v := &Verifier{
		issuer: issuer, audience: cfg.audience, meta: meta,
		leeway: cfg.leeway, now: cfg.now,
		cache: newTokenCache(cfg.cacheSize),
		keys: &keyCache{
			url: meta.JWKSURI, hc: hc, now: cfg.now, log: cfg.logger,
			deadline: cfg.httpDeadline, kidRefetch: cfg.kidRefetch, life: life,
		},
		stop: stop,
		done: make(chan struct{}),
	}
	kctx, cancel := context.WithTimeout(ctx, cfg.httpDeadline)
	err = v.keys.load(kctx)
	cancel()
	if err != nil {
		stop()
		return nil, fmt.Errorf("verify: JWKS: %w", err)
	}
	if !cfg.feed {
		close(v.done)
		return v, nil
	}
	stream := *hc
	stream.Timeout = 0 // the stream outlives any request timeout
	v.revs = newRevocations()
	v.feed = &feed{
		url: meta.RevocationFeedEndpoint, hc: &stream, id: cfg.feedID, secret: cfg.feedSecret,
		revs: v.revs, now: cfg.now, log: cfg.logger,
		minBackoff: cfg.minBackoff, maxBackoff: cfg.maxBackoff, idle: cfg.feedIdle,
		deadline: cfg.httpDeadline, afterEvent: cfg.afterEvent,
	}
	started := make(chan error, 1)
	go func() {
		defer close(v.done)
		v.feed.run(life, started)
	}()
	select {
	case err := <-started:
		if err != nil {
			v.Close()
			return nil, fmt.Errorf("verify: revocation feed: %w", err)
		}
	case <-ctx.Done():
		v.Close()
		return nil, fmt.Errorf("verify: revocation feed: not caught up: %w", ctx.Err())
	}
	return v, nil
}

// Close stops following the revocation feed and any JWKS refresh under
// way. Verify keeps working with what the Verifier holds (and no longer
// learns of revocations).
func (v *Verifier) Close() {
	v.closeOnce.Do(func() {
		v.stop()
		<-v.done
		v.keys.close()
	})
}

// Metadata is the issuer's discovery document as read by New.
func (v *Verifier) Metadata() Metadata { return v.meta }

// Verify checks an access token and returns its claims; the claims are
// nil whenever the error is not. It checks, as RFC 9068 asks:
//
//   - a compact JWS with one signature, typ at+jwt (or application/at+jwt);
//   - signed by the key of the issuer's JWKS named by kid, with the alg of
//     that key (ES256, RS256 or EdDSA; never none or HMAC);
//   - iss is the issuer, aud contains the audience;
//   - exp and nbf with the leeway; sub, jti, kind, client_id and iat present;
//   - with WithRevocationFeed, not revoked.
//
// It answers from the verified-token cache when it can (no I/O then); a
// token signed by a kid it does not know makes it fetch the JWKS at once,
// at most every 10s.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	now := v.now()
	ks := v.keys.current(now)
	if v.cache == nil || len(raw) > maxTokenLen {
		c, _, err := v.verify(ctx, ks, raw, now)
		if err != nil {
			return nil, err
		}
		return &c, nil
	}
	sum := tokenSum(raw)
	if c, kid, expires, ok := v.cache.get(sum); ok {
		switch {
		case now.Unix() > expires:
			v.cache.remove(sum)
			return nil, fmt.Errorf("%w: at %s", ErrExpired, c.ExpiresAt.UTC().Format(time.RFC3339))
		case !ks.has(kid):
			v.cache.remove(sum) // its key left the JWKS: verify from scratch
		case v.revs != nil && v.revs.revoked(&c):
			v.cache.remove(sum)
			return nil, ErrRevoked
		default:
			return c.clone(), nil
		}
	}
	c, kid, err := v.verify(ctx, ks, raw, now)
	if err != nil {
		return nil, err
	}
	v.cache.add(sum, &c, kid, c.ExpiresAt.Add(v.leeway).Unix(), now.Unix())
	return &c, nil
}

// verify checks raw from scratch; it returns the claims and the kid that
// signed them.
func (v *Verifier) verify(ctx context.Context, ks *keySet, raw string, now time.Time) (Claims, string, error) {
	if len(raw) > maxTokenLen || strings.Count(raw, ".") != 2 {
		return Claims{}, "", fmt.Errorf("%w: not a compact JWS", ErrInvalid)
	}
	obj, key, kid, err := v.resolve(ks, raw)
	if errors.Is(err, errRetry) {
		if fresh := v.keys.forKid(ctx, ks); fresh != nil {
			obj, key, kid, err = v.resolve(fresh, raw)
		}
	}
	if err != nil {
		return Claims{}, "", err
	}
	payload, err := obj.Verify(key.key)
	if err != nil {
		return Claims{}, "", fmt.Errorf("%w: signature: %v", ErrInvalid, err)
	}
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return Claims{}, "", fmt.Errorf("%w: claims: %v", ErrInvalid, err)
	}
	c, err := w.check(v.issuer, v.audience, now, v.leeway)
	if err != nil {
		return Claims{}, "", err
	}
	if v.revs != nil && v.revs.revoked(&c) {
		return Claims{}, "", ErrRevoked
	}
	return c, kid, nil
}

// errRetry: the token names a kid (or a supported alg) the set does not
// hold; a fresh JWKS may.
var errRetry = fmt.Errorf("%w: unknown signing key", ErrInvalid)

// resolve parses raw and finds its key in ks: the header must be at+jwt,
// name a kid of ks and that key's alg.
func (v *Verifier) resolve(ks *keySet, raw string) (*jose.JSONWebSignature, publicKey, string, error) {
	obj, err := jose.ParseSignedCompact(raw, ks.algs)
	if err != nil {
		var ua *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &ua) && supportedAlgs[ua.Got] {
			return nil, publicKey{}, "", errRetry
		}
		return nil, publicKey{}, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(obj.Signatures) != 1 {
		return nil, publicKey{}, "", fmt.Errorf("%w: not one signature", ErrInvalid)
	}
	h := obj.Signatures[0].Header
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, publicKey{}, "", fmt.Errorf("%w: typ %q is not at+jwt", ErrInvalid, typ)
	}
	for _, name := range []jose.HeaderKey{"crit", "b64"} {
		if _, ok := h.ExtraHeaders[name]; ok {
			return nil, publicKey{}, "", fmt.Errorf("%w: unexpected %q header", ErrInvalid, name)
		}
	}
	if h.KeyID == "" {
		return nil, publicKey{}, "", fmt.Errorf("%w: no kid", ErrInvalid)
	}
	key, ok := ks.keys[h.KeyID]
	if !ok {
		return nil, publicKey{}, "", errRetry
	}
	if h.Algorithm != string(key.alg) {
		return nil, publicKey{}, "", fmt.Errorf("%w: alg %q but key %q is %s", ErrInvalid, h.Algorithm, h.KeyID, key.alg)
	}
	return obj, key, h.KeyID, nil
}

// Status is how current a Verifier is, for a readiness probe.
type Status struct {
	// KeysFetchedAt is when the JWKS was last fetched (or confirmed
	// unchanged); Keys is how many usable keys it holds.
	KeysFetchedAt time.Time
	Keys          int
	// Feed: WithRevocationFeed was given. FeedCurrent: the feed is
	// connected and caught up. Cursor is the last entry applied;
	// Revocations the entries in force held.
	Feed        bool
	FeedCurrent bool
	Cursor      int64
	Revocations int
	// CachedTokens is the size of the verified-token cache.
	CachedTokens int
}

// Status reports the state of the key set, the feed and the cache.
func (v *Verifier) Status() Status {
	ks := v.keys.set.Load()
	st := Status{KeysFetchedAt: ks.fetchedAt, Keys: len(ks.keys)}
	if v.feed != nil {
		st.Feed, st.FeedCurrent, st.Cursor = true, v.feed.current.Load(), v.feed.cursor.Load()
		st.Revocations = v.revs.len()
	}
	if v.cache != nil {
		st.CachedTokens = v.cache.len()
	}
	return st
}
