package sender

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// retryPolicy retries transient failures with exponential backoff and
// jitter. All attempts together stay within the context's deadline: a
// retry whose wait would pass it is not made.
type retryPolicy struct {
	base        time.Duration // first wait
	max         time.Duration // longest wait
	maxAttempts int           // bound when the context has no deadline
	// minAttempt is the least time worth giving one attempt; when the
	// deadline leaves more than twice that, an attempt gets at most half
	// of what is left, so a hung receiver still leaves time for a retry.
	minAttempt time.Duration
}

var defaultRetry = retryPolicy{base: 200 * time.Millisecond, max: 2 * time.Second, maxAttempts: 5, minAttempt: time.Second}

// temporaryError marks a failure worth retrying; after is the server's
// Retry-After, if any.
type temporaryError struct {
	err   error
	after time.Duration
}

func (e *temporaryError) Error() string { return e.err.Error() }
func (e *temporaryError) Unwrap() error { return e.err }

func temporary(err error, after time.Duration) error { return &temporaryError{err: err, after: after} }

// wait returns the pause before retry number n (0-based): base·2ⁿ capped at
// max, with "equal jitter" (uniform in [d/2, d]).
func (p retryPolicy) wait(n int) time.Duration {
	d := p.base << min(n, 16)
	if d <= 0 || d > p.max {
		d = p.max
	}
	half := d / 2
	return half + rand.N(half+1)
}

// do runs attempt until it succeeds, fails with a non-temporary error, the
// attempts are spent, or the next wait would pass ctx's deadline.
func (p retryPolicy) do(ctx context.Context, attempt func(ctx context.Context) error) error {
	for n := 1; ; n++ {
		actx, cancel := p.attemptContext(ctx)
		err := attempt(actx)
		cancel()
		if err == nil {
			return nil
		}
		var te *temporaryError
		if !errors.As(err, &te) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("after %d attempt(s): %w", n, errors.Join(te.err, ctx.Err()))
		}
		if n >= p.maxAttempts {
			return fmt.Errorf("giving up after %d attempts: %w", n, te.err)
		}
		d := max(p.wait(n-1), te.after)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
			return fmt.Errorf("giving up after %d attempt(s), no time left for another: %w", n, te.err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("after %d attempt(s): %w", n, errors.Join(te.err, ctx.Err()))
		case <-t.C:
		}
	}
}

// attemptContext bounds one attempt: half the time left when that is still
// at least minAttempt, else all of it.
func (p retryPolicy) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	left := time.Until(dl)
	if left/2 >= p.minAttempt {
		return context.WithTimeout(ctx, left/2)
	}
	return context.WithCancel(ctx)
}

// retryableStatus reports whether an HTTP status is worth retrying: 429 and
// every 5xx; other statuses are final.
func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// retryAfter parses a Retry-After header given in seconds (the HTTP-date
// form is ignored), capped at a minute.
func retryAfter(h http.Header) time.Duration {
	s, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || s < 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, time.Minute)
}

// noRedirects returns a copy of client (a default one for nil) that does
// not follow redirects: a body carrying a code is never re-sent to
// wherever a 3xx points, and a 3xx answer is a failure.
func noRedirects(client *http.Client) *http.Client {
	c := &http.Client{Timeout: 30 * time.Second}
	if client != nil {
		*c = *client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}
