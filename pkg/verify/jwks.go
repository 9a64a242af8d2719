package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Freshness of the key set when the JWKS response does not say (no
// Cache-Control max-age), and the bounds put on what it says.
const (
	defaultKeysFresh = 5 * time.Minute
	minKeysFresh     = 10 * time.Second
	maxKeysFresh     = 24 * time.Hour
	// keysRetry is the wait before fetching again after a failed fetch.
	keysRetry = 10 * time.Second
	// minRSABits is the smallest RSA key accepted.
	minRSABits = 2048
)

// supportedAlgs are the algorithms a key of the set may have: authd signs
// with one of them. Never none, never HMAC.
var supportedAlgs = map[jose.SignatureAlgorithm]bool{jose.ES256: true, jose.RS256: true, jose.EdDSA: true}

// publicKey is a usable key of the set.
type publicKey struct {
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
}

// keySet is an immutable snapshot of the issuer's signing keys.
type keySet struct {
	keys       map[string]publicKey
	algs       []jose.SignatureAlgorithm // of keys: what a token header may name
	fetchedAt  time.Time                 // last 200 or 304
	freshUntil time.Time
}

func (ks *keySet) has(kid string) bool {
	_, ok := ks.keys[kid]
	return ok
}

// keyCache holds the issuer's JWKS: fetched with If-None-Match, fresh for
// the response's max-age, refreshed in the background once stale (the
// stale set serves meanwhile, and keeps serving while the issuer is
// down), and fetched at once, at a bounded rate, for a kid it does not
// hold.
type keyCache struct {
	url        string
	hc         *http.Client
	now        func() time.Time
	log        *slog.Logger
	deadline   time.Duration
	kidRefetch time.Duration

	set        atomic.Pointer[keySet]
	retryAt    atomic.Int64 // Unix nanoseconds: no background fetch before
	refreshing atomic.Bool

	mu           sync.Mutex // one fetch at a time; guards etag, lastKidFetch
	etag         string
	lastKidFetch time.Time

	life   context.Context
	bgMu   sync.Mutex
	closed bool
	bg     sync.WaitGroup
}

// load fetches the set; the first load must succeed.
func (k *keyCache) load(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetchLocked(ctx)
}

// current returns the set to verify with, starting a background refresh
// when it is stale.
func (k *keyCache) current(now time.Time) *keySet {
	ks := k.set.Load()
	if now.After(ks.freshUntil) && now.UnixNano() >= k.retryAt.Load() && k.refreshing.CompareAndSwap(false, true) {
		k.refreshInBackground()
	}
	return ks
}

func (k *keyCache) refreshInBackground() {
	k.bgMu.Lock()
	defer k.bgMu.Unlock()
	if k.closed {
		k.refreshing.Store(false)
		return
	}
	k.bg.Add(1)
	go func() {
		defer k.bg.Done()
		defer k.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(k.life, k.deadline)
		defer cancel()
		k.mu.Lock()
		defer k.mu.Unlock()
		if !k.now().After(k.set.Load().freshUntil) {
			return // refreshed for an unknown kid meanwhile
		}
		if err := k.fetchLocked(ctx); err != nil && k.life.Err() == nil {
			k.log.Warn("verify: cannot refresh the JWKS; verifying with the last set fetched",
				"url", k.url, "fetched_at", k.set.Load().fetchedAt, "err", err)
		}
	}()
}

// close waits for a background refresh; none starts after it.
func (k *keyCache) close() {
	k.bgMu.Lock()
	k.closed = true
	k.bgMu.Unlock()
	k.bg.Wait()
}

// forKid is called with the set seen holding no key kid (or no key of
// the token's alg): it fetches the JWKS at once, at most once per
// kidRefetch (concurrent callers wait for the one fetch), and returns the
// set to retry with, or nil when there is nothing new to try.
func (k *keyCache) forKid(ctx context.Context, seen *keySet) *keySet {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cur := k.set.Load(); cur != seen {
		return cur // fetched while we waited
	}
	now := k.now()
	if !k.lastKidFetch.IsZero() && now.Sub(k.lastKidFetch) < k.kidRefetch {
		return nil
	}
	k.lastKidFetch = now
	ctx, cancel := context.WithTimeout(ctx, k.deadline)
	defer cancel()
	if err := k.fetchLocked(ctx); err != nil {
		k.log.Warn("verify: cannot fetch the JWKS for an unknown kid", "url", k.url, "err", err)
		return nil
	}
	return k.set.Load()
}

// fetchLocked GETs the JWKS (conditionally once a set is held) and
// installs what it answers. On any failure the set held stays.
func (k *keyCache) fetchLocked(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	old := k.set.Load()
	if old != nil && k.etag != "" {
		req.Header.Set("If-None-Match", k.etag)
	}
	resp, err := k.hc.Do(req)
	if err != nil {
		k.failed()
		return err
	}
	defer resp.Body.Close()
	now := k.now()
	fresh := now.Add(freshness(resp.Header.Get("Cache-Control")))
	switch {
	case resp.StatusCode == http.StatusNotModified && old != nil:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocument))
		k.set.Store(&keySet{keys: old.keys, algs: old.algs, fetchedAt: now, freshUntil: fresh})
		return nil
	case resp.StatusCode != http.StatusOK:
		k.failed()
		return fmt.Errorf("GET %s: %s", k.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	if err != nil {
		k.failed()
		return err
	}
	ks, err := k.parse(body)
	if err != nil {
		k.failed()
		return err
	}
	ks.fetchedAt, ks.freshUntil = now, fresh
	k.etag = resp.Header.Get("ETag")
	k.set.Store(ks)
	return nil
}

func (k *keyCache) failed() {
	k.retryAt.Store(k.now().Add(keysRetry).UnixNano())
}

// parse reads a JWK Set (RFC 7517 §5), keeping the public signing keys
// of a supported algorithm that matches their type; others are skipped.
// A set with no usable key is an error (the held set stays).
func (k *keyCache) parse(body []byte) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	ks := &keySet{keys: make(map[string]publicKey, len(doc.Keys))}
	for _, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			k.log.Debug("verify: JWKS: skipping a key", "err", err)
			continue
		}
		pk, err := usable(&jwk)
		if err != nil {
			k.log.Debug("verify: JWKS: skipping a key", "kid", jwk.KeyID, "err", err)
			continue
		}
		if _, dup := ks.keys[jwk.KeyID]; dup {
			k.log.Warn("verify: JWKS: two keys have one kid; keeping the first", "kid", jwk.KeyID)
			continue
		}
		ks.keys[jwk.KeyID] = pk
		if !containsAlg(ks.algs, pk.alg) {
			ks.algs = append(ks.algs, pk.alg)
		}
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("JWKS holds no usable signing key")
	}
	return ks, nil
}

// usable checks that jwk is a public signing key with a kid and an alg
// this package accepts, of the type its alg needs.
func usable(jwk *jose.JSONWebKey) (publicKey, error) {
	alg := jose.SignatureAlgorithm(jwk.Algorithm)
	switch {
	case jwk.KeyID == "":
		return publicKey{}, errors.New("no kid")
	case jwk.Use != "" && jwk.Use != "sig":
		return publicKey{}, fmt.Errorf("use %q", jwk.Use)
	case !supportedAlgs[alg]:
		return publicKey{}, fmt.Errorf("alg %q not accepted", jwk.Algorithm)
	case !jwk.IsPublic():
		return publicKey{}, errors.New("not a public key")
	}
	ok := false
	switch key := jwk.Key.(type) {
	case *ecdsa.PublicKey:
		ok = alg == jose.ES256 && key.Curve == elliptic.P256()
	case *rsa.PublicKey:
		ok = alg == jose.RS256 && key.N.BitLen() >= minRSABits
	case ed25519.PublicKey:
		ok = alg == jose.EdDSA
	}
	if !ok {
		return publicKey{}, fmt.Errorf("a %T is not a key for %s", jwk.Key, alg)
	}
	return publicKey{alg: alg, key: jwk.Key}, nil
}

func containsAlg(l []jose.SignatureAlgorithm, a jose.SignatureAlgorithm) bool {
	for _, x := range l {
		if x == a {
			return true
		}
	}
	return false
}

// freshness reads max-age from a Cache-Control header: how long the set
// may be used before it is fetched again, within [10s, 24h]; no-cache or
// no-store count as 0, and no max-age as 5 minutes.
func freshness(cc string) time.Duration {
	d := defaultKeysFresh
	for _, dir := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
		switch strings.ToLower(name) {
		case "no-cache", "no-store":
			return minKeysFresh
		case "max-age":
			if n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64); err == nil && n >= 0 {
				d = time.Duration(min(n, int64(maxKeysFresh/time.Second))) * time.Second
			}
		}
	}
	return min(max(d, minKeysFresh), maxKeysFresh)
}
