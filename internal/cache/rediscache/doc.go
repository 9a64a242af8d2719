// Package rediscache is the Redis implementation of cache.Cache, shared by
// every authd replica. It uses go-redis v9 through redis.UniversalClient, so
// a single server, Sentinel and Cluster all work, and it passes the
// conformance suite in cachetest. go-redis is imported nowhere else.
//
// Every key and pub/sub channel is prefixed with Options.KeyPrefix. Allow
// uses github.com/go-redis/redis_rate v10, whose buckets live at
// KeyPrefix+"rate:"+key. Failures to reach Redis (network errors,
// timeouts, a server loading, read-only or down) wrap cache.ErrUnavailable;
// redis.Nil becomes cache.ErrMiss.
package rediscache
