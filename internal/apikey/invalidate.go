package apikey

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/store"
)

// Shared-state names. Every replica of a deployment must agree on them.
const (
	// InvalidationChannel carries "<epoch> <hex hash>" for every key that
	// was revoked or whose expiry changed.
	InvalidationChannel = "apikeys:invalidate"
	// epochKey counts invalidations. Replicas poll it to notice a message
	// pub/sub lost (delivery is at most once).
	epochKey = "apikeys:epoch"
	// sharedPrefix + hex hash holds a verified key's minimal record (or a
	// tombstone) in the shared cache.
	sharedPrefix = "apikeys:v:"
	// tombstone marks a key whose record changed: replicas read SQL and
	// must not cache it in the shared cache until the tombstone expires.
	tombstone = "-"
	// tombstoneTTL outlives any fill that raced the change (one SQL read).
	tombstoneTTL = time.Minute
)

// Forgetter drops a key (by its hex hash) from a verifier's in-process
// cache. The Service calls the local verifier directly, so the replica that
// served a revoke refuses the key before the 204 is sent.
type Forgetter interface {
	Forget(hash string)
}

// Invalidate tells every replica that the key with this hex hash changed:
// it marks the shared-cache entry with a tombstone, counts the change in
// the shared epoch and publishes the hash. The caller has committed the
// change to SQL first. Failures are returned after every step was tried.
func Invalidate(ctx context.Context, c cache.Cache, hash string) error {
	err1 := c.Set(ctx, sharedPrefix+hash, []byte(tombstone), tombstoneTTL)
	epoch, err2 := c.Incr(ctx, epochKey, 0)
	if err2 != nil {
		epoch = 0 // subscribers still drop the key; the epoch just is not counted
	}
	err3 := c.Publish(ctx, InvalidationChannel, []byte(strconv.FormatInt(epoch, 10)+" "+hash))
	return errors.Join(err1, err2, err3)
}

// parseInvalidation splits a message of InvalidationChannel.
func parseInvalidation(msg []byte) (epoch int64, sum [32]byte, ok bool) {
	e, h, found := strings.Cut(string(msg), " ")
	if !found || len(h) != 64 {
		return 0, sum, false
	}
	n, err := strconv.ParseInt(e, 10, 64)
	if err != nil {
		return 0, sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(h)); err != nil {
		return 0, sum, false
	}
	return n, sum, true
}

func readEpoch(ctx context.Context, c cache.Cache) (int64, error) {
	b, err := c.Get(ctx, epochKey)
	if errors.Is(err, cache.ErrMiss) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// sharedRecord is what the shared cache keeps of a verified key: what a
// verification answers, never the key or its sealed text.
type sharedRecord struct {
	V         int        `json:"v"`
	ID        string     `json:"id"`
	Org       string     `json:"org"`
	Mode      store.Mode `json:"mode"`
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"exp,omitempty"`
	RateLimit int        `json:"rl,omitempty"`
	PerMinute int        `json:"rlm,omitempty"`
	// At is when the record was written (Unix nanoseconds).
	At int64 `json:"at,omitempty"`
}

const sharedVersion = 1

func encodeShared(k store.APIKey, at time.Time) ([]byte, error) {
	return json.Marshal(sharedRecord{V: sharedVersion, ID: k.ID, Org: k.OrganisationID, Mode: k.Mode, Type: k.Type,
		Name: k.Name, Scopes: k.Scopes, ExpiresAt: k.ExpiresAt, RateLimit: k.RateLimit, PerMinute: k.RateLimitPerMinute,
		At: at.UnixNano()})
}

// decodeShared returns the record and when it was written (Unix
// nanoseconds; 0 when not recorded).
func decodeShared(b []byte) (store.APIKey, int64, error) {
	var r sharedRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return store.APIKey{}, 0, err
	}
	if r.V != sharedVersion || r.ID == "" {
		return store.APIKey{}, 0, errors.New("apikey: unknown shared record")
	}
	return store.APIKey{ID: r.ID, OrganisationID: r.Org, Mode: r.Mode, Type: r.Type, Name: r.Name,
		Scopes: r.Scopes, ExpiresAt: r.ExpiresAt, RateLimit: r.RateLimit, RateLimitPerMinute: r.PerMinute}, r.At, nil
}
