package revocation

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// Channel is the pub/sub channel that carries new entries between
// replicas (the fast path; the log is the truth).
const Channel = "revocations"

// Store is the part of store.Store the revocation log needs.
type Store interface {
	AppendRevocations(ctx context.Context, rs ...store.Revocation) ([]store.Revocation, error)
	ListRevocations(ctx context.Context, after int64, limit int) ([]store.Revocation, error)
	DeleteExpiredRevocations(ctx context.Context, before time.Time) (int64, error)
}

// PubSub is the part of the shared cache the fast path uses.
type PubSub interface {
	Publish(ctx context.Context, channel string, msg []byte) error
	Subscribe(ctx context.Context, channel string) (<-chan []byte, error)
}

// Config tunes a Service. Zero values take the defaults in brackets.
type Config struct {
	// PollInterval is how often the log is read after the cursor: the
	// bound on how late a replica learns of a revocation whose pub/sub
	// message was lost [500ms].
	PollInterval time.Duration
	// Timeout bounds each read of the log and each publish [2s].
	Timeout time.Duration
	// SweepInterval is how often expired entries leave memory [1m].
	SweepInterval time.Duration
}

func (c *Config) defaults() {
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = time.Minute
	}
}

// contactKey names a contact: ids are unique within a business and mode.
type contactKey struct{ business, mode, id string }

// Service is the revocation state of one process.
type Service struct {
	st     Store
	ps     PubSub
	cfg    Config
	logger *slog.Logger
	now    func() time.Time

	mu       sync.RWMutex
	tokens   map[string]int64 // jti → entry expiry (Unix seconds)
	families map[string]int64 // sid → entry expiry
	users    map[string]cut
	contacts map[contactKey]cut
	clients  map[string]cut
	apiKeys  map[string]int64 // hex SHA-256 → entry expiry

	// pollMu serialises reads of the log (the loop and Sync).
	pollMu    sync.Mutex
	cursor    atomic.Int64
	lastSync  atomic.Int64 // Unix nanoseconds of the last complete read of the log
	loaded    atomic.Bool
	lastWarn  atomic.Int64
	listeners []func(store.Revocation)
	nudge     chan struct{}

	// feed is the log in force in Seq order, as read from the store (the
	// pub/sub fast path does not add to it: only reads of the log do, so
	// it has no gaps); advanced is closed and replaced whenever the cursor
	// moves.
	feedMu   sync.RWMutex
	feed     []store.Revocation
	advanced chan struct{}
}

// cut revokes the tokens issued at or before at (Unix seconds).
type cut struct{ at, expires int64 }

// New returns a Service; Load it before serving. ps may be nil (one
// process: no fast path), now may be nil (time.Now).
func New(st Store, ps PubSub, cfg Config, logger *slog.Logger, now func() time.Time) *Service {
	cfg.defaults()
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{
		st: st, ps: ps, cfg: cfg, logger: logger, now: now,
		tokens: map[string]int64{}, families: map[string]int64{}, users: map[string]cut{},
		contacts: map[contactKey]cut{}, clients: map[string]cut{}, apiKeys: map[string]int64{},
		nudge: make(chan struct{}, 1), advanced: make(chan struct{}),
	}
}

// OnApply registers f, told of every entry applied in this process (from
// this process's Revoke, the pub/sub feed or the log), possibly more than
// once. Register before Load; f must be quick and must not call back.
func (s *Service) OnApply(f func(store.Revocation)) { s.listeners = append(s.listeners, f) }

// Load reads every entry of the log into memory. The replica must not
// answer verifications before it succeeds.
func (s *Service) Load(ctx context.Context) error {
	if err := s.Sync(ctx); err != nil {
		return err
	}
	s.loaded.Store(true)
	return nil
}

// Sync reads the log after the cursor until it is exhausted.
func (s *Service) Sync(ctx context.Context) error {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	start := s.now()
	for {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		rs, err := s.st.ListRevocations(rctx, s.cursor.Load(), 0)
		cancel()
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			break
		}
		s.apply(rs...)
		s.append(rs)
		s.cursor.Store(rs[len(rs)-1].Seq)
	}
	s.lastSync.Store(start.UnixNano())
	return nil
}

// Revoke records the entries in the log and applies them here: when it
// returns nil, the revocation is durable, this process refuses what it
// covers and its feed (Since) shows it. Other replicas learn of it from the pub/sub message, or within
// one poll interval from the log. An empty At is now.
func (s *Service) Revoke(ctx context.Context, rs ...store.Revocation) error {
	if len(rs) == 0 {
		return nil
	}
	now := s.now()
	for i := range rs {
		if rs[i].At.IsZero() {
			rs[i].At = now
		}
		if rs[i].Kind == "" || rs[i].Key == "" || rs[i].ExpiresAt.IsZero() {
			return errors.New("revocation: an entry needs a kind, a key and an expiry")
		}
	}
	saved, err := s.st.AppendRevocations(ctx, rs...)
	if err != nil {
		return err
	}
	s.apply(saved...)
	// Read your writes: this replica's feed holds the entries when Revoke
	// returns. Should that read fail, the poll loop reads them.
	if err := s.Sync(ctx); err != nil {
		s.poke()
	}
	if s.ps != nil {
		if msg, err := json.Marshal(wireEntries(saved)); err == nil {
			// Best effort and off the caller's path: the log is the truth.
			go func() {
				pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
				defer cancel()
				if err := s.ps.Publish(pctx, Channel, msg); err != nil {
					s.warn("revocation: cannot publish; other replicas read it from the log", err)
				}
			}()
		}
	}
	return nil
}

func (s *Service) apply(rs ...store.Revocation) {
	now := s.now().Unix()
	s.mu.Lock()
	for _, r := range rs {
		exp := r.ExpiresAt.Unix()
		if exp < now {
			continue
		}
		at := r.At.Unix()
		switch r.Kind {
		case store.RevokeToken:
			s.tokens[r.Key] = max(s.tokens[r.Key], exp)
		case store.RevokeFamily:
			s.families[r.Key] = max(s.families[r.Key], exp)
		case store.RevokeAPIKey:
			s.apiKeys[r.Key] = max(s.apiKeys[r.Key], exp)
		case store.RevokeUser:
			s.users[r.Key] = later(s.users[r.Key], cut{at, exp})
		case store.RevokeClient:
			s.clients[r.Key] = later(s.clients[r.Key], cut{at, exp})
		case store.RevokeContact:
			if k, ok := parseContactKey(r.Key); ok {
				s.contacts[k] = later(s.contacts[k], cut{at, exp})
			}
		}
	}
	s.mu.Unlock()
	for _, r := range rs {
		for _, f := range s.listeners {
			f(r)
		}
	}
}

func later(a, b cut) cut {
	return cut{at: max(a.at, b.at), expires: max(a.expires, b.expires)}
}

func parseContactKey(k string) (contactKey, bool) {
	var parts [3]string
	n := 0
	start := 0
	for i := 0; i < len(k) && n < 2; i++ {
		if k[i] == '/' {
			parts[n] = k[start:i]
			n++
			start = i + 1
		}
	}
	if n != 2 {
		return contactKey{}, false
	}
	parts[2] = k[start:]
	return contactKey{parts[0], parts[1], parts[2]}, true
}

// Revoked reports whether the verified claims c are revoked: by jti, by
// refresh family, or by a cut-off for its user, contact or client. It
// reads process memory only.
func (s *Service) Revoked(c token.Claims) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.tokens[c.ID]; ok {
		return true
	}
	if c.Family != "" {
		if _, ok := s.families[c.Family]; ok {
			return true
		}
	}
	switch c.Kind {
	case token.KindUser:
		if ct, ok := s.users[c.Subject]; ok && c.IssuedAt <= ct.at {
			return true
		}
	case token.KindContact:
		if ct, ok := s.contacts[contactKey{c.Org, c.Mode, c.Subject}]; ok && c.IssuedAt <= ct.at {
			return true
		}
	}
	if c.ClientID != "" {
		if ct, ok := s.clients[c.ClientID]; ok && c.IssuedAt <= ct.at {
			return true
		}
	}
	return false
}

// APIKeyChanged reports whether the API key with this hex SHA-256 has an
// entry in force: copies of its record cached before the change (in
// another replica's shared-cache fill) must not be used.
func (s *Service) APIKeyChanged(hash string) bool {
	s.mu.RLock()
	_, ok := s.apiKeys[hash]
	s.mu.RUnlock()
	return ok
}

// Status is the state of the replica's copy of the log.
type Status struct {
	Loaded  bool
	Cursor  int64
	Entries int
	// Lag is the time since the log was last read completely.
	Lag time.Duration
}

// Status reports how current this process's state is.
func (s *Service) Status() Status {
	s.mu.RLock()
	n := len(s.tokens) + len(s.families) + len(s.users) + len(s.contacts) + len(s.clients) + len(s.apiKeys)
	s.mu.RUnlock()
	st := Status{Loaded: s.loaded.Load(), Cursor: s.cursor.Load(), Entries: n}
	if last := s.lastSync.Load(); last != 0 {
		st.Lag = max(s.now().Sub(time.Unix(0, last)), 0)
	}
	return st
}

// Start follows the log (poll and pub/sub) and sweeps expired entries
// from memory until ctx ends.
func (s *Service) Start(ctx context.Context) {
	go s.pollLoop(ctx)
	if s.ps != nil {
		go s.subscribeLoop(ctx)
	}
}

func (s *Service) pollLoop(ctx context.Context) {
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	sweep := time.NewTicker(s.cfg.SweepInterval)
	defer sweep.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			s.sweep()
			continue
		case <-poll.C:
		case <-s.nudge:
		}
		if err := s.Sync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				s.logger.Warn("revocation: cannot read the log; serving the entries already held", "error", err)
			}
			failing = true
			continue
		}
		if failing {
			s.logger.Info("revocation: reading the log again")
		}
		failing = false
	}
}

// subscribeLoop applies entries published by other replicas, and
// resubscribes (with backoff) when the subscription ends.
func (s *Service) subscribeLoop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		msgs, err := s.ps.Subscribe(ctx, Channel)
		if err != nil {
			s.warn("revocation: cannot subscribe to the fast path; following the log only", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		// Messages published while unsubscribed are in the log.
		s.poke()
		for m := range msgs {
			var es []wireEntry
			if json.Unmarshal(m, &es) != nil {
				continue
			}
			rs := make([]store.Revocation, 0, len(es))
			for _, e := range es {
				rs = append(rs, e.revocation())
			}
			s.apply(rs...)
			s.poke()
		}
	}
}

// poke asks the poll loop to read the log now.
func (s *Service) poke() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// append adds entries read from the log to the feed and wakes its
// waiters.
func (s *Service) append(rs []store.Revocation) {
	now := s.now()
	s.feedMu.Lock()
	for _, r := range rs {
		if r.ExpiresAt.After(now) {
			s.feed = append(s.feed, r)
		}
	}
	close(s.advanced)
	s.advanced = make(chan struct{})
	s.feedMu.Unlock()
}

// Entry is a revocation as the feed shows it to verifiers.
type Entry struct {
	Seq   int64
	Kind  string
	Key   string
	At    time.Time
	Until time.Time // after it, nothing the entry covers can still be valid
}

// Since returns the entries in force with Seq > after, in Seq order, and
// the cursor (the last Seq read from the log, even if it has expired).
// It also returns a channel closed when the cursor next moves.
func (s *Service) Since(after int64) ([]Entry, int64, <-chan struct{}) {
	now := s.now()
	s.feedMu.RLock()
	defer s.feedMu.RUnlock()
	i := sort.Search(len(s.feed), func(i int) bool { return s.feed[i].Seq > after })
	out := make([]Entry, 0, len(s.feed)-i)
	for _, r := range s.feed[i:] {
		if r.ExpiresAt.After(now) {
			out = append(out, Entry{Seq: r.Seq, Kind: r.Kind, Key: r.Key, At: r.At, Until: r.ExpiresAt})
		}
	}
	return out, s.cursor.Load(), s.advanced
}

func (s *Service) sweep() {
	s.sweepFeed()
	now := s.now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, exp := range s.tokens {
		if exp < now {
			delete(s.tokens, k)
		}
	}
	for k, exp := range s.families {
		if exp < now {
			delete(s.families, k)
		}
	}
	for k, exp := range s.apiKeys {
		if exp < now {
			delete(s.apiKeys, k)
		}
	}
	for k, c := range s.users {
		if c.expires < now {
			delete(s.users, k)
		}
	}
	for k, c := range s.clients {
		if c.expires < now {
			delete(s.clients, k)
		}
	}
	for k, c := range s.contacts {
		if c.expires < now {
			delete(s.contacts, k)
		}
	}
}

// sweepFeed drops expired entries from the feed.
func (s *Service) sweepFeed() {
	now := s.now()
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	kept := s.feed[:0]
	for _, r := range s.feed {
		if r.ExpiresAt.After(now) {
			kept = append(kept, r)
		}
	}
	clear(s.feed[len(kept):])
	s.feed = kept
}

// Cleanup deletes entries that expired before now from the log.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	return s.st.DeleteExpiredRevocations(ctx, s.now())
}

// warn logs at most every 10 s: an outage must not flood the log.
func (s *Service) warn(msg string, err error) {
	now, last := s.now().UnixNano(), s.lastWarn.Load()
	if now-last < int64(10*time.Second) || !s.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.logger.Warn(msg, "error", err)
}

// wireEntry is an entry on the pub/sub channel.
type wireEntry struct {
	Seq     int64  `json:"seq"`
	Kind    string `json:"kind"`
	Key     string `json:"key"`
	At      int64  `json:"at"`
	Expires int64  `json:"exp"`
}

func wireEntries(rs []store.Revocation) []wireEntry {
	out := make([]wireEntry, len(rs))
	for i, r := range rs {
		out[i] = wireEntry{Seq: r.Seq, Kind: r.Kind, Key: r.Key, At: r.At.UnixNano(), Expires: r.ExpiresAt.UnixNano()}
	}
	return out
}

func (e wireEntry) revocation() store.Revocation {
	return store.Revocation{Seq: e.Seq, Kind: e.Kind, Key: e.Key, At: time.Unix(0, e.At), ExpiresAt: time.Unix(0, e.Expires)}
}

var _ PubSub = cache.Cache(nil)
