package cachetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache"
)

// BenchAllow measures Allow on 1024 buckets that never run out.
func BenchAllow(b *testing.B, c cache.Cache) {
	ctx := context.Background()
	prefix := fmt.Sprintf("bench:%d:allow:", time.Now().UnixNano())
	l := cache.Limit{Rate: 1 << 30, Burst: 1 << 30, Period: time.Second}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := c.Allow(ctx, fmt.Sprint(prefix, i%1024), l); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchGetSet measures one Set and one Get of a 64-byte value, over 1024
// keys with a one-minute TTL.
func BenchGetSet(b *testing.B, c cache.Cache) {
	ctx := context.Background()
	prefix := fmt.Sprintf("bench:%d:kv:", time.Now().UnixNano())
	val := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			k := fmt.Sprint(prefix, i%1024)
			if err := c.Set(ctx, k, val, time.Minute); err != nil {
				b.Error(err)
				return
			}
			if _, err := c.Get(ctx, k); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
