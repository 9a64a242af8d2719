package apikey

import (
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
)

// NewBox is the box that seals public keys under a key derived from the
// system secret (one purpose, named once).
func NewBox(systemSecret string) (*secretbox.Box, error) {
	return secretbox.New(systemSecret, "api-keys")
}

// Sealer encrypts public keys so they can be shown again (NewBox).
type Sealer interface {
	Seal(plaintext, aad []byte) []byte
}

// NewRecord generates a key and the record that stores it: the SHA-256
// hash, the display parts and, for public keys only, the sealed plaintext
// (aad = the key's id). The key itself is returned once and never stored.
func NewRecord(typ string, mode store.Mode, orgID, name, createdBy string, scopes []string, sealer Sealer, now time.Time) (string, store.APIKey, error) {
	key, err := Generate(typ, mode)
	if err != nil {
		return "", store.APIKey{}, err
	}
	p, err := Parse(key)
	if err != nil {
		return "", store.APIKey{}, err
	}
	rec := store.APIKey{
		ID: uuid.Must(uuid.NewV7()).String(), OrganisationID: orgID, Mode: mode, Type: typ, Name: name,
		Prefix: p.Prefix, Last4: p.Last4, Hash: Hash(key), Scopes: scopes, CreatedBy: createdBy, CreatedAt: now.UTC(),
	}
	if typ == store.APIKeyPublic {
		rec.Sealed = sealer.Seal([]byte(key), []byte(rec.ID))
	}
	return key, rec, nil
}
