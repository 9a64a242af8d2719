// Package cache defines the shared short-lived state every authd replica
// agrees on: keys with a TTL, atomic counters, rate-limit buckets and
// pub/sub for invalidation.
//
// Redis holds it in production (rediscache); memcache serves a single
// replica in-process with the same semantics. Both pass the conformance
// suite in cachetest. This package imports only the standard library.
package cache
