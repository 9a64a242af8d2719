package verify

import (
	"strings"
	"sync"
)

// Kinds of revocation entry on authd's feed.
const (
	revokeToken   = "token"   // key: the jti
	revokeFamily  = "family"  // key: the refresh family (sid)
	revokeUser    = "user"    // key: the user id; tokens with iat <= at
	revokeContact = "contact" // key: <org>/<mode>/<contact id>; tokens with iat <= at
	revokeClient  = "client"  // key: the client_id; tokens with iat <= at
	revokeAPIKey  = "api_key" // API keys are not access tokens: ignored
	// revokeClientChange: a client's secret was rotated (authd's caches);
	// its tokens stay valid: ignored.
	revokeClientChange = "client_change"
)

// entry is one revocation as the feed sends it.
type entry struct {
	Seq   int64  `json:"seq"`
	Kind  string `json:"kind"`
	Key   string `json:"key"`
	At    int64  `json:"at"`    // Unix seconds
	Until int64  `json:"until"` // Unix seconds: nothing it covers is valid after
}

// cut revokes the tokens issued at or before at, until until.
type cut struct{ at, until int64 }

// contactKey names a contact: ids are unique within a business and mode.
type contactKey struct{ org, mode, id string }

// revocations are the entries in force, in memory: bounded by what the
// feed holds in force, each dropped after its until.
type revocations struct {
	mu        sync.RWMutex
	tokens    map[string]int64 // jti → until
	families  map[string]int64 // sid → until
	users     map[string]cut
	contacts  map[contactKey]cut
	clients   map[string]cut
	lastSweep int64
}

func newRevocations() *revocations {
	return &revocations{
		tokens: map[string]int64{}, families: map[string]int64{},
		users: map[string]cut{}, contacts: map[contactKey]cut{}, clients: map[string]cut{},
	}
}

// apply records e unless it has lapsed at now (Unix seconds). It reports
// whether e is a kind this package knows.
func (r *revocations) apply(e entry, now int64) bool {
	if e.Kind == revokeAPIKey || e.Kind == revokeClientChange {
		return true
	}
	var ck contactKey
	if e.Kind == revokeContact {
		org, rest, ok1 := strings.Cut(e.Key, "/")
		mode, id, ok2 := strings.Cut(rest, "/")
		if !ok1 || !ok2 {
			return false
		}
		ck = contactKey{org, mode, id}
	}
	if e.Until < now {
		return true
	}
	c := cut{e.At, e.Until}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e.Kind {
	case revokeToken:
		r.tokens[e.Key] = max(r.tokens[e.Key], e.Until)
	case revokeFamily:
		r.families[e.Key] = max(r.families[e.Key], e.Until)
	case revokeUser:
		r.users[e.Key] = later(r.users[e.Key], c)
	case revokeContact:
		r.contacts[ck] = later(r.contacts[ck], c)
	case revokeClient:
		r.clients[e.Key] = later(r.clients[e.Key], c)
	default:
		return false
	}
	return true
}

func later(a, b cut) cut { return cut{at: max(a.at, b.at), until: max(a.until, b.until)} }

// revoked reports whether the entries in force cover c: its jti, its
// refresh family, or a cut-off for its user, contact or client at or
// after its iat.
func (r *revocations) revoked(c *Claims) bool {
	iat := c.IssuedAt.Unix()
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.tokens[c.ID]; ok {
		return true
	}
	if c.Family != "" {
		if _, ok := r.families[c.Family]; ok {
			return true
		}
	}
	switch c.Kind {
	case KindUser:
		if ct, ok := r.users[c.Subject]; ok && iat <= ct.at {
			return true
		}
	case KindContact:
		if ct, ok := r.contacts[contactKey{c.Org, c.Mode, c.Subject}]; ok && iat <= ct.at {
			return true
		}
	}
	if ct, ok := r.clients[c.ClientID]; ok && iat <= ct.at {
		return true
	}
	return false
}

// sweepEvery is how often (in seconds of the verifier's clock) lapsed
// entries leave memory.
const sweepEvery = 60

// sweep drops the entries whose until has passed, at most once a minute.
func (r *revocations) sweep(now int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now-r.lastSweep < sweepEvery {
		return
	}
	r.lastSweep = now
	for k, until := range r.tokens {
		if until < now {
			delete(r.tokens, k)
		}
	}
	for k, until := range r.families {
		if until < now {
			delete(r.families, k)
		}
	}
	for k, c := range r.users {
		if c.until < now {
			delete(r.users, k)
		}
	}
	for k, c := range r.contacts {
		if c.until < now {
			delete(r.contacts, k)
		}
	}
	for k, c := range r.clients {
		if c.until < now {
			delete(r.clients, k)
		}
	}
}

// len is the number of entries held.
func (r *revocations) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.tokens) + len(r.families) + len(r.users) + len(r.contacts) + len(r.clients)
}
