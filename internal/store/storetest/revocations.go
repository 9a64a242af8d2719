package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var revocationTests = []subtest{
	{"AppendList", func(t *testing.T, s store.Store) {
		got, err := s.AppendRevocations(ctx(t),
			store.Revocation{Kind: store.RevokeToken, Key: "jti-1", At: base, ExpiresAt: at(time.Minute)},
			store.Revocation{Kind: store.RevokeUser, Key: "u1", At: at(time.Second), ExpiresAt: at(15 * time.Minute)},
		)
		must(t, err, "AppendRevocations")
		if len(got) != 2 || got[0].Seq <= 0 || got[1].Seq <= got[0].Seq {
			t.Fatalf("AppendRevocations = %+v, want two entries with increasing Seq", got)
		}
		list, err := s.ListRevocations(ctx(t), 0, 10)
		must(t, err, "ListRevocations")
		checkEqual(t, "log", list, got)
		for _, r := range list {
			checkUTC(t, "revocation", r)
		}
		after, err := s.ListRevocations(ctx(t), got[0].Seq, 10)
		must(t, err, "ListRevocations(after first)")
		checkEqual(t, "log after the first entry", after, got[1:])
		none, err := s.ListRevocations(ctx(t), got[1].Seq, 10)
		must(t, err, "ListRevocations(after last)")
		if len(none) != 0 {
			t.Errorf("ListRevocations after the last entry = %+v, want none", none)
		}
	}},
	{"Limit", func(t *testing.T, s store.Store) {
		for i := range 5 {
			_, err := s.AppendRevocations(ctx(t), store.Revocation{Kind: store.RevokeFamily, Key: string(rune('a' + i)), At: base, ExpiresAt: at(time.Hour)})
			must(t, err, "AppendRevocations")
		}
		first, err := s.ListRevocations(ctx(t), 0, 2)
		must(t, err, "ListRevocations(limit 2)")
		if len(first) != 2 || first[0].Key != "a" || first[1].Key != "b" {
			t.Fatalf("first page = %+v, want a, b", first)
		}
		rest, err := s.ListRevocations(ctx(t), first[1].Seq, 10)
		must(t, err, "ListRevocations(rest)")
		if len(rest) != 3 || rest[0].Key != "c" || rest[2].Key != "e" {
			t.Errorf("rest = %+v, want c, d, e", rest)
		}
	}},
	{"DeleteExpiredKeepsSequence", func(t *testing.T, s store.Store) {
		old, err := s.AppendRevocations(ctx(t),
			store.Revocation{Kind: store.RevokeToken, Key: "old", At: base, ExpiresAt: at(time.Minute)},
			store.Revocation{Kind: store.RevokeToken, Key: "older-but-later", At: base, ExpiresAt: at(2 * time.Minute)},
		)
		must(t, err, "AppendRevocations")
		keep, err := s.AppendRevocations(ctx(t), store.Revocation{Kind: store.RevokeToken, Key: "keep", At: base, ExpiresAt: at(time.Hour)})
		must(t, err, "AppendRevocations")
		n, err := s.DeleteExpiredRevocations(ctx(t), at(5*time.Minute))
		must(t, err, "DeleteExpiredRevocations")
		if n != 2 {
			t.Errorf("DeleteExpiredRevocations removed %d, want 2", n)
		}
		list, err := s.ListRevocations(ctx(t), 0, 10)
		must(t, err, "ListRevocations")
		checkEqual(t, "log after cleanup", list, keep)
		// Deleting the newest entries must not let their numbers be taken
		// again: a reader's cursor may already be past them.
		_, err = s.DeleteExpiredRevocations(ctx(t), at(2*time.Hour))
		must(t, err, "DeleteExpiredRevocations(all)")
		next, err := s.AppendRevocations(ctx(t), store.Revocation{Kind: store.RevokeToken, Key: "next", At: base, ExpiresAt: at(time.Hour)})
		must(t, err, "AppendRevocations(after cleanup)")
		if next[0].Seq <= keep[0].Seq || next[0].Seq <= old[1].Seq {
			t.Errorf("Seq after deleting the newest entries = %d, want > %d", next[0].Seq, keep[0].Seq)
		}
	}},
	{"ConcurrentAppendsInOrder", func(t *testing.T, s store.Store) {
		// Readers follow the log by Seq: whatever they see must be every
		// entry up to the highest Seq they see, with no gap filled later.
		const writers, each = 4, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		stop := make(chan struct{})
		gaps := make(chan string, 1)
		go func() {
			var seen int64
			var count int
			for {
				select {
				case <-stop:
					return
				default:
				}
				rs, err := s.ListRevocations(ctx(t), seen, 100)
				if err != nil {
					continue
				}
				for _, r := range rs {
					seen = r.Seq
					count++
				}
				// Every entry committed so far must be visible once a
				// later one is: compare with a full read.
				all, err := s.ListRevocations(ctx(t), 0, 1000)
				if err == nil {
					n := 0
					for _, r := range all {
						if r.Seq <= seen {
							n++
						}
					}
					if n != count {
						select {
						case gaps <- "an entry appeared behind the reader's cursor":
						default:
						}
					}
				}
			}
		}()
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					_, err := s.AppendRevocations(ctx(t), store.Revocation{Kind: store.RevokeToken, Key: string(rune('A'+w)) + string(rune('a'+i)), At: base, ExpiresAt: at(time.Hour)})
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(stop)
		close(errs)
		for err := range errs {
			must(t, err, "concurrent AppendRevocations")
		}
		select {
		case g := <-gaps:
			t.Error(g)
		default:
		}
		all, err := s.ListRevocations(ctx(t), 0, 1000)
		must(t, err, "ListRevocations")
		if len(all) != writers*each {
			t.Errorf("log holds %d entries, want %d", len(all), writers*each)
		}
	}},
}
