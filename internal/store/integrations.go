package store

import (
	"context"
	"time"
)

// OTPIntegration is a business's own delivery of one-time codes in one
// mode: which sender, its settings and its templates (Settings, JSON owned
// by package integrations, never holding a secret) and its secrets,
// encrypted with the system secret (Sealed). The store keeps both as
// opaque bytes.
type OTPIntegration struct {
	OrganisationID string
	Mode           Mode
	Sender         string
	Settings       []byte
	Sealed         []byte
	// Version is 1 when the integration is created and grows by one with
	// every change (set by the store).
	Version   int64
	UpdatedBy string // actor kind and id, e.g. "user:…" or "api_key:…"
	CreatedAt time.Time
	UpdatedAt time.Time
}

// IntegrationStore keeps the businesses' own integrations.
type IntegrationStore interface {
	// GetOTPIntegration returns the integration of organisationID in
	// mode, or ErrNotFound.
	GetOTPIntegration(ctx context.Context, organisationID string, mode Mode) (OTPIntegration, error)
	// PutOTPIntegration creates or replaces the integration of
	// organisationID in mode in one transaction: fn gets the stored one
	// (found false and a zero value when there is none) and returns what
	// to store. fn's error is returned unchanged and nothing is written.
	// The organisation and mode cannot change; the store sets Version
	// (the old one plus one, 1 for a new one), keeps CreatedAt and sets
	// UpdatedAt when fn leaves it zero. An unknown organisation is
	// ErrNotFound. It returns what was stored.
	PutOTPIntegration(ctx context.Context, organisationID string, mode Mode,
		fn func(old OTPIntegration, found bool) (OTPIntegration, error)) (OTPIntegration, error)
	// DeleteOTPIntegration removes the integration; ErrNotFound when
	// there is none.
	DeleteOTPIntegration(ctx context.Context, organisationID string, mode Mode) error
}
