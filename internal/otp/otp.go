package otp

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/store"
)

// Channel is how a code travels.
type Channel string

// Channels.
const (
	ChannelSMS   Channel = "sms"
	ChannelEmail Channel = "email"
)

// Purpose is what a code is for; it selects the message template and is
// handed back by Verify so a code for one flow cannot complete another.
type Purpose string

// Purposes.
const (
	PurposeSignIn         Purpose = "signin"
	PurposeRegister       Purpose = "register"
	PurposeAddCredentials Purpose = "add_credentials"
	// PurposeRegisterExisting answers a registration of an identity that
	// is already someone's: the code signs that contact in.
	PurposeRegisterExisting Purpose = "register_existing"
	PurposePasswordReset    Purpose = "password_reset"
	// PurposeUserPasswordReset resets a back-office user's password.
	PurposeUserPasswordReset Purpose = "user_password_reset"
	// PurposeOrganisationRegister proves the owner's email of an
	// organisation sign-up: the code creates the organisation and its
	// owner.
	PurposeOrganisationRegister Purpose = "organisation_register"
	// PurposeOrganisationRegisterExisting answers a sign-up whose owner
	// email already has an account: the code creates nothing.
	PurposeOrganisationRegisterExisting Purpose = "organisation_register_existing"
)

func (p Purpose) valid() bool {
	switch p {
	case PurposeSignIn, PurposeRegister, PurposeAddCredentials, PurposeRegisterExisting, PurposePasswordReset,
		PurposeUserPasswordReset, PurposeOrganisationRegister, PurposeOrganisationRegisterExisting:
		return true
	}
	return false
}

// Config tunes the service. Zero CodeLength, TTL, SendTimeout and
// MaxAttempts take the defaults (6 digits, 5 min, 5 s, 5); a zero
// ResendCooldown, rate limit or SMS budget disables it; negative values are
// refused.
type Config struct {
	CodeLength                                                                                       int
	TTL, ResendCooldown, SendTimeout                                                                 time.Duration
	MaxAttempts, PerIdentifierPerHour, PerIPPerHour, PerAPIKeyPerMinute, SMSBudgetPerBusinessPerHour int
	SMSCountries                                                                                     []string // ISO 3166 alpha-2; empty: any

	// Templates override the built-in texts, keyed "<channel>.<purpose>"
	// (sms.signin, email.register, ...), text/template with {{.Code}} and
	// {{.Minutes}} (also {{.Purpose}}, {{.Channel}}). For email the first
	// line is the subject, the rest the body.
	Templates map[string]string
}

// ConfigFrom maps the otp section of the configuration file.
func ConfigFrom(c config.OTP) Config {
	return Config{
		CodeLength:                  c.CodeLength,
		TTL:                         c.TTL,
		ResendCooldown:              c.ResendCooldown,
		SendTimeout:                 c.SendTimeout,
		MaxAttempts:                 c.MaxAttempts,
		PerIdentifierPerHour:        c.PerIdentifierPerHour,
		PerIPPerHour:                c.PerIPPerHour,
		PerAPIKeyPerMinute:          c.PerAPIKeyPerMinute,
		SMSBudgetPerBusinessPerHour: c.SMSBudgetPerBusinessPerHour,
		SMSCountries:                slices.Clone(c.SMSCountries),
		Templates:                   c.Templates,
	}
}

// Request asks for a code.
type Request struct {
	BusinessID string
	Mode       store.Mode
	APIKeyID   string // rate-limit key; empty: no per-key limit
	IP         string // client IP; empty: no per-IP limit

	Channel Channel
	To      string // E.164 phone or lower-cased email

	// Region is the ISO 3166 alpha-2 region of an SMS destination, for
	// the allow-list. The region the number itself belongs to is checked
	// too, so a mismatched Region cannot smuggle a number past the list.
	Region string

	Purpose Purpose
	// Deliver false: no contact matches. The answer is exactly alike
	// (limits, cooldown, budget check, a stored record, similar latency)
	// but nothing is sent and the code never verifies.
	Deliver bool
	// Data is an opaque payload handed back by Verify; never logged,
	// stored only inside the sealed record.
	Data map[string]string
	// Locale is the BCP 47 tag of the recipient's language (the
	// contact's locale); it picks among the business's own texts (see
	// LocaleTemplates). Empty or malformed: the default.
	Locale string
}

// Issued identifies a code that was sent (or pretended to be).
type Issued struct {
	ID        string
	ExpiresAt time.Time
}

// Verified is what a right code proves.
type Verified struct {
	BusinessID string
	Mode       store.Mode
	Channel    Channel
	To         string
	Purpose    Purpose
	Data       map[string]string
}

// Errors. Match them with errors.Is; a rate limit is a *RateLimitedError
// (errors.As), which also matches ErrRateLimited.
var (
	// ErrInvalidCode: the code is wrong (the attempt was counted).
	ErrInvalidCode = errors.New("otp: invalid code")
	// ErrExpired: the id is unknown, expired, already used, or its code
	// died after too many wrong attempts.
	ErrExpired = errors.New("otp: code expired or unknown")
	// ErrDeliveryFailed: the sender failed; the code is not usable. The
	// error wraps the (redacted) cause for logs.
	ErrDeliveryFailed = errors.New("otp: delivery failed")
	// ErrRegionNotAllowed: the SMS destination is outside
	// Config.SMSCountries.
	ErrRegionNotAllowed = errors.New("otp: destination region not allowed")
	// ErrInvalidRequest: a malformed request (channel, destination,
	// purpose, business or mode); the wrapping error names the field.
	ErrInvalidRequest = errors.New("otp: invalid request")
	// ErrRateLimited is matched by every *RateLimitedError.
	ErrRateLimited = errors.New("otp: rate limited")
)

// Limit names reported in RateLimitedError.Limit.
const (
	LimitIdentifier = "identifier"
	LimitIP         = "ip"
	LimitAPIKey     = "api_key"
	LimitCooldown   = "cooldown"
	LimitSMSBudget  = "sms_budget"
)

// RateLimitedError is a rate limit, the resend cooldown or the SMS budget.
type RateLimitedError struct {
	RetryAfter time.Duration
	// Limit names which one (LimitIdentifier, ...), for logs and metrics;
	// it does not depend on whether a contact exists.
	Limit string
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("otp: rate limited (%s), retry after %s", e.Limit, e.RetryAfter.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// Service issues and verifies codes. It is safe for concurrent use.
type Service struct {
	cache  cache.Cache
	sender sender.Sender
	cfg    Config
	logger *slog.Logger
	now    func() time.Time

	codeKey  []byte          // HMAC key of codes (purpose "otp")
	identKey []byte          // HMAC key naming destinations and IPs in cache keys
	box      *secretbox.Box  // seals records
	regions  map[string]bool // SMSCountries; nil: any
	texts    *templates
	pacer    *pacer
	genCode  func(n int) string // newCode; tests make it deterministic

	// Businesses' own deliveries (UseDeliveries; delivery.go).
	deliveries Deliveries
	pacers     *lru.Cache[string, *pacer] // per delivery and channel
}

// New returns the service. systemSecret must be at least
// secretbox.MinSecretLen characters. A nil logger discards, a nil now is
// time.Now.
func New(c cache.Cache, s sender.Sender, systemSecret string, cfg Config, logger *slog.Logger, now func() time.Time) (*Service, error) {
	if c == nil || s == nil {
		return nil, errors.New("otp: cache and sender are required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	codeKey, err := secretbox.DeriveKey(systemSecret, "otp", 32)
	if err != nil {
		return nil, fmt.Errorf("otp: %w", err)
	}
	identKey, err := secretbox.DeriveKey(systemSecret, "otp-identifier", 32)
	if err != nil {
		return nil, fmt.Errorf("otp: %w", err)
	}
	box, err := secretbox.New(systemSecret, "otp-record")
	if err != nil {
		return nil, fmt.Errorf("otp: %w", err)
	}
	texts, err := parseTemplates(cfg.Templates, cfg.TTL)
	if err != nil {
		return nil, err
	}
	var regions map[string]bool
	if len(cfg.SMSCountries) > 0 {
		regions = make(map[string]bool, len(cfg.SMSCountries))
		for _, r := range cfg.SMSCountries {
			regions[strings.ToUpper(r)] = true
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{
		cache: c, sender: s, cfg: cfg, logger: logger, now: now,
		codeKey: codeKey, identKey: identKey, box: box,
		regions: regions, texts: texts,
		pacer:   newPacer(defaultSendLatency, cfg.SendTimeout),
		genCode: newCode,
	}, nil
}

func (c Config) withDefaults() (Config, error) {
	if c.CodeLength == 0 {
		c.CodeLength = 6
	}
	if c.TTL == 0 {
		c.TTL = 5 * time.Minute
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = 5 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	switch {
	case c.CodeLength < 4 || c.CodeLength > 10:
		return c, fmt.Errorf("otp: code length %d must be between 4 and 10", c.CodeLength)
	case c.TTL < time.Second:
		return c, fmt.Errorf("otp: ttl %s must be at least 1s", c.TTL)
	case c.SendTimeout < 0, c.ResendCooldown < 0, c.MaxAttempts < 0:
		return c, errors.New("otp: send timeout, resend cooldown and max attempts must not be negative")
	case c.PerIdentifierPerHour < 0, c.PerIPPerHour < 0, c.PerAPIKeyPerMinute < 0, c.SMSBudgetPerBusinessPerHour < 0:
		return c, errors.New("otp: rate limits and the SMS budget must not be negative")
	}
	return c, nil
}
