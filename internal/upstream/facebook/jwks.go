package facebook

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// JWKS refresh policy. A kid the cached set does not know triggers a
// fetch, but fetches are at least jwksMinInterval apart (a flood of
// forged kids costs Facebook nothing), jwksRetryAfter after a failure.
// A set older than jwksMaxAge is refreshed in the background on its next
// use, which it still answers; if the refresh fails, the old keys keep
// serving (so a key Facebook retired verifies until a refresh lands).
const (
	jwksMinInterval = time.Minute
	jwksRetryAfter  = 10 * time.Second
	jwksMaxAge      = time.Hour
	minRSABits      = 2048
)

// keySet is the cached Limited Login JWKS: RS256 verification keys by kid.
type keySet struct {
	url string
	c   *Client

	mu       sync.Mutex
	keys     map[string]*rsa.PublicKey
	fetched  time.Time  // last successful fetch; zero: never
	next     time.Time  // no fetch starts before
	inflight *fetchCall // the fetch in progress, shared by every waiter
}

type fetchCall struct {
	done chan struct{}
	err  error
}

func newKeySet(url string, c *Client) *keySet {
	return &keySet{url: url, c: c}
}

// key returns the verification key for kid. A known kid is answered at
// once; when the set is old, a refresh starts in the background, so
// sign-ins never wait on Facebook's key endpoint (nor stall while it is
// down: the old keys keep serving). An unknown kid waits for a fetch, when
// the refresh policy allows one.
func (ks *keySet) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	ks.mu.Lock()
	k, ok := ks.keys[kid]
	if ok && ks.c.now().Sub(ks.fetched) >= jwksMaxAge {
		ks.start(ctx)
	}
	ks.mu.Unlock()
	if ok {
		return k, nil
	}
	attempted, err := ks.refresh(ctx)
	ks.mu.Lock()
	k, ok = ks.keys[kid]
	never := ks.fetched.IsZero()
	ks.mu.Unlock()
	switch {
	case ok:
		return k, nil
	case err != nil:
		return nil, err
	case never:
		return nil, unavailable("no Limited Login keys yet (the last fetch failed)", nil)
	case !attempted:
		return nil, invalid("unknown key id (keys fetched less than a minute ago)")
	default:
		return nil, invalid("unknown key id")
	}
}

// refresh fetches the set unless the policy says not yet; every caller
// arriving during a fetch waits for that one. attempted is false when no
// fetch was started or joined.
func (ks *keySet) refresh(ctx context.Context) (attempted bool, err error) {
	ks.mu.Lock()
	call := ks.start(ctx)
	ks.mu.Unlock()
	if call == nil {
		return false, nil
	}
	select {
	case <-call.done:
		return true, call.err
	case <-ctx.Done():
		return true, unavailable("waiting for the Limited Login keys", ctx.Err())
	}
}

// start returns the fetch in progress, or starts one when the policy
// allows; nil when neither. ks.mu must be held.
func (ks *keySet) start(ctx context.Context) *fetchCall {
	if ks.inflight != nil {
		return ks.inflight
	}
	if ks.c.now().Before(ks.next) {
		return nil
	}
	call := &fetchCall{done: make(chan struct{})}
	ks.inflight = call
	go ks.fetch(context.WithoutCancel(ctx), call)
	return call
}

func (ks *keySet) fetch(ctx context.Context, call *fetchCall) {
	ctx, cancel := context.WithTimeout(ctx, ks.c.cfg.Timeout)
	defer cancel()
	keys, err := ks.download(ctx)
	now := ks.c.now()
	ks.mu.Lock()
	if err == nil {
		ks.keys, ks.fetched, ks.next = keys, now, now.Add(jwksMinInterval)
	} else {
		ks.next = now.Add(jwksRetryAfter)
	}
	ks.inflight = nil
	call.err = err
	ks.mu.Unlock()
	close(call.done)
	if err != nil {
		ks.c.logger.LogAttrs(ctx, slog.LevelWarn, "facebook limited login keys could not be fetched", slog.String("error", err.Error()))
	} else {
		ks.c.logger.LogAttrs(ctx, slog.LevelInfo, "facebook limited login keys fetched", slog.Int("keys", len(keys)))
	}
}

// download reads the JWKS and keeps the usable keys: RSA public keys of
// at least 2048 bits with a kid, for signing, RS256 or unspecified. A key
// go-jose cannot read is skipped, not fatal; a set without one usable key
// is an error (the cached set is kept).
func (ks *keySet) download(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, unavailable("jwks: building the request", safeCause(err))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ks.c.httpClient.Do(req)
	if err != nil {
		return nil, unavailable("jwks", safeCause(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, unavailable(fmt.Sprintf("jwks: HTTP %d", resp.StatusCode), nil)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, unavailable("jwks: reading the answer", safeCause(err))
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, unavailable("jwks: unparsable answer", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	for _, r := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(r, &k) != nil || k.KeyID == "" ||
			(k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != string(jose.RS256)) {
			continue
		}
		pub, ok := k.Key.(*rsa.PublicKey)
		if !ok || pub.N.BitLen() < minRSABits {
			continue
		}
		keys[k.KeyID] = pub
	}
	if len(keys) == 0 {
		return nil, unavailable("jwks", errors.New("no usable RS256 key"))
	}
	return keys, nil
}
