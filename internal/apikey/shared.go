package apikey

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/authd/authd/internal/store"
)

// sharedPrefix + hex hash holds a verified key's minimal record in the
// shared cache, for the other replicas.
const sharedPrefix = "apikeys:v:"

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
}

const sharedVersion = 1

func encodeShared(k store.APIKey) ([]byte, error) {
	return json.Marshal(sharedRecord{V: sharedVersion, ID: k.ID, Org: k.OrganisationID, Mode: k.Mode, Type: k.Type,
		Name: k.Name, Scopes: k.Scopes, ExpiresAt: k.ExpiresAt, RateLimit: k.RateLimit, PerMinute: k.RateLimitPerMinute})
}

func decodeShared(b []byte) (store.APIKey, error) {
	var r sharedRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return store.APIKey{}, err
	}
	if r.V != sharedVersion || r.ID == "" {
		return store.APIKey{}, errors.New("apikey: unknown shared record")
	}
	return store.APIKey{ID: r.ID, OrganisationID: r.Org, Mode: r.Mode, Type: r.Type, Name: r.Name,
		Scopes: r.Scopes, ExpiresAt: r.ExpiresAt, RateLimit: r.RateLimit, RateLimitPerMinute: r.PerMinute}, nil
}
