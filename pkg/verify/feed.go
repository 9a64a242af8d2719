package verify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// maxEventLine bounds one line of the event stream.
const maxEventLine = 64 << 10

// feed follows authd's revocation feed (GET <issuer>/oauth2/revocations,
// Server-Sent Events) in one goroutine: it applies every entry to revs,
// reconnects with jittered exponential backoff when the stream ends, and
// resumes after the last entry applied (Last-Event-ID). It is current
// while connected and caught up (it saw the server's ready event on the
// open stream).
type feed struct {
	url        string
	hc         *http.Client // no Timeout: the stream lives on
	id, secret string
	revs       *revocations
	now        func() time.Time
	log        *slog.Logger
	minBackoff time.Duration
	maxBackoff time.Duration
	idle       time.Duration     // no byte for this long (keepalives come every ~15s): reconnect
	deadline   time.Duration     // to connect and get the response headers
	afterEvent func(name string) // test hook, after an event is handled

	cursor    atomic.Int64 // the last entry applied (Last-Event-ID)
	current   atomic.Bool
	readyAt   atomic.Int64 // Unix nanoseconds (verifier's clock) of the last ready
	connected atomic.Int64 // connections that answered 200
}

// statusError is a refusal of the feed request.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// permanent reports whether err is a refusal retrying cannot cure: the
// credentials, the client's rights or the URL are wrong.
func permanent(err error) bool {
	var se *statusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.code {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
		return true
	}
	return false
}

// run follows the feed until ctx ends. Until the first ready it reports
// to started: nil once caught up, or a permanent refusal; later failures
// are logged and retried.
func (f *feed) run(ctx context.Context, started chan<- error) {
	backoff := f.minBackoff
	failures := 0
	report := func(err error) {
		if started != nil {
			started <- err
			started = nil
		}
	}
	for {
		sawReady, err := f.once(ctx, func() { report(nil) })
		f.current.Store(false)
		if ctx.Err() != nil {
			return
		}
		if sawReady {
			backoff, failures = f.minBackoff, 0
		}
		failures++
		switch {
		case permanent(err) && started != nil:
			report(err) // New returns it
			return
		case permanent(err):
			if failures != 1 && failures%10 != 0 {
				break
			}
			f.log.Error("verify: the revocation feed refuses this client; new revocations are not learnt (tokens revoked from now on are accepted until they expire)", "url", f.url, "err", err)
		case sawReady:
			f.log.Warn("verify: revocation feed disconnected; reconnecting", "url", f.url, "cursor", f.cursor.Load(), "err", err)
		case failures == 1 || failures%10 == 0:
			f.log.Warn("verify: cannot follow the revocation feed; retrying", "url", f.url, "attempts", failures, "err", err)
		}
		// Equal jitter: between half the backoff and the backoff.
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, f.maxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// once opens the stream and reads it until it ends. onReady is called at
// each ready event.
func (f *feed) once(ctx context.Context, onReady func()) (sawReady bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if c := f.cursor.Load(); c > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(c, 10))
	}
	// RFC 6749 §2.3.1: the id and secret are form-encoded, then Basic.
	req.SetBasicAuth(url.QueryEscape(f.id), url.QueryEscape(f.secret))

	// The deadline covers the response headers; then the idle timer
	// guards the stream.
	idle := time.AfterFunc(f.deadline, cancel)
	defer idle.Stop()
	resp, err := f.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, refusal(resp)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return false, fmt.Errorf("GET %s answered %q, not an event stream", f.url, mt)
	}
	f.connected.Add(1)
	idle.Reset(f.idle)

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), maxEventLine)
	var name string
	var data []byte
	var id string
	hasData := false
	for sc.Scan() {
		idle.Reset(f.idle)
		line := sc.Bytes()
		if len(line) == 0 { // dispatch (WHATWG SSE §9.2.6)
			if hasData || name != "" {
				ready, err := f.dispatch(name, data, id)
				if err != nil {
					return sawReady, err
				}
				if ready {
					sawReady = true
					onReady()
				}
				if f.afterEvent != nil {
					f.afterEvent(name)
				}
			}
			name, data, id, hasData = "", data[:0], "", false
			continue
		}
		if line[0] == ':' { // a comment: the keepalive
			f.revs.sweep(f.now().Unix())
			if f.afterEvent != nil {
				f.afterEvent(":")
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			name = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data, hasData = append(data, value...), true
		case "id":
			id = string(value)
		}
	}
	if err := sc.Err(); err != nil {
		return sawReady, err
	}
	return sawReady, io.ErrUnexpectedEOF
}

// dispatch handles one event. An entry it cannot read ends the stream (the
// cursor stays before it, so the next connection sends it again).
func (f *feed) dispatch(name string, data []byte, id string) (ready bool, err error) {
	now := f.now()
	switch name {
	case "revocation":
		var e entry
		if err := json.Unmarshal(data, &e); err != nil || e.Kind == "" || e.Key == "" {
			return false, fmt.Errorf("unreadable revocation event %q: %v", data, err)
		}
		if !f.revs.apply(e, now.Unix()) {
			f.log.Debug("verify: revocation feed: ignoring an entry of unknown kind", "kind", e.Kind, "seq", e.Seq)
		}
		seq := e.Seq
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			seq = max(seq, n)
		}
		f.advance(seq)
	case "ready":
		var r struct {
			Cursor int64 `json:"cursor"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return false, fmt.Errorf("unreadable ready event %q: %v", data, err)
		}
		f.advance(r.Cursor)
		if !f.current.Swap(true) {
			f.log.Debug("verify: revocation feed caught up", "cursor", f.cursor.Load(), "entries", f.revs.len())
		}
		f.readyAt.Store(now.UnixNano())
		ready = true
	}
	f.revs.sweep(now.Unix())
	return ready, nil
}

func (f *feed) advance(seq int64) {
	for {
		c := f.cursor.Load()
		if seq <= c || f.cursor.CompareAndSwap(c, seq) {
			return
		}
	}
}

// refusal reads an RFC 6749 error answer into a statusError.
func refusal(resp *http.Response) error {
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	msg := fmt.Sprintf("GET %s: %s", resp.Request.URL.Redacted(), resp.Status)
	if body.Error != "" {
		msg += ": " + body.Error
		if body.Description != "" {
			msg += ": " + body.Description
		}
	}
	return &statusError{code: resp.StatusCode, msg: msg}
}
