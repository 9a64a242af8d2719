package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Verification errors; Verify wraps them with detail, test with errors.Is.
var (
	// ErrMalformed: the token is not a compact JWS authd could have issued.
	ErrMalformed = errors.New("keys: malformed token")
	// ErrUnknownKey: no published key has the token's kid (it never
	// existed, or it has expired).
	ErrUnknownKey = errors.New("keys: unknown signing key")
	// ErrInvalidSignature: the algorithm is not the key's, or the signature
	// does not verify.
	ErrInvalidSignature = errors.New("keys: invalid signature")
)

const (
	// maxTokenLen bounds what Verify parses.
	maxTokenLen = 16 << 10
	// demandReloadEvery rate-limits the reloads an unknown kid triggers.
	demandReloadEvery = 5 * time.Second
	// demandReloadTimeout bounds such a reload.
	demandReloadTimeout = 5 * time.Second
)

// Header is the verified token's JOSE header.
type Header struct {
	KID       string
	Algorithm string
	Type      string // "typ", e.g. "at+jwt"; empty when absent
}

// Sign returns a compact JWS over claims with the protected header
// {alg, kid, typ}, signed by the key active now. typ (e.g. "at+jwt", RFC
// 9068 §2.1) is omitted when empty.
func (m *Manager) Sign(claims []byte, typ string) (string, error) {
	ks := m.set.Load()
	if ks == nil {
		return "", ErrNotReady
	}
	a := ks.active(m.now())
	if a == nil {
		return "", ErrNotReady
	}
	s, err := a.signer(typ)
	if err != nil {
		return "", err
	}
	obj, err := s.Sign(claims)
	if err != nil {
		return "", fmt.Errorf("keys: sign: %w", err)
	}
	return obj.CompactSerialize()
}

// Current returns the active key as a raw private key (*ecdsa.PrivateKey,
// *rsa.PrivateKey or ed25519.PrivateKey) with its kid and alg, for signers
// that cannot take go-jose v4 keys (fosite uses go-jose v3). Ask again for
// every token: the active key changes with time.
func (m *Manager) Current() (kid, alg string, key crypto.Signer, err error) {
	ks := m.set.Load()
	if ks == nil {
		return "", "", nil, ErrNotReady
	}
	a := ks.active(m.now())
	if a == nil || a.private == nil {
		return "", "", nil, ErrNotReady
	}
	return a.kid, string(a.alg), a.private, nil
}

// Verify checks a compact JWS against the published keys (active, NEXT and
// retired, not expired) and returns its payload and header. Only the
// algorithms of held keys are parsed (never "none" or HMAC), the key is
// chosen by kid, and the header's alg must be that key's. An unknown kid
// triggers one reload of the table, at most every 5 s across all callers.
// Claims (exp, iss, aud...) are not checked here.
func (m *Manager) Verify(token string) (payload []byte, header Header, err error) {
	if len(token) > maxTokenLen {
		return nil, Header{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxTokenLen)
	}
	ks := m.set.Load()
	if ks == nil {
		return nil, Header{}, ErrNotReady
	}
	if !canonicalCompact(token) {
		return nil, Header{}, fmt.Errorf("%w: not three canonical base64url segments", ErrMalformed)
	}
	obj, e, h, retry, err := ks.resolve(token, m.now())
	if retry {
		if fresh := m.reloadOnDemand(ks); fresh != nil {
			obj, e, h, _, err = fresh.resolve(token, m.now())
		}
	}
	if err != nil {
		return nil, h, err
	}
	if h.Algorithm != string(e.alg) {
		return nil, h, fmt.Errorf("%w: alg %q but key %s is %s", ErrInvalidSignature, h.Algorithm, e.kid, e.alg)
	}
	payload, err = obj.Verify(e.public)
	if err != nil {
		return nil, h, ErrInvalidSignature
	}
	return payload, h, nil
}

// Accepts reports whether a token signed by kid would still verify at t:
// the key is loaded and has not expired. It reads the loaded set only
// (token's verified-token cache asks it on every hit).
func (m *Manager) Accepts(kid string, t time.Time) bool {
	ks := m.set.Load()
	if ks == nil {
		return false
	}
	e := ks.lookup(kid)
	return e != nil && !e.expired(t)
}

// canonicalCompact reports whether token is three unpadded base64url
// segments (RFC 7515 §3.1, §2) each spelled the one way its bytes encode.
// The decoder go-jose uses skips CR and LF and ignores the unused low bits
// of a segment's last character, and the signature covers the decoded
// bytes: without this check one signed token verifies under many
// spellings, so a token string can never be told by its bytes.
func canonicalCompact(token string) bool {
	segs, start := 0, 0
	for i := 0; i <= len(token); i++ {
		if i < len(token) && token[i] != '.' {
			if b64Value[token[i]] < 0 {
				return false
			}
			continue
		}
		seg := token[start:i]
		switch len(seg) % 4 {
		case 1: // 6 bits: not a whole byte
			return false
		case 2: // 12 bits: one byte, 4 unused
			if b64Value[seg[len(seg)-1]]&0x0f != 0 {
				return false
			}
		case 3: // 18 bits: two bytes, 2 unused
			if b64Value[seg[len(seg)-1]]&0x03 != 0 {
				return false
			}
		}
		segs++
		start = i + 1
	}
	return segs == 3
}

// b64Value maps the characters of the base64url alphabet to their values
// and every other byte to -1.
var b64Value = func() (t [256]int8) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range t {
		t[i] = -1
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// resolve parses token and finds its key among the keys of ks published at
// t. retry reports a failure a newer snapshot could cure: an unknown kid, or
// an algorithm authd uses but ks holds no key for.
func (ks *keySet) resolve(token string, t time.Time) (obj *jose.JSONWebSignature, e *entry, h Header, retry bool, err error) {
	if len(ks.algs) == 0 {
		return nil, nil, h, true, ErrUnknownKey
	}
	obj, err = jose.ParseSignedCompact(token, ks.algs)
	if err != nil {
		var ua *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &ua) {
			return nil, nil, h, knownAlgorithm(string(ua.Got)),
				fmt.Errorf("%w: algorithm %q not accepted", ErrInvalidSignature, ua.Got)
		}
		return nil, nil, h, false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(obj.Signatures) != 1 {
		return nil, nil, h, false, fmt.Errorf("%w: expected one signature", ErrMalformed)
	}
	jh := obj.Signatures[0].Header
	h = Header{KID: jh.KeyID, Algorithm: jh.Algorithm}
	if typ, ok := jh.ExtraHeaders[jose.HeaderType]; ok {
		s, isString := typ.(string)
		if !isString {
			return nil, nil, h, false, fmt.Errorf("%w: typ is not a string", ErrMalformed)
		}
		h.Type = s
	}
	// authd never signs with crit or b64 (RFC 7797 unencoded payloads).
	for _, name := range []jose.HeaderKey{"crit", "b64"} {
		if _, ok := jh.ExtraHeaders[name]; ok {
			return nil, nil, h, false, fmt.Errorf("%w: unexpected %q header", ErrMalformed, name)
		}
	}
	if h.KID == "" {
		return nil, nil, h, false, fmt.Errorf("%w: no kid", ErrUnknownKey)
	}
	e = ks.lookup(h.KID)
	switch {
	case e == nil && ks.knownExpired(h.KID), e != nil && e.expired(t):
		return nil, nil, h, false, fmt.Errorf("%w: key %s has expired", ErrUnknownKey, h.KID)
	case e == nil:
		return nil, nil, h, true, fmt.Errorf("%w: kid %q", ErrUnknownKey, h.KID)
	}
	return obj, e, h, false, nil
}

// reloadOnDemand reloads the table for a token whose kid seen does not know,
// at most once per demandReloadEvery; concurrent callers wait for the one
// reload. It returns the snapshot to retry with, or nil.
func (m *Manager) reloadOnDemand(seen *keySet) *keySet {
	m.demandMu.Lock()
	defer m.demandMu.Unlock()
	if cur := m.set.Load(); cur.gen != seen.gen {
		return cur // reloaded while we waited
	}
	now := m.now()
	if !m.lastDemand.IsZero() && now.Sub(m.lastDemand) < demandReloadEvery {
		return nil
	}
	m.lastDemand = now
	ctx, cancel := context.WithTimeout(context.Background(), demandReloadTimeout)
	defer cancel()
	if err := m.reload(ctx); err != nil {
		m.log.Warn("keys: reload for an unknown kid", "err", err)
		return nil
	}
	return m.set.Load()
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5) of the published keys and
// its strong ETag. The body is encoded once per change of the set and the
// same slice is returned until then: callers must not modify it.
func (m *Manager) JWKS() (body []byte, etag string) {
	ks := m.set.Load()
	if ks == nil {
		body = []byte(`{"keys":[]}`)
		return body, etagOf(body)
	}
	if !ks.jwksUntil.IsZero() {
		if now := m.now(); !now.Before(ks.jwksUntil) {
			fresh := ks.withFreshJWKS(now)
			if !m.set.CompareAndSwap(ks, fresh) {
				fresh = m.set.Load() // a reload won: it is at least as fresh
			}
			ks = fresh
		}
	}
	return ks.jwks, ks.etag
}
