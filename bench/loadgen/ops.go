package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// op is one kind of request. run sends it once for the virtual client s;
// an op that needsSession is replaced by a sign-in while s has none, and by
// a refresh while its access token is (nearly) expired. New operations are
// one more entry in ops.
type op struct {
	name         string
	needsSession bool
	run          func(ctx context.Context, t *target, s *session) result
}

var ops = []*op{
	{name: "signin", run: signIn},
	{name: "refresh", needsSession: true, run: refresh},
	{name: "fa-jwt", needsSession: true, run: func(ctx context.Context, t *target, s *session) result {
		return forwardAuth(ctx, t, "Authorization", "Bearer "+s.access)
	}},
	{name: "fa-key", run: func(ctx context.Context, t *target, s *session) result {
		return forwardAuth(ctx, t, "api_key", t.apiKey)
	}},
}

func opByName(name string) *op {
	for _, o := range ops {
		if o.name == name {
			return o
		}
	}
	return nil
}

func opNames() []string {
	var names []string
	for _, o := range ops {
		names = append(names, o.name)
	}
	return names
}

// session is a virtual client's tokens; only its own worker touches it.
type session struct {
	access, refresh string
	expires         time.Time // of the access token
}

// result is how one request went: kind is empty on success, else the
// error's kind ("HTTP 503", "timeout", ...). A skipped one was never sent.
type result struct {
	op      *op
	kind    string
	took    time.Duration
	skipped bool
}

// do runs o (or the sign-in or refresh s needs first) and times it.
func do(ctx context.Context, t *target, s *session, o *op) result {
	if o.needsSession {
		switch {
		case s.refresh == "":
			o = opByName("signin")
		case time.Until(s.expires) < 30*time.Second:
			o = opByName("refresh")
		}
	}
	start := time.Now()
	r := o.run(ctx, t, s)
	r.op, r.took = o, time.Since(start)
	return r
}

// authResponse is the part of authd's auth response the client keeps.
type authResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

func signIn(ctx context.Context, t *target, s *session) result {
	return authCall(ctx, t, s, "/backoffice/v1/users/authenticate", map[string]string{"username": t.user, "password": t.pass})
}

// refresh rotates s's refresh token. A refused one ends the session: the
// client signs in again at its next operation that needs one.
func refresh(ctx context.Context, t *target, s *session) result {
	r := authCall(ctx, t, s, "/backoffice/v1/users/refresh", map[string]string{"refresh_token": s.refresh})
	if r.kind == "HTTP 401" {
		*s = session{}
	}
	return r
}

// authCall posts body to path and, on 200, replaces s with the tokens in
// the answer.
func authCall(ctx context.Context, t *target, s *session, path string, body any) result {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base()+path, bytes.NewReader(b))
	if err != nil {
		return result{kind: "request: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return result{kind: transportKind(err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{kind: transportKind(err)}
	}
	if resp.StatusCode != http.StatusOK {
		return result{kind: "HTTP " + strconv.Itoa(resp.StatusCode)}
	}
	var a authResponse
	if err := json.Unmarshal(raw, &a); err != nil || a.AccessToken == "" || a.RefreshToken == "" {
		return result{kind: "bad answer"}
	}
	*s = session{access: a.AccessToken, refresh: a.RefreshToken, expires: time.Now().Add(time.Duration(a.ExpiresIn) * time.Second)}
	return result{}
}

// forwardAuth asks /forward-auth about one credential header; 200 is the
// only success.
func forwardAuth(ctx context.Context, t *target, header, value string) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base()+"/forward-auth", nil)
	if err != nil {
		return result{kind: "request: " + err.Error()}
	}
	req.Header.Set(header, value)
	resp, err := t.client.Do(req)
	if err != nil {
		return result{kind: transportKind(err)}
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return result{kind: transportKind(err)}
	}
	if resp.StatusCode != http.StatusOK {
		return result{kind: "HTTP " + strconv.Itoa(resp.StatusCode)}
	}
	return result{}
}

// transportKind names a failed request's error briefly, without addresses.
func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed (EOF)"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return "transport: " + msg
}

// weighted is one operation of the mix.
type weighted struct {
	op     *op
	weight int
}

// parseMix reads "signin=1,refresh=4,..." (a missing weight is 1).
func parseMix(s string) ([]weighted, error) {
	var mix []weighted
	for _, part := range splitList(s) {
		name, w, found := strings.Cut(part, "=")
		weight := 1
		if found {
			n, err := strconv.Atoi(w)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("-mix %q: weight of %s", s, name)
			}
			weight = n
		}
		o := opByName(name)
		if o == nil {
			return nil, fmt.Errorf("-mix: unknown operation %q (have %s)", name, strings.Join(opNames(), ", "))
		}
		if weight > 0 {
			mix = append(mix, weighted{o, weight})
		}
	}
	if len(mix) == 0 {
		return nil, errors.New("-mix: no operation with a positive weight")
	}
	sort.SliceStable(mix, func(i, j int) bool { return indexOf(mix[i].op) < indexOf(mix[j].op) })
	return mix, nil
}

func indexOf(o *op) int {
	for i, x := range ops {
		if x == o {
			return i
		}
	}
	return -1
}

func mixString(mix []weighted) string {
	var parts []string
	for _, w := range mix {
		parts = append(parts, fmt.Sprintf("%s=%d", w.op.name, w.weight))
	}
	return strings.Join(parts, ",")
}

// picker chooses operations in the mix's exact proportions, interleaved
// (smooth weighted round robin).
type picker struct {
	mix     []weighted
	current []int
	total   int
}

func newPicker(mix []weighted) *picker {
	p := &picker{mix: mix, current: make([]int, len(mix))}
	for _, w := range mix {
		p.total += w.weight
	}
	return p
}

func (p *picker) next() *op {
	best := 0
	for i, w := range p.mix {
		p.current[i] += w.weight
		if p.current[i] > p.current[best] {
			best = i
		}
	}
	p.current[best] -= p.total
	return p.mix[best].op
}
