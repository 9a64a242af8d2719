package cachetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache"
)

// Short TTLs keep the suite fast; the margins absorb scheduling delays
// under -race on a loaded machine.
const (
	shortTTL   = 500 * time.Millisecond
	pastShort  = 900 * time.Millisecond // sleep that outlives shortTTL
	contenders = 20
)

// kvTests cover Get, Set, SetNX, GetDel, Del and TTL.
var kvTests = []test{
	{"Get/miss", func(t *testing.T, c cache.Cache, ks keyspace) {
		wantMiss(t, c, ks.key("absent"))
	}},
	{"Get/hit", func(t *testing.T, c cache.Cache, ks keyspace) {
		mustSet(t, c, ks.key("k"), "v", 0)
		wantValue(t, c, ks.key("k"), "v")
	}},
	{"Get/empty and binary values", func(t *testing.T, c cache.Cache, ks keyspace) {
		bin := make([]byte, 256)
		for i := range bin {
			bin[i] = byte(i)
		}
		cases := []struct {
			name string
			val  []byte
		}{
			{"empty", []byte{}},
			{"binary", bin},
		}
		for _, tc := range cases {
			if err := c.Set(ctx(t), ks.key(tc.name), tc.val, 0); err != nil {
				t.Fatalf("Set %s: %v", tc.name, err)
			}
			got, err := c.Get(ctx(t), ks.key(tc.name))
			if err != nil || !bytes.Equal(got, tc.val) {
				t.Errorf("Get %s = %q, %v; want %q, nil", tc.name, got, err, tc.val)
			}
		}
	}},
	{"Get/values are copies", func(t *testing.T, c cache.Cache, ks keyspace) {
		k := ks.key("k")
		in := []byte("abc")
		if err := c.Set(ctx(t), k, in, 0); err != nil {
			t.Fatalf("Set: %v", err)
		}
		in[0] = 'X'
		out, err := c.Get(ctx(t), k)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		out[1] = 'Y'
		wantValue(t, c, k, "abc")
	}},
	{"Set/replaces value", func(t *testing.T, c cache.Cache, ks keyspace) {
		mustSet(t, c, ks.key("k"), "v1", 0)
		mustSet(t, c, ks.key("k"), "v2", 0)
		wantValue(t, c, ks.key("k"), "v2")
	}},
	{"Set/replaces TTL", func(t *testing.T, c cache.Cache, ks keyspace) {
		a, b := ks.key("a"), ks.key("b")
		mustSet(t, c, a, "v", time.Hour)
		mustSet(t, c, a, "v", 0)
		wantNoExpiry(t, c, a)
		mustSet(t, c, b, "v", 0)
		mustSet(t, c, b, "v", time.Hour)
		wantTTL(t, c, b, 59*time.Minute, time.Hour)
	}},
	{"Set/negative TTL is an error", func(t *testing.T, c cache.Cache, ks keyspace) {
		for _, ttl := range []time.Duration{-1, -time.Second} {
			fresh := ks.key(fmt.Sprintf("fresh%d", ttl))
			if err := c.Set(ctx(t), fresh, []byte("v"), ttl); err == nil {
				t.Errorf("Set with ttl %v: nil error", ttl)
			}
			if ok, err := c.SetNX(ctx(t), fresh, []byte("v"), ttl); err == nil || ok {
				t.Errorf("SetNX with ttl %v = %v, %v; want false, error", ttl, ok, err)
			}
			if _, err := c.Incr(ctx(t), fresh, ttl); err == nil {
				t.Errorf("Incr with ttl %v: nil error", ttl)
			}
			wantMiss(t, c, fresh)

			// -1ns is go-redis' KeepTTL: it must not keep or drop the expiry.
			old := ks.key(fmt.Sprintf("old%d", ttl))
			mustSet(t, c, old, "v1", time.Hour)
			if err := c.Set(ctx(t), old, []byte("v2"), ttl); err == nil {
				t.Errorf("Set over an existing key with ttl %v: nil error", ttl)
			}
			wantValue(t, c, old, "v1")
			wantTTL(t, c, old, 59*time.Minute, time.Hour)
		}
	}},
	{"Set/TTL expires, zero TTL does not", func(t *testing.T, c cache.Cache, ks keyspace) {
		set, setnx, forever := ks.key("set"), ks.key("setnx"), ks.key("forever")
		mustSet(t, c, set, "v", shortTTL)
		if ok, err := c.SetNX(ctx(t), setnx, []byte("v"), shortTTL); !ok || err != nil {
			t.Fatalf("SetNX = %v, %v; want true, nil", ok, err)
		}
		mustSet(t, c, forever, "v", 0)
		wantValue(t, c, set, "v")
		wantValue(t, c, setnx, "v")

		time.Sleep(pastShort)
		wantMiss(t, c, set)
		wantMiss(t, c, setnx)
		if _, err := c.TTL(ctx(t), set); !errors.Is(err, cache.ErrMiss) {
			t.Errorf("TTL of expired key: %v, want ErrMiss", err)
		}
		if _, err := c.GetDel(ctx(t), set); !errors.Is(err, cache.ErrMiss) {
			t.Errorf("GetDel of expired key: %v, want ErrMiss", err)
		}
		if ok, err := c.SetNX(ctx(t), setnx, []byte("again"), 0); !ok || err != nil {
			t.Errorf("SetNX over expired key = %v, %v; want true, nil", ok, err)
		}
		wantValue(t, c, forever, "v")
		wantNoExpiry(t, c, forever)
	}},
	{"SetNX/only once", func(t *testing.T, c cache.Cache, ks keyspace) {
		k := ks.key("k")
		want := []struct {
			val    string
			stored bool
		}{{"first", true}, {"second", false}, {"third", false}}
		for _, w := range want {
			ok, err := c.SetNX(ctx(t), k, []byte(w.val), time.Minute)
			if err != nil || ok != w.stored {
				t.Fatalf("SetNX(%q) = %v, %v; want %v, nil", w.val, ok, err, w.stored)
			}
		}
		wantValue(t, c, k, "first")
		wantTTL(t, c, k, 50*time.Second, time.Minute)
	}},
	{"SetNX/concurrent: exactly one wins", func(t *testing.T, c cache.Cache, ks keyspace) {
		k := ks.key("k")
		won := make([]bool, contenders)
		errs := make([]error, contenders)
		race(contenders, func(i int) {
			won[i], errs[i] = c.SetNX(ctx(t), k, []byte(fmt.Sprint(i)), time.Minute)
		})
		winner := -1
		for i := range contenders {
			if errs[i] != nil {
				t.Fatalf("SetNX #%d: %v", i, errs[i])
			}
			if won[i] {
				if winner >= 0 {
					t.Fatalf("SetNX won by both #%d and #%d", winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("no SetNX won")
		}
		wantValue(t, c, k, fmt.Sprint(winner))
	}},
	{"GetDel/single use", func(t *testing.T, c cache.Cache, ks keyspace) {
		k := ks.key("k")
		if _, err := c.GetDel(ctx(t), k); !errors.Is(err, cache.ErrMiss) {
			t.Fatalf("GetDel of absent key: %v, want ErrMiss", err)
		}
		mustSet(t, c, k, "code", time.Minute)
		got, err := c.GetDel(ctx(t), k)
		if err != nil || string(got) != "code" {
			t.Fatalf("GetDel = %q, %v; want \"code\", nil", got, err)
		}
		if got, err := c.GetDel(ctx(t), k); !errors.Is(err, cache.ErrMiss) {
			t.Fatalf("second GetDel = %q, %v; want ErrMiss", got, err)
		}
		wantMiss(t, c, k)
	}},
	{"GetDel/concurrent: exactly one takes it", func(t *testing.T, c cache.Cache, ks keyspace) {
		k := ks.key("k")
		mustSet(t, c, k, "code", time.Minute)
		vals := make([][]byte, contenders)
		errs := make([]error, contenders)
		race(contenders, func(i int) { vals[i], errs[i] = c.GetDel(ctx(t), k) })
		taken := 0
		for i := range contenders {
			switch {
			case errs[i] == nil:
				taken++
				if string(vals[i]) != "code" {
					t.Errorf("GetDel #%d = %q, want \"code\"", i, vals[i])
				}
			case !errors.Is(errs[i], cache.ErrMiss):
				t.Errorf("GetDel #%d: %v, want nil or ErrMiss", i, errs[i])
			}
		}
		if taken != 1 {
			t.Fatalf("%d goroutines took the value, want exactly 1", taken)
		}
	}},
	{"Del/multiple keys, missing ones ignored", func(t *testing.T, c cache.Cache, ks keyspace) {
		a, b, keep := ks.key("a"), ks.key("b"), ks.key("keep")
		mustSet(t, c, a, "1", 0)
		mustSet(t, c, b, "2", time.Minute)
		mustSet(t, c, keep, "3", 0)
		if err := c.Del(ctx(t), a, ks.key("missing"), b); err != nil {
			t.Fatalf("Del: %v", err)
		}
		wantMiss(t, c, a)
		wantMiss(t, c, b)
		wantValue(t, c, keep, "3")
		if err := c.Del(ctx(t)); err != nil {
			t.Fatalf("Del(): %v", err)
		}
		if err := c.Del(ctx(t), ks.key("missing")); err != nil {
			t.Fatalf("Del(missing): %v", err)
		}
	}},
	{"TTL/remaining, none, miss", func(t *testing.T, c cache.Cache, ks keyspace) {
		mustSet(t, c, ks.key("ttl"), "v", 10*time.Second)
		wantTTL(t, c, ks.key("ttl"), 8*time.Second, 10*time.Second)
		mustSet(t, c, ks.key("none"), "v", 0)
		wantNoExpiry(t, c, ks.key("none"))
		if d, err := c.TTL(ctx(t), ks.key("absent")); !errors.Is(err, cache.ErrMiss) {
			t.Fatalf("TTL(absent) = %v, %v; want ErrMiss", d, err)
		}
	}},
}

// race runs f(0..n-1) in n goroutines released at the same moment and
// waits for all of them.
func race(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}
