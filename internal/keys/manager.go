package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
)

// Store is the part of store.Store that keys needs.
type Store interface {
	// ListSigningKeys returns every stored signing key.
	ListSigningKeys(ctx context.Context) ([]store.SigningKey, error)
	// UpdateSigningKeys runs fn over the current keys under a lock shared by
	// every replica; fn returns the keys to add and the kids to delete.
	UpdateSigningKeys(ctx context.Context, fn func([]store.SigningKey) (add []store.SigningKey, del []string, err error)) error
}

var _ Store = store.Store(nil)

// ErrRotationPending is returned by Rotate when a NEXT key already waits to
// sign.
var ErrRotationPending = errors.New("keys: a rotation is already pending")

// ErrNotReady is returned by Sign and Ready while no signing key is loaded
// and active.
var ErrNotReady = errors.New("keys: no active signing key loaded")

// KeyInfo describes a stored key for `authd keys list`.
type KeyInfo struct {
	KID       string
	Algorithm string
	State     string // StateNext, StateActive, StateRetired or StateExpired (not yet deleted)
	CreatedAt time.Time
	SignsFrom time.Time
	// SignsUntil is the successor's SignsFrom; nil while there is none.
	SignsUntil *time.Time
	// PublishedUntil is SignsUntil + MaxTokenTTL + Leeway; nil while there
	// is no successor.
	PublishedUntil *time.Time
}

// Manager owns the signing keys. Every method is safe for concurrent use.
type Manager struct {
	st    Store
	box   *secretbox.Box
	cfg   Config
	grace time.Duration // MaxTokenTTL + Leeway
	log   *slog.Logger
	now   func() time.Time

	set atomic.Pointer[keySet]

	loadMu sync.Mutex // serialises table reads into snapshots
	gen    uint64     // guarded by loadMu

	demandMu   sync.Mutex // one reload for unknown kids at a time
	lastDemand time.Time  // guarded by demandMu
}

// New returns a Manager; call Init before use and Start to keep it current.
// systemSecret is AUTHD_SECRETS_SYSTEM; logger and now may be nil.
func New(st Store, systemSecret string, cfg Config, logger *slog.Logger, now func() time.Time) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	box, err := secretbox.New(systemSecret, sealPurpose)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	cfg = cfg.withDefaults()
	return &Manager{st: st, box: box, cfg: cfg, grace: cfg.MaxTokenTTL + Leeway, log: logger, now: now}, nil
}

// Init loads the keys. On a table without an active key it creates one that
// signs at once; when the active key's algorithm is not the configured one
// and no key is pending, it schedules a rotation to the configured algorithm.
// When keys exist it costs one SELECT and decrypting the live private keys.
func (m *Manager) Init(ctx context.Context) error {
	if err := m.reload(ctx); err != nil {
		return err
	}
	if m.set.Load().active(m.now()) == nil {
		if err := m.createFirst(ctx); err != nil {
			return err
		}
		if err := m.reload(ctx); err != nil {
			return err
		}
	}
	return m.checkAlgorithm(ctx)
}

func (m *Manager) createFirst(ctx context.Context) error {
	k, err := newKey(m.box, m.cfg.Algorithm)
	if err != nil {
		return err
	}
	var added bool
	err = m.st.UpdateSigningKeys(ctx, func(cur []store.SigningKey) ([]store.SigningKey, []string, error) {
		t := m.now()
		if added = activeIndex(sortKeys(cur), t) < 0; !added {
			return nil, nil, nil // another replica created it
		}
		nk := k
		nk.CreatedAt, nk.SignsFrom = stamp(t), stamp(t)
		return []store.SigningKey{nk}, nil, nil
	})
	if err != nil {
		return fmt.Errorf("keys: create first signing key: %w", err)
	}
	if added {
		m.log.Info("keys: created the first signing key", "kid", k.KID, "alg", k.Algorithm)
	}
	return nil
}

// checkAlgorithm schedules a rotation to cfg.Algorithm when the active key
// uses another and nothing is pending. It runs at Init only: during a rolling
// deploy the replicas still on the old configuration must not rotate back.
func (m *Manager) checkAlgorithm(ctx context.Context) error {
	now := m.now()
	ks := m.set.Load()
	a := ks.active(now)
	if a == nil || string(a.alg) == m.cfg.Algorithm {
		return nil
	}
	if ks.hasNext(now) {
		if last := ks.entries[len(ks.entries)-1]; string(last.alg) != m.cfg.Algorithm {
			m.log.Warn("keys: a rotation to another algorithm than the configured one is pending; the configured one applies from the rotation after it",
				"pending_kid", last.kid, "pending_alg", string(last.alg), "configured_alg", m.cfg.Algorithm)
		}
		return nil
	}
	k, err := newKey(m.box, m.cfg.Algorithm)
	if err != nil {
		return err
	}
	var added *store.SigningKey
	err = m.st.UpdateSigningKeys(ctx, func(cur []store.SigningKey) ([]store.SigningKey, []string, error) {
		t := m.now()
		sorted := sortKeys(cur)
		sp := spans(sorted, m.grace)
		del := kidsIn(sorted, sp, t, StateExpired)
		added = nil
		i := activeIndex(sorted, t)
		if i < 0 || sorted[i].Algorithm == m.cfg.Algorithm || len(kidsIn(sorted, sp, t, StateNext)) > 0 {
			return nil, del, nil
		}
		nk := k
		nk.CreatedAt, nk.SignsFrom = stamp(t), stamp(t.Add(m.cfg.PublishAhead))
		added = &nk
		return []store.SigningKey{nk}, del, nil
	})
	if err != nil {
		return fmt.Errorf("keys: schedule algorithm change: %w", err)
	}
	if added != nil {
		m.log.Info("keys: scheduled a rotation to the configured algorithm",
			"kid", added.KID, "alg", added.Algorithm, "from_alg", string(a.alg), "signs_from", added.SignsFrom)
	}
	return m.reload(ctx)
}

// Start re-reads the table every ReloadInterval and runs the rotation check
// (rotateIfDue) until ctx is done. It returns at once; call Init first.
func (m *Manager) Start(ctx context.Context) {
	go func() {
		t := time.NewTicker(m.cfg.ReloadInterval)
		defer t.Stop()
		if m.set.Load() != nil {
			m.check(ctx, false) // Init just loaded: an overdue rotation happens now
		} else {
			m.check(ctx, true)
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.check(ctx, true)
			}
		}
	}()
}

func (m *Manager) check(ctx context.Context, reload bool) {
	if reload {
		if err := m.reload(ctx); err != nil {
			if ctx.Err() == nil {
				m.log.Error("keys: reload signing keys", "err", err)
			}
			return
		}
	}
	if err := m.rotateIfDue(ctx); err != nil && ctx.Err() == nil {
		m.log.Error("keys: rotation check", "err", err)
	}
}

// rotateIfDue is the rotation check Start runs after every reload: when
// RotationPeriod > 0, the active key's SignsFrom + RotationPeriod -
// PublishAhead has passed and no NEXT key exists, it adds a key signing from
// max(now+PublishAhead, active.SignsFrom+RotationPeriod); it deletes expired
// keys. Nothing is written when there is nothing to do, and everything is
// re-checked under the store's lock, so a key another replica just added
// means this one adds none.
func (m *Manager) rotateIfDue(ctx context.Context) error {
	ks := m.set.Load()
	if ks == nil {
		return ErrNotReady
	}
	now := m.now()
	due := false
	if a := ks.active(now); a != nil {
		_, due = m.cfg.rotationDue(a.signsFrom, ks.hasNext(now), now)
	}
	if !due && !ks.anyExpired(now) {
		return nil
	}
	var k store.SigningKey
	if due { // generate outside the lock: an RSA key takes a while
		var err error
		if k, err = newKey(m.box, m.cfg.Algorithm); err != nil {
			return err
		}
	}
	var added *store.SigningKey
	var deleted []string
	err := m.st.UpdateSigningKeys(ctx, func(cur []store.SigningKey) ([]store.SigningKey, []string, error) {
		t := m.now()
		sorted := sortKeys(cur)
		sp := spans(sorted, m.grace)
		deleted = kidsIn(sorted, sp, t, StateExpired)
		added = nil
		if i := activeIndex(sorted, t); due && i >= 0 {
			hasNext := len(kidsIn(sorted, sp, t, StateNext)) > 0
			if from, ok := m.cfg.rotationDue(sorted[i].SignsFrom, hasNext, t); ok {
				nk := k
				nk.CreatedAt, nk.SignsFrom = stamp(t), stamp(from)
				added = &nk
				return []store.SigningKey{nk}, deleted, nil
			}
		}
		return nil, deleted, nil
	})
	if err != nil {
		return fmt.Errorf("keys: rotate: %w", err)
	}
	if added != nil {
		m.log.Info("keys: added the next signing key", "kid", added.KID, "alg", added.Algorithm, "signs_from", added.SignsFrom)
	}
	if len(deleted) > 0 {
		m.log.Info("keys: deleted expired signing keys", "kids", deleted)
	}
	return m.reload(ctx)
}

// Rotate adds a key (`authd keys rotate`) that signs from now+PublishAhead,
// or from now when immediate (a compromised key). It returns
// ErrRotationPending when a NEXT key exists, unless immediate: then the
// pending key, which never signed, is deleted and the new key signs at once.
func (m *Manager) Rotate(ctx context.Context, immediate bool) (KeyInfo, error) {
	k, err := newKey(m.box, m.cfg.Algorithm)
	if err != nil {
		return KeyInfo{}, err
	}
	var nk store.SigningKey
	var deleted []string
	err = m.st.UpdateSigningKeys(ctx, func(cur []store.SigningKey) ([]store.SigningKey, []string, error) {
		t := m.now()
		sorted := sortKeys(cur)
		sp := spans(sorted, m.grace)
		pending := kidsIn(sorted, sp, t, StateNext)
		if len(pending) > 0 && !immediate {
			return nil, nil, ErrRotationPending
		}
		deleted = kidsIn(sorted, sp, t, StateExpired)
		nk = k
		nk.CreatedAt = stamp(t)
		if !immediate {
			nk.SignsFrom = stamp(t.Add(m.cfg.PublishAhead))
			return []store.SigningKey{nk}, deleted, nil
		}
		nk.SignsFrom = stamp(t)
		if i := activeIndex(sorted, t); i >= 0 && !nk.SignsFrom.After(sorted[i].SignsFrom) {
			nk.SignsFrom = sorted[i].SignsFrom.Add(time.Microsecond) // never tie with the key it replaces
		}
		deleted = append(deleted, pending...)
		return []store.SigningKey{nk}, deleted, nil
	})
	if errors.Is(err, ErrRotationPending) {
		return KeyInfo{}, ErrRotationPending
	}
	if err != nil {
		return KeyInfo{}, fmt.Errorf("keys: rotate: %w", err)
	}
	m.log.Info("keys: rotation started", "kid", nk.KID, "alg", nk.Algorithm, "signs_from", nk.SignsFrom,
		"immediate", immediate, "deleted", deleted)
	if err := m.reload(ctx); err != nil {
		return KeyInfo{}, err
	}
	if e := m.set.Load().lookup(nk.KID); e != nil {
		return info(nk.KID, string(e.alg), e.createdAt, e.span, m.now()), nil
	}
	sp := span{signsFrom: nk.SignsFrom} // deleted meanwhile: report what was added
	return info(nk.KID, nk.Algorithm, nk.CreatedAt, sp, m.now()), nil
}

// List reads the table and describes every key, in signing order.
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	ks, err := m.st.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: list signing keys: %w", err)
	}
	t := m.now()
	sorted := sortKeys(ks)
	sp := spans(sorted, m.grace)
	out := make([]KeyInfo, len(sorted))
	for i, k := range sorted {
		out[i] = info(k.KID, k.Algorithm, k.CreatedAt, sp[i], t)
	}
	return out, nil
}

func info(kid, alg string, created time.Time, sp span, t time.Time) KeyInfo {
	ki := KeyInfo{KID: kid, Algorithm: alg, State: sp.state(t), CreatedAt: created, SignsFrom: sp.signsFrom}
	if !sp.signsUntil.IsZero() {
		until, pub := sp.signsUntil, sp.publishedUntil
		ki.SignsUntil, ki.PublishedUntil = &until, &pub
	}
	return ki
}

// Ready returns nil once a signing key is loaded and active.
func (m *Manager) Ready() error {
	ks := m.set.Load()
	if ks == nil {
		return ErrNotReady
	}
	if a := ks.active(m.now()); a == nil || a.private == nil {
		return ErrNotReady
	}
	return nil
}

// Algorithm is the active key's algorithm ("" before Init).
func (m *Manager) Algorithm() string {
	if ks := m.set.Load(); ks != nil {
		if a := ks.active(m.now()); a != nil {
			return string(a.alg)
		}
	}
	return ""
}

// reload reads the table and installs a new snapshot.
func (m *Manager) reload(ctx context.Context) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	stored, err := m.st.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: load signing keys: %w", err)
	}
	ks, err := m.build(stored, m.now())
	if err != nil {
		return err
	}
	m.set.Store(ks)
	return nil
}

// build turns stored keys into a snapshot at t, reusing the crypto of keys
// the current snapshot holds. The private keys of the active and NEXT keys
// are decrypted; retired keys only verify. Called with loadMu held.
func (m *Manager) build(stored []store.SigningKey, t time.Time) (*keySet, error) {
	prev := m.set.Load()
	sorted := sortKeys(stored)
	sp := spans(sorted, m.grace)
	act := activeIndex(sorted, t)
	m.gen++
	ks := &keySet{gen: m.gen}
	for i, k := range sorted {
		if sp[i].expired(t) {
			ks.expired = append(ks.expired, k.KID)
			continue
		}
		mat := prev.material(k.KID)
		if mat == nil || string(mat.alg) != k.Algorithm {
			var err error
			if mat, err = parseMaterial(k); err != nil {
				return nil, err
			}
		}
		if i >= act && mat.private == nil {
			priv, err := mat.openPrivate(m.box, k)
			if err != nil {
				return nil, err
			}
			mat = mat.withPrivate(priv)
		}
		ks.entries = append(ks.entries, entry{material: mat, span: sp[i], createdAt: k.CreatedAt})
	}
	ks.algs = distinctAlgs(ks.entries)
	ks.buildJWKS(t, prev)
	return ks, nil
}
