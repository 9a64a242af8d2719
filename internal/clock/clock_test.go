package clock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/clock"
)

func TestFake(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	f := clock.NewFake(start)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); f.Advance(time.Second) }()
	}
	wg.Wait()
	if got := f.Now(); !got.Equal(start.Add(10 * time.Second)) {
		t.Fatalf("Now = %v, want start + 10s", got)
	}
	if clock.Or(nil)().IsZero() || !clock.Or(f.Now)().Equal(f.Now()) {
		t.Fatal("Or")
	}
}
