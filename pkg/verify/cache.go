package verify

import (
	"crypto/sha256"
	"sync"
)

// cacheShards splits the cache so parallel verifications rarely wait on
// one lock.
const cacheShards = 16

// tokenCache remembers tokens that passed every check of Verify, keyed by
// the SHA-256 of the token (never the token: a memory dump holds no
// usable credential). A hit skips parsing and the signature only: Verify
// still checks exp, that the signing key is still in the JWKS and the
// revocation state on every call, so an entry never outlives its token.
// Bounded in entries, each shard an LRU; entries past exp found at the
// tail are dropped as others are added.
type tokenCache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu   sync.Mutex
	m    map[[32]byte]*cacheEntry
	head cacheEntry // sentinel: head.next is the most recently used
	max  int
}

type cacheEntry struct {
	key        [32]byte
	claims     Claims
	kid        string
	expires    int64 // Unix seconds: exp plus the leeway
	prev, next *cacheEntry
}

// newTokenCache returns a cache of at most size tokens, or nil when size
// is not positive.
func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	tc := &tokenCache{}
	per := max(1, (size+cacheShards-1)/cacheShards)
	for i := range tc.shards {
		sh := &tc.shards[i]
		sh.m = make(map[[32]byte]*cacheEntry)
		sh.head.next, sh.head.prev = &sh.head, &sh.head
		sh.max = per
	}
	return tc
}

// tokenSum is the cache key of raw, hashed from a stack copy for tokens
// of usual size (a []byte conversion would allocate).
func tokenSum(raw string) [32]byte {
	var b [2048]byte
	if len(raw) <= len(b) {
		n := copy(b[:], raw)
		return sha256.Sum256(b[:n])
	}
	return sha256.Sum256([]byte(raw))
}

func (tc *tokenCache) shard(key [32]byte) *cacheShard {
	return &tc.shards[key[0]%cacheShards]
}

// get returns the entry's claims (sharing its slices: callers copy them
// before handing them out), the kid that signed them and exp plus the
// leeway.
func (tc *tokenCache) get(key [32]byte) (c Claims, kid string, expires int64, ok bool) {
	sh := tc.shard(key)
	sh.mu.Lock()
	e, ok := sh.m[key]
	if ok {
		sh.unlink(e)
		sh.pushFront(e)
		c, kid, expires = e.claims, e.kid, e.expires
	}
	sh.mu.Unlock()
	return c, kid, expires, ok
}

// add remembers verified claims; expires is exp plus the leeway and now
// the current Unix time (entries past it at the LRU tail are dropped).
func (tc *tokenCache) add(key [32]byte, c *Claims, kid string, expires, now int64) {
	stored := c.clone() // the caller keeps c
	sh := tc.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[key]; ok {
		sh.drop(old)
	}
	e := &cacheEntry{key: key, claims: *stored, kid: kid, expires: expires}
	sh.m[key] = e
	sh.pushFront(e)
	for len(sh.m) > sh.max {
		sh.drop(sh.head.prev)
	}
	for t := sh.head.prev; t != &sh.head && t.expires < now; t = sh.head.prev {
		sh.drop(t)
	}
}

// remove forgets key.
func (tc *tokenCache) remove(key [32]byte) {
	sh := tc.shard(key)
	sh.mu.Lock()
	if e, ok := sh.m[key]; ok {
		sh.drop(e)
	}
	sh.mu.Unlock()
}

// len is the number of entries.
func (tc *tokenCache) len() int {
	n := 0
	for i := range tc.shards {
		sh := &tc.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

func (sh *cacheShard) drop(e *cacheEntry) {
	sh.unlink(e)
	delete(sh.m, e.key)
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
