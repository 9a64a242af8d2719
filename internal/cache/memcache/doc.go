// Package memcache is the in-process cache.Cache for a single authd replica
// (no Redis configured). It keeps the same semantics as rediscache and
// passes the same conformance suite (cachetest).
//
// Entries live in one map guarded by a mutex. Expiry is lazy (an expired
// entry is never returned) and a background sweeper, stopped by Close,
// removes expired entries. The map is bounded by Options.MaxEntries: when
// it is full, inserting a new key evicts expired entries first, then the
// entries closest to expiry, and only then entries without expiry, least
// recently written first. All entries sit in one heap in that order, so an
// eviction costs O(log n).
//
// Allow is GCRA with the semantics of github.com/go-redis/redis_rate v10;
// its state is stored under the key "rate:"+key, as in Redis. Publish and
// Subscribe fan out in-process to buffered channels; a subscriber whose
// buffer is full misses the message instead of blocking Publish.
package memcache
