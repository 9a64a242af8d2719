package cachetest

import (
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache"
)

// allow calls Allow and checks the outcome. wantRemaining < 0 skips the
// Remaining check.
func allow(t *testing.T, c cache.Cache, key string, l cache.Limit, wantAllowed bool, wantRemaining int) cache.Result {
	t.Helper()
	res, err := c.Allow(ctx(t), key, l)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	if res.Allowed != wantAllowed {
		t.Fatalf("Allow = %+v, want Allowed %v", res, wantAllowed)
	}
	if wantRemaining >= 0 && res.Remaining != wantRemaining {
		t.Fatalf("Allow = %+v, want Remaining %d", res, wantRemaining)
	}
	if res.Allowed && res.RetryAfter != 0 {
		t.Fatalf("Allow = %+v, want RetryAfter 0 when allowed", res)
	}
	return res
}

// rateTests cover Allow.
var rateTests = []test{
	{"Allow/burst, refusal, recovery", func(t *testing.T, c cache.Cache, ks keyspace) {
		// One event every 200ms, bursts of 4.
		l := cache.Limit{Rate: 4, Burst: 4, Period: 800 * time.Millisecond}
		k := ks.key("rl")
		for want := 3; want >= 0; want-- {
			allow(t, c, k, l, true, want)
		}
		res := allow(t, c, k, l, false, 0)
		if res.RetryAfter <= 0 || res.RetryAfter > 200*time.Millisecond {
			t.Fatalf("refused: RetryAfter = %v, want in (0, 200ms]", res.RetryAfter)
		}
		allow(t, c, k, l, false, 0) // a refusal is not counted: same wait
		time.Sleep(res.RetryAfter + 50*time.Millisecond)
		allow(t, c, k, l, true, 0)
		allow(t, c, k, l, false, 0)
		time.Sleep(l.Period + 100*time.Millisecond)
		allow(t, c, k, l, true, l.Burst-1) // a full bucket again
	}},
	{"Allow/keys are independent", func(t *testing.T, c cache.Cache, ks keyspace) {
		l := cache.PerMinute(2)
		a, b := ks.key("a"), ks.key("b")
		allow(t, c, a, l, true, 1)
		allow(t, c, a, l, true, 0)
		allow(t, c, a, l, false, 0)
		allow(t, c, b, l, true, 1)
		allow(t, c, a, l, false, 0)
	}},
	{"Allow/burst above rate", func(t *testing.T, c cache.Cache, ks keyspace) {
		l := cache.Limit{Rate: 1, Burst: 3, Period: time.Minute}
		k := ks.key("rl")
		allow(t, c, k, l, true, 2)
		allow(t, c, k, l, true, 1)
		allow(t, c, k, l, true, 0)
		res := allow(t, c, k, l, false, 0)
		if res.RetryAfter <= 55*time.Second || res.RetryAfter > time.Minute {
			t.Fatalf("RetryAfter = %v, want just under 1m (one emission interval)", res.RetryAfter)
		}
	}},
	{"Allow/burst of one", func(t *testing.T, c cache.Cache, ks keyspace) {
		l := cache.Limit{Rate: 10, Burst: 1, Period: time.Hour}
		k := ks.key("rl")
		allow(t, c, k, l, true, 0)
		res := allow(t, c, k, l, false, 0)
		if res.RetryAfter <= 5*time.Minute || res.RetryAfter > 6*time.Minute {
			t.Fatalf("RetryAfter = %v, want just under 6m", res.RetryAfter)
		}
	}},
	{"Allow/invalid limit is an error", func(t *testing.T, c cache.Cache, ks keyspace) {
		cases := []struct {
			name  string
			limit cache.Limit
		}{
			{"zero", cache.Limit{}},
			{"zero rate", cache.Limit{Rate: 0, Burst: 1, Period: time.Second}},
			{"zero burst", cache.Limit{Rate: 1, Burst: 0, Period: time.Second}},
			{"zero period", cache.Limit{Rate: 1, Burst: 1}},
			{"negative rate", cache.Limit{Rate: -1, Burst: 1, Period: time.Second}},
			{"negative period", cache.Limit{Rate: 1, Burst: 1, Period: -time.Second}},
		}
		for _, tc := range cases {
			res, err := c.Allow(ctx(t), ks.key(tc.name), tc.limit)
			if err == nil || errors.Is(err, cache.ErrUnavailable) || res.Allowed {
				t.Errorf("Allow(%s) = %+v, %v; want a non-availability error", tc.name, res, err)
			}
		}
	}},
}
