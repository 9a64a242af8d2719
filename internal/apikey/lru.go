package apikey

import (
	lru "github.com/hashicorp/golang-lru/v2"
)

// maxShards bounds the shards of the in-process caches. Each shard has
// its own lock, so verifications on many cores rarely wait for each
// other; keys are SHA-256 hashes, so they spread evenly.
const maxShards = 16

// shardedLRU is a bounded LRU split in shards by the first byte of the
// key. The shard sizes add up to exactly the bound.
type shardedLRU[V any] struct {
	shards []*lru.Cache[[32]byte, V]
}

func newShardedLRU[V any](size int) *shardedLRU[V] {
	n := min(maxShards, max(size, 1))
	s := &shardedLRU[V]{shards: make([]*lru.Cache[[32]byte, V], n)}
	for i := range s.shards {
		per := size / n
		if i < size%n {
			per++
		}
		s.shards[i], _ = lru.New[[32]byte, V](max(per, 1))
	}
	return s
}

func (s *shardedLRU[V]) shard(k [32]byte) *lru.Cache[[32]byte, V] {
	return s.shards[int(k[0])%len(s.shards)]
}

func (s *shardedLRU[V]) Get(k [32]byte) (V, bool) { return s.shard(k).Get(k) }
func (s *shardedLRU[V]) Add(k [32]byte, v V)      { s.shard(k).Add(k, v) }
func (s *shardedLRU[V]) Remove(k [32]byte)        { s.shard(k).Remove(k) }

func (s *shardedLRU[V]) Purge() {
	for _, c := range s.shards {
		c.Purge()
	}
}

func (s *shardedLRU[V]) Len() int {
	n := 0
	for _, c := range s.shards {
		n += c.Len()
	}
	return n
}
