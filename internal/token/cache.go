package token

import (
	"crypto/sha256"
	"sync"
)

// Defaults of the verified-token cache (tokens.verify_cache_size and
// tokens.verify_cache_bytes).
const (
	DefaultCacheEntries = 10000
	DefaultCacheBytes   = 8 << 20
)

// cacheShards splits the cache so parallel verifications rarely wait on
// one lock.
const cacheShards = 16

// entryOverhead approximates what an entry costs beyond its strings: the
// entry with its Claims, the map slot and the key.
const entryOverhead = 320

// verifiedCache remembers access tokens that passed every check of
// Verify: signature, typ, issuer, claims, time, revocation and the subject
// check. Only such tokens enter it, so tokens that fail (tampered, alg
// none, unknown kid, expired, garbage) can never evict one that verified.
//
// It is keyed by the SHA-256 of the token, never the token: a memory dump
// holds no usable credential, and a different token that hits an entry
// would be a SHA-256 collision. It holds the verified claims and the kid of
// the key that signed them. A hit skips only the signature and parsing:
// Verify still checks exp, that the key is still accepted, the revocation
// state and the subject on every call, so an entry never outlives the
// token's exp, its key, a revocation or its subject's rights.
//
// Bounded in entries and in bytes (the claims' strings plus a fixed
// overhead per entry), each shard its own LRU.
type verifiedCache struct {
	shards [cacheShards]cacheShard

	// Strings most entries share are kept once (interned): the issuer
	// and its one-member audience, kinds, modes, client ids and kids.
	issuer  string
	selfAud Audience
	mu      sync.Mutex
	common  map[string]string // client ids and kids; bounded by maxCommon
}

// maxCommon bounds the interned client ids and kids (there are few of
// each; past the bound strings are simply not shared).
const maxCommon = 1024

type cacheShard struct {
	mu         sync.Mutex
	m          map[[32]byte]*cacheEntry
	head       cacheEntry // sentinel: head.next is the most recently used
	bytes      int
	maxEntries int
	maxBytes   int
}

type cacheEntry struct {
	key        [32]byte
	claims     Claims
	kid        string
	size       int
	prev, next *cacheEntry
}

// newVerifiedCache returns a cache of at most entries tokens and about
// maxBytes bytes, or nil (no cache) when either is not positive.
func newVerifiedCache(entries int, maxBytes int64, issuer string) *verifiedCache {
	if entries <= 0 || maxBytes <= 0 {
		return nil
	}
	vc := &verifiedCache{issuer: issuer, selfAud: Audience{issuer}, common: map[string]string{}}
	perEntries := max(1, (entries+cacheShards-1)/cacheShards)
	perBytes := max(1, int(maxBytes/cacheShards))
	for i := range vc.shards {
		sh := &vc.shards[i]
		sh.m = make(map[[32]byte]*cacheEntry)
		sh.head.next, sh.head.prev = &sh.head, &sh.head
		sh.maxEntries, sh.maxBytes = perEntries, perBytes
	}
	return vc
}

// tokenSum is the cache key of raw: its SHA-256, hashed from a stack copy
// for tokens of usual size (a []byte conversion would allocate).
func tokenSum(raw string) [32]byte {
	var b [2048]byte
	if len(raw) <= len(b) {
		n := copy(b[:], raw)
		return sha256.Sum256(b[:n])
	}
	return sha256.Sum256([]byte(raw))
}

func (vc *verifiedCache) shard(key [32]byte) *cacheShard {
	return &vc.shards[key[0]%cacheShards]
}

// get returns the claims and kid cached under key. The claims share their
// strings with the entry (strings are immutable) but not the audience
// slice, which callers may change.
func (vc *verifiedCache) get(key [32]byte) (Claims, string, bool) {
	sh := vc.shard(key)
	sh.mu.Lock()
	e, ok := sh.m[key]
	if !ok {
		sh.mu.Unlock()
		return Claims{}, "", false
	}
	sh.unlink(e)
	sh.pushFront(e)
	c, kid := e.claims, e.kid
	sh.mu.Unlock()
	if c.Audience != nil {
		c.Audience = append(Audience(nil), c.Audience...)
	}
	return c, kid, true
}

// add caches verified claims under key, evicting the least recently used
// entries (and expired ones found at the tail) to stay within bounds:
// entries whose exp is before expiredBefore (now less the leeway) are
// dropped when reached. An entry too big for its shard is not kept.
func (vc *verifiedCache) add(key [32]byte, c Claims, kid string, expiredBefore int64) {
	size := entrySize(c, kid)
	sh := vc.shard(key)
	if size > sh.maxBytes {
		return
	}
	vc.intern(&c, &kid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[key]; ok {
		sh.drop(old)
	}
	e := &cacheEntry{key: key, claims: c, kid: kid, size: size}
	sh.m[key] = e
	sh.pushFront(e)
	sh.bytes += size
	for len(sh.m) > sh.maxEntries || sh.bytes > sh.maxBytes {
		sh.drop(sh.head.prev)
	}
	// The least recently used entries are the likeliest to have expired;
	// drop those reached without scanning the rest.
	for t := sh.head.prev; t != &sh.head && t.claims.ExpiresAt < expiredBefore; t = sh.head.prev {
		sh.drop(t)
	}
}

// intern makes c's and kid's common strings shared ones, and gives the
// entry its own audience slice (never the caller's).
func (vc *verifiedCache) intern(c *Claims, kid *string) {
	if c.Issuer == vc.issuer {
		c.Issuer = vc.issuer
	}
	if len(c.Audience) == 1 && c.Audience[0] == vc.issuer {
		c.Audience = vc.selfAud
	} else {
		c.Audience = append(Audience(nil), c.Audience...)
	}
	for _, k := range []string{KindUser, KindContact, KindClient, "live", "test"} {
		if c.Kind == k {
			c.Kind = k
		}
		if c.Mode == k {
			c.Mode = k
		}
	}
	vc.mu.Lock()
	c.ClientID = vc.common1(c.ClientID)
	*kid = vc.common1(*kid)
	vc.mu.Unlock()
}

func (vc *verifiedCache) common1(s string) string {
	if v, ok := vc.common[s]; ok {
		return v
	}
	if len(vc.common) < maxCommon {
		vc.common[s] = s
	}
	return s
}

// remove forgets key.
func (vc *verifiedCache) remove(key [32]byte) {
	sh := vc.shard(key)
	sh.mu.Lock()
	if e, ok := sh.m[key]; ok {
		sh.drop(e)
	}
	sh.mu.Unlock()
}

// stats returns the number of entries and their accounted bytes.
func (vc *verifiedCache) stats() (entries, bytes int) {
	for i := range vc.shards {
		sh := &vc.shards[i]
		sh.mu.Lock()
		entries += len(sh.m)
		bytes += sh.bytes
		sh.mu.Unlock()
	}
	return entries, bytes
}

func (sh *cacheShard) drop(e *cacheEntry) {
	sh.unlink(e)
	delete(sh.m, e.key)
	sh.bytes -= e.size
}

func (sh *cacheShard) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (sh *cacheShard) pushFront(e *cacheEntry) {
	e.prev, e.next = &sh.head, sh.head.next
	sh.head.next.prev = e
	sh.head.next = e
}

// entrySize is what an entry is accounted as: its strings and a fixed
// overhead.
func entrySize(c Claims, kid string) int {
	n := entryOverhead + len(kid) + len(c.Issuer) + len(c.Subject) + len(c.ID) + len(c.ClientID) + len(c.Scope) +
		len(c.Org) + len(c.Mode) + len(c.Kind) + len(c.HomeOrg) + len(c.Family)
	for _, a := range c.Audience {
		n += 16 + len(a)
	}
	return n
}
