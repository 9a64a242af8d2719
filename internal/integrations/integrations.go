package integrations

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/lastgood"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
)

// Audit actions.
const (
	ActionOTPUpdated = "integration.otp_updated"
	ActionOTPDeleted = "integration.otp_deleted"
	ActionOTPTested  = "integration.otp_tested"
)

// boxPurpose is the secretbox purpose sealing the integrations' secrets.
const boxPurpose = "otp-integration"

// InvalidationChannel carries "<organisation>/<mode>" of every changed
// integration, so every replica drops its cached copy at once.
const InvalidationChannel = "integrations:otp"

// Errors. A *ValidationError names the bad field; a *RateLimitedError
// and a *DeliveryError are matched with errors.As.
var (
	// ErrForbidden: a user without the admin or owner role.
	ErrForbidden = errors.New("integrations: the caller may not configure integrations")
	// ErrNoOrganisation: the token acts for an organisation the user has
	// no role in.
	ErrNoOrganisation = errors.New("integrations: no right in the organisation the token acts for")
	// ErrNotBusiness: the caller acts for an organisation that is not a
	// business (the service owner, a merchant).
	ErrNotBusiness = errors.New("integrations: integrations belong to a business")
	// ErrNotConfigured: the business has no integration in this mode (the
	// service-wide sender applies).
	ErrNotConfigured = errors.New("integrations: no OTP integration is configured")
)

// ValidationError is bad input, naming its field (a JSON path).
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return "integrations: " + e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// RateLimitedError: too many test messages.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("integrations: too many test messages, retry after %s", e.RetryAfter)
}

// DeliveryError: the business's provider did not take a test message.
// Reason is the provider's answer with the destination and code removed.
type DeliveryError struct{ Reason string }

func (e *DeliveryError) Error() string {
	return "integrations: the test message was not delivered: " + e.Reason
}

// Store is what the service needs from the store.
type Store interface {
	GetOTPIntegration(ctx context.Context, organisationID string, mode store.Mode) (store.OTPIntegration, error)
	PutOTPIntegration(ctx context.Context, organisationID string, mode store.Mode,
		fn func(old store.OTPIntegration, found bool) (store.OTPIntegration, error)) (store.OTPIntegration, error)
	DeleteOTPIntegration(ctx context.Context, organisationID string, mode store.Mode) error
}

// Authorizer decides users' rights (identity.Service).
type Authorizer interface {
	RoleIn(ctx context.Context, userID, orgID string) (identity.Grant, error)
	BusinessOf(ctx context.Context, orgID string) (string, error)
}

// Auditor records audit events (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, e store.AuditEvent)
}

// Options configure a Service.
type Options struct {
	Store      Store
	Cache      cache.Cache // pub/sub of changes and the test messages' rate limit
	Authorizer Authorizer
	Audit      Auditor
	// SystemSecret seals the secrets.
	SystemSecret string
	Logger       *slog.Logger
	Now          func() time.Time

	// TwilioBaseURL is the Messages API base every business's twilio
	// sender uses (otp.twilio.base_url): a business chooses its account,
	// never where its auth token is sent.
	TwilioBaseURL string
	// SendTimeout bounds a test message (otp.send_timeout) [5s].
	SendTimeout time.Duration
	// AllowPrivateNetworks lets webhooks and SMTP relays be at loopback,
	// private or link-local addresses, and webhooks at http://loopback
	// (tests, closed networks); off, only public addresses, over https.
	AllowPrivateNetworks bool
	// CacheTTL is how long a replica uses its copy of an integration
	// without reading it again, should an invalidation message be lost
	// [30s].
	CacheTTL time.Duration
	// QueryTimeout bounds each read on a cache miss [1s]; StaleIfError is
	// how long the last good copy serves while the database fails
	// (0: 5m, negative: off).
	QueryTimeout, StaleIfError time.Duration
	// TestsPerHour bounds the test messages per business and mode [10].
	TestsPerHour int
	// RootCAs verify the providers' certificates; nil: the system roots
	// (tests set their own).
	RootCAs *x509.CertPool
}

// Service configures the businesses' integrations and answers the OTP
// service's Delivery.
type Service struct {
	o             Options
	box           *secretbox.Box
	webhookClient *http.Client // reaches public addresses only (unless AllowPrivateNetworks)
	twilioClient  *http.Client
	deliveries    *lastgood.Cache[key, entry]
}

type key struct {
	org  string
	mode store.Mode
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Cache == nil || o.Authorizer == nil {
		return nil, errors.New("integrations: store, cache and authorizer are required")
	}
	box, err := secretbox.New(o.SystemSecret, boxPurpose)
	if err != nil {
		return nil, fmt.Errorf("integrations: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 5 * time.Second
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = 30 * time.Second
	}
	if o.TestsPerHour <= 0 {
		o.TestsPerHour = 10
	}
	if o.TwilioBaseURL == "" {
		o.TwilioBaseURL = "https://api.twilio.com"
	}
	s := &Service{o: o, box: box}
	s.webhookClient = s.httpClient(s.control())
	s.twilioClient = s.httpClient(nil)
	s.deliveries = lastgood.New[key, entry](lastgood.Config{Fresh: o.CacheTTL, StaleIfError: o.StaleIfError,
		Timeout: o.QueryTimeout, Outage: store.Unavailable, Now: o.Now},
		func(k key) string { return k.org + "/" + string(k.mode) })
	return s, nil
}

// control is the dial guard of connections to a business's providers.
func (s *Service) control() func(string, string, syscallRawConn) error {
	if s.o.AllowPrivateNetworks {
		return nil
	}
	return sender.PublicOnly
}

// httpClient is a client without proxy (a proxy would dial for us, past
// the guard), with the guard on every connection it makes.
func (s *Service) httpClient(control func(string, string, syscallRawConn) error) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: control}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSClientConfig:       tlsConfig(s.o.RootCAs),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr, Timeout: s.o.SendTimeout + time.Second}
}

// Caller is who calls: a secret key of the business (KeyID; the door
// checked its type and scope) or a user's token acting for Org in Mode.
type Caller struct {
	KeyID  string
	UserID string
	Org    string
	Mode   store.Mode
}

// actor is who acted, for the audit trail.
type actor struct{ kind, id string }

func (a actor) String() string { return a.kind + ":" + a.id }

// authorize returns the business and mode the caller configures. A user
// needs the admin or owner role there; a key or token must act for a
// business itself.
func (s *Service) authorize(ctx context.Context, c Caller) (key, actor, error) {
	if !c.Mode.Valid() || c.Org == "" {
		return key{}, actor{}, ErrNoOrganisation
	}
	a := actor{kind: store.KindAPIKey, id: c.KeyID}
	if c.KeyID == "" {
		if c.UserID == "" {
			return key{}, actor{}, ErrForbidden
		}
		g, err := s.o.Authorizer.RoleIn(ctx, c.UserID, c.Org)
		switch {
		case errors.Is(err, identity.ErrForbidden):
			return key{}, actor{}, ErrNoOrganisation
		case err != nil:
			return key{}, actor{}, err
		case !identity.AtLeast(g.Role, identity.RoleAdmin):
			return key{}, actor{}, ErrForbidden
		}
		a = actor{kind: store.KindUser, id: c.UserID}
	}
	biz, err := s.o.Authorizer.BusinessOf(ctx, c.Org)
	switch {
	case errors.Is(err, identity.ErrNoBusiness), err == nil && biz != c.Org:
		return key{}, actor{}, ErrNotBusiness
	case err != nil:
		return key{}, actor{}, err
	}
	return key{org: c.Org, mode: c.Mode}, a, nil
}

// Get returns the business's OTP integration in the caller's mode
// (secrets only as "set"), or ErrNotConfigured.
func (s *Service) Get(ctx context.Context, c Caller) (View, error) {
	k, _, err := s.authorize(ctx, c)
	if err != nil {
		return View{}, err
	}
	row, err := s.o.Store.GetOTPIntegration(ctx, k.org, k.mode)
	if errors.Is(err, store.ErrNotFound) {
		return View{}, ErrNotConfigured
	}
	if err != nil {
		return View{}, err
	}
	return s.view(row)
}

// Put validates in and replaces the business's OTP integration in the
// caller's mode. A secret left out (nil) keeps the stored one, except an
// SMTP password when the host, port or username change (it would be sent
// to another server). Invalid input changes nothing. It returns the view
// and whether the integration was created.
func (s *Service) Put(ctx context.Context, c Caller, in Input) (View, bool, error) {
	k, a, err := s.authorize(ctx, c)
	if err != nil {
		return View{}, false, err
	}
	next, err := normalise(in, s.o.AllowPrivateNetworks)
	if err != nil {
		return View{}, false, err
	}
	var (
		created bool
		changed []string
	)
	row, err := s.o.Store.PutOTPIntegration(ctx, k.org, k.mode, func(old store.OTPIntegration, found bool) (store.OTPIntegration, error) {
		created = !found
		var prev stored
		if found {
			var err error
			if prev, err = s.open(old); err != nil {
				// The old secrets cannot be read (the system secret
				// changed): they are not kept, so every one must be given.
				s.o.Logger.WarnContext(ctx, "integrations: stored OTP integration cannot be opened; its secrets must be given again",
					"organisation_id", k.org, "mode", string(k.mode), "error", err)
				prev = stored{sender: old.Sender}
			}
		}
		merged, err := mergeSecrets(prev, found, next, in)
		if err != nil {
			return store.OTPIntegration{}, err
		}
		changed = merged.changes(prev, found)
		return s.seal(k, merged, a)
	})
	if err != nil {
		return View{}, false, err
	}
	s.invalidate(ctx, k)
	details := map[string]string{"mode": string(k.mode), "sender": row.Sender, "version": fmt.Sprint(row.Version), "changed": joinList(changed)}
	if next.settings.WebhookURL != "" {
		details["webhook_host"] = hostOf(next.settings.WebhookURL)
	}
	if next.settings.SMTP != nil {
		details["smtp_host"] = next.settings.SMTP.Host
	}
	s.record(ctx, a, k, ActionOTPUpdated, true, details)
	v, err := s.view(row)
	return v, created, err
}

// Delete removes the business's OTP integration in the caller's mode:
// its codes go through the service-wide sender again.
func (s *Service) Delete(ctx context.Context, c Caller) error {
	k, a, err := s.authorize(ctx, c)
	if err != nil {
		return err
	}
	if err := s.o.Store.DeleteOTPIntegration(ctx, k.org, k.mode); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotConfigured
		}
		return err
	}
	s.invalidate(ctx, k)
	s.record(ctx, a, k, ActionOTPDeleted, true, map[string]string{"mode": string(k.mode)})
	return nil
}

func (s *Service) record(ctx context.Context, a actor, k key, action string, ok bool, details map[string]string) {
	if s.o.Audit == nil {
		return
	}
	s.o.Audit.Record(ctx, store.AuditEvent{
		Action: action, Success: ok, ActorKind: a.kind, ActorID: a.id, OrganisationID: k.org,
		TargetKind: "otp_integration", TargetID: k.org + "/" + string(k.mode), Details: details,
	})
}

// invalidate drops the business's cached delivery here and, through the
// shared cache, on every replica (which otherwise see the change within
// CacheTTL).
func (s *Service) invalidate(ctx context.Context, k key) {
	s.deliveries.Remove(k)
	if err := s.o.Cache.Publish(ctx, InvalidationChannel, []byte(k.org+"/"+string(k.mode))); err != nil {
		s.o.Logger.WarnContext(ctx, "integrations: cannot publish a change; other replicas see it within the cache TTL",
			"ttl", s.o.CacheTTL, "error", err)
	}
}

// Start follows other replicas' changes until ctx ends.
func (s *Service) Start(ctx context.Context) error {
	ch, err := s.o.Cache.Subscribe(ctx, InvalidationChannel)
	if err != nil {
		return err
	}
	go func() {
		for msg := range ch {
			org, mode, ok := cutLast(string(msg), "/")
			if ok {
				s.deliveries.Remove(key{org: org, mode: store.Mode(mode)})
			}
		}
	}()
	return nil
}
