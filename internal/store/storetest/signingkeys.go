package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var signingKeyTests = []subtest{
	{"AddListRoundTrip", testSigningKeysRoundTrip},
	{"AddAndDeleteTogether", testSigningKeysAddDelete},
	{"FnErrorChangesNothing", func(t *testing.T, s store.Store) {
		want := seedSigningKeys(t, s)
		err := s.UpdateSigningKeys(ctx(t), func([]store.SigningKey) ([]store.SigningKey, []string, error) {
			return []store.SigningKey{mkSigningKey("new", at(time.Hour), at(time.Hour))}, []string{"k1"}, errBoom
		})
		if err != errBoom { //nolint:errorlint // the very same error must come back
			t.Errorf("UpdateSigningKeys returned %v, want fn's error unchanged", err)
		}
		checkSigningKeys(t, s, want)
	}},
	{"DuplicateKIDChangesNothing", func(t *testing.T, s store.Store) {
		want := seedSigningKeys(t, s)
		err := s.UpdateSigningKeys(ctx(t), func([]store.SigningKey) ([]store.SigningKey, []string, error) {
			return []store.SigningKey{
				mkSigningKey("fresh", at(time.Hour), at(time.Hour)),
				mkSigningKey("k2", at(time.Hour), at(time.Hour)), // exists
			}, []string{"k1"}, nil
		})
		wantErr(t, err, store.ErrAlreadyExists, "UpdateSigningKeys(existing kid)")
		checkSigningKeys(t, s, want)
	}},
	{"ConcurrentRotationAddsOneKey", testSigningKeysConcurrent},
}

// seedSigningKeys stores k1 and k2 and returns them oldest first.
func seedSigningKeys(t *testing.T, s store.Store) []store.SigningKey {
	t.Helper()
	keys := []store.SigningKey{
		mkSigningKey("k1", at(0), at(0)),
		mkSigningKey("k2", at(time.Minute), at(24*time.Hour)),
	}
	must(t, s.UpdateSigningKeys(ctx(t), func([]store.SigningKey) ([]store.SigningKey, []string, error) {
		return keys, nil, nil
	}), "UpdateSigningKeys(seed)")
	return keys
}

func checkSigningKeys(t *testing.T, s store.Store, want []store.SigningKey) {
	t.Helper()
	got, err := s.ListSigningKeys(ctx(t))
	must(t, err, "ListSigningKeys")
	checkEqual(t, "signing keys", got, want)
	checkUTC(t, "signing keys", got)
}

func testSigningKeysRoundTrip(t *testing.T, s store.Store) {
	got, err := s.ListSigningKeys(ctx(t))
	must(t, err, "ListSigningKeys(empty)")
	if len(got) != 0 {
		t.Fatalf("fresh store has signing keys: %+v", got)
	}
	var seen []store.SigningKey
	// Added newest first: the listing must still be oldest first.
	newest := mkSigningKey("newest", at(2*time.Hour), at(3*time.Hour))
	oldest := mkSigningKey("oldest", at(0), at(0))
	oldest.Private = []byte{0x00, 0xff, 0x10, 0x80}
	middle := mkSigningKey("middle", at(time.Hour), at(time.Hour))
	must(t, s.UpdateSigningKeys(ctx(t), func(cur []store.SigningKey) ([]store.SigningKey, []string, error) {
		seen = cur
		return []store.SigningKey{newest, oldest, middle}, nil, nil
	}), "UpdateSigningKeys(add)")
	if len(seen) != 0 {
		t.Errorf("fn saw %d keys on an empty store", len(seen))
	}
	checkSigningKeys(t, s, []store.SigningKey{oldest, middle, newest})

	must(t, s.UpdateSigningKeys(ctx(t), func(cur []store.SigningKey) ([]store.SigningKey, []string, error) {
		seen = cur
		return nil, nil, nil
	}), "UpdateSigningKeys(no-op)")
	checkEqual(t, "keys passed to fn", seen, []store.SigningKey{oldest, middle, newest})
	checkSigningKeys(t, s, []store.SigningKey{oldest, middle, newest})
}

func testSigningKeysAddDelete(t *testing.T, s store.Store) {
	keys := seedSigningKeys(t, s)
	k3 := mkSigningKey("k3", at(2*time.Hour), at(48*time.Hour))
	must(t, s.UpdateSigningKeys(ctx(t), func(cur []store.SigningKey) ([]store.SigningKey, []string, error) {
		checkEqual(t, "keys passed to fn", cur, keys)
		return []store.SigningKey{k3}, []string{"k1", "never-existed"}, nil
	}), "UpdateSigningKeys(add k3, delete k1)")
	checkSigningKeys(t, s, []store.SigningKey{keys[1], k3})
}

// testSigningKeysConcurrent has several goroutines rotate at once, each
// adding a key only if none signs from the future. The fn pauses between
// reading and deciding, so without mutual exclusion several would add.
func testSigningKeysConcurrent(t *testing.T, s store.Store) {
	const workers = 4
	now := at(0)
	var (
		start sync.WaitGroup
		done  sync.WaitGroup
		added atomic.Int32
		errs  = make(chan error, workers)
	)
	start.Add(1)
	for i := range workers {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs <- s.UpdateSigningKeys(ctx(t), func(cur []store.SigningKey) ([]store.SigningKey, []string, error) {
				for _, k := range cur {
					if k.SignsFrom.After(now) {
						return nil, nil, nil
					}
				}
				time.Sleep(50 * time.Millisecond) // widen the race window
				added.Add(1)
				kid := fmt.Sprintf("rotated-%d", i)
				return []store.SigningKey{mkSigningKey(kid, now, now.Add(time.Hour))}, nil, nil
			})
		}()
	}
	start.Done()
	done.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent UpdateSigningKeys")
	}
	got, err := s.ListSigningKeys(ctx(t))
	must(t, err, "ListSigningKeys")
	if len(got) != 1 {
		t.Errorf("after %d concurrent rotations there are %d keys, want exactly 1: %+v", workers, len(got), got)
	}
	if n := added.Load(); n != 1 {
		t.Errorf("%d rotations decided to add a key, want 1", n)
	}
}
