package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/internal/clients"
	"github.com/authd/authd/internal/revocation"
)

// ScopeRevocationsRead lets a confidential client read the revocation
// feed (GET /oauth2/revocations).
const ScopeRevocationsRead = clients.ScopeRevocationsRead

// RevocationFeed is the revocation log in force (revocation.Service).
type RevocationFeed interface {
	// Since returns the entries in force after a cursor, the cursor, and
	// a channel closed when the cursor next moves.
	Since(after int64) ([]revocation.Entry, int64, <-chan struct{})
}

// feedEntry is one revocation on the wire: what a verifier must refuse
// (kind and key, with tokens issued at or before at for the user,
// contact and client kinds) and until when it matters.
type feedEntry struct {
	Seq   int64  `json:"seq"`
	Kind  string `json:"kind"`
	Key   string `json:"key"`
	At    int64  `json:"at"`
	Until int64  `json:"until"`
}

func toFeed(e revocation.Entry) feedEntry {
	return feedEntry{Seq: e.Seq, Kind: e.Kind, Key: e.Key, At: e.At.Unix(), Until: e.Until.Unix()}
}

// streams ends the open feed streams when the server shuts down (an
// event stream is never idle, so Shutdown alone would wait for it).
type streams struct {
	once sync.Once
	done chan struct{}
}

// CloseStreams ends every open revocation stream (http.Server's
// RegisterOnShutdown).
func (p *Provider) CloseStreams() { p.streams.once.Do(func() { close(p.streams.done) }) }

// RevocationFeedHandler serves GET /oauth2/revocations: for a confidential
// client holding revocations:read, the revocations a verifier must honour.
// As Server-Sent Events (the default): every entry in force after
// Last-Event-ID (all of them without it), then `event: ready` with the
// cursor, then new entries as they are read from the log, and a comment
// every heartbeat so proxies keep the stream open. With ?since=<cursor>
// (or Accept: application/json): one JSON answer, {revocations, cursor}.
func (p *Provider) RevocationFeedHandler(feed RevocationFeed, heartbeat time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			p.writeTokenError(ctx, w, nil, &fosite.RFC6749Error{ErrorField: "invalid_request", CodeField: http.StatusMethodNotAllowed,
				DescriptionField: "This endpoint accepts GET only."})
			return
		}
		if _, _, ok := r.BasicAuth(); !ok {
			p.writeTokenError(ctx, w, nil, fosite.ErrInvalidClient.WithHint("Client authentication with HTTP Basic is required."))
			return
		}
		client, err := p.f.AuthenticateClient(ctx, r, nil)
		if err != nil {
			p.writeTokenError(ctx, w, nil, err)
			return
		}
		if client.IsPublic() || !client.GetScopes().Has(ScopeRevocationsRead) {
			p.writeTokenError(ctx, w, nil, fosite.ErrUnauthorizedClient.WithHint("This client may not read the revocation feed."))
			return
		}
		q := r.URL.Query()
		since, err := cursorParam(q.Get("since"), r.Header.Get("Last-Event-ID"))
		if err != nil {
			p.writeTokenError(ctx, w, nil, fosite.ErrInvalidRequest.WithHint(err.Error()))
			return
		}
		if q.Has("since") || (strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "text/event-stream")) {
			entries, cursor, _ := feed.Since(since)
			out := struct {
				Revocations []feedEntry `json:"revocations"`
				Cursor      int64       `json:"cursor"`
			}{Revocations: make([]feedEntry, len(entries)), Cursor: max(cursor, since)}
			for i, e := range entries {
				out.Revocations[i] = toFeed(e)
			}
			writeJSON(w, out)
			return
		}
		p.stream(w, r, feed, since, heartbeat)
	})
}

// cursorParam is the cursor to resume from: ?since= or Last-Event-ID.
func cursorParam(since, lastEventID string) (int64, error) {
	v := since
	if v == "" {
		v = lastEventID
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("the cursor (since or Last-Event-ID) must be a non-negative integer")
	}
	return n, nil
}

func (p *Provider) stream(w http.ResponseWriter, r *http.Request, feed RevocationFeed, since int64, heartbeat time.Duration) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives http.write_timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	cursor, ready := since, false
	for {
		entries, at, moved := feed.Since(cursor)
		for _, e := range entries {
			b, _ := json.Marshal(toFeed(e))
			if _, err := fmt.Fprintf(w, "id: %d\nevent: revocation\ndata: %s\n\n", e.Seq, b); err != nil {
				return
			}
		}
		cursor = max(cursor, at)
		if !ready {
			if _, err := fmt.Fprintf(w, "event: ready\ndata: {\"cursor\":%d}\n\n", cursor); err != nil {
				return
			}
			ready = true
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-p.streams.done:
			return
		case <-moved:
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
