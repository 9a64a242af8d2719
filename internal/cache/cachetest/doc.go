// Package cachetest is the conformance suite every cache.Cache
// implementation runs: RunTests checks the behaviour the cache package
// documents (expiry, atomicity under concurrency, GCRA rate limits,
// pub/sub delivery and cancellation, errors after Close), so memcache and
// rediscache answer alike.
//
// A backend's test is a call to RunTests with a constructor; see
// memcache/memcache_test.go and rediscache/rediscache_test.go. Every test
// uses random key and channel names, so several runs can share one Redis.
// BenchAllow and BenchGetSet are the shared benchmarks.
package cachetest
