package integrations

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/authd/authd/internal/otp"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/store"
)

type syscallRawConn = syscall.RawConn

// Senders a business may choose (the service-wide log sender is for
// development only).
const (
	SenderWebhook = "webhook"
	SenderSMTP    = "smtp"
	SenderTwilio  = "twilio"
)

// Input is the configuration a business sends, with the setting names of
// the service-wide otp section. A nil secret keeps the stored one.
type Input struct {
	Sender        string
	WebhookURL    string
	WebhookSecret *string
	SMTP          *SMTPInput
	Twilio        *TwilioInput
	// Templates: "<channel>.<purpose>" → BCP 47 locale → text.
	Templates map[string]map[string]string
}

// SMTPInput is the smtp section.
type SMTPInput struct {
	Host     string
	Port     int
	Username string
	Password *string
	From     string
	TLS      string // starttls (default) or tls
}

// TwilioInput is the twilio section.
type TwilioInput struct {
	AccountSID          string
	AuthToken           *string
	From                string
	MessagingServiceSID string
}

// View is a stored configuration as callers see it: each secret only as
// whether it is set.
type View struct {
	OrganisationID   string
	Mode             store.Mode
	Sender           string
	WebhookURL       string
	WebhookSecretSet bool
	SMTP             *SMTPView
	Twilio           *TwilioView
	Templates        map[string]map[string]string
	Version          int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// SMTPView is the smtp section as shown.
type SMTPView struct {
	Host, Username, From, TLS string
	Port                      int
	PasswordSet               bool
}

// TwilioView is the twilio section as shown.
type TwilioView struct {
	AccountSID, From, MessagingServiceSID string
	AuthTokenSet                          bool
}

// settings is what the store keeps in the clear (store.OTPIntegration's
// Settings): never a secret.
type settings struct {
	WebhookURL string                       `json:"webhook_url,omitempty"`
	SMTP       *smtpSettings                `json:"smtp,omitempty"`
	Twilio     *twilioSettings              `json:"twilio,omitempty"`
	Templates  map[string]map[string]string `json:"templates,omitempty"`
}

type smtpSettings struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username,omitempty"`
	From     string `json:"from"`
	TLS      string `json:"tls"`
}

type twilioSettings struct {
	AccountSID          string `json:"account_sid"`
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
}

// secrets are sealed (store.OTPIntegration's Sealed).
type secrets struct {
	WebhookSecret   string `json:"webhook_secret,omitempty"`
	SMTPPassword    string `json:"smtp_password,omitempty"`
	TwilioAuthToken string `json:"twilio_auth_token,omitempty"`
}

// stored is one configuration, opened.
type stored struct {
	sender   string
	settings settings
	secrets  secrets
	version  int64
}

// Limits of the input.
const (
	maxURLLength    = 2048
	minWebhookKey   = 32
	maxSecretLength = 256
)

var (
	twilioAccountSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	twilioServiceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	e164             = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	alphanumericID   = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	shortCode        = regexp.MustCompile(`^[0-9]{3,8}$`)
	hostname         = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$`)
)

// normalise checks in and returns it as it would be stored, secrets
// given in it included (the others are merged by mergeSecrets).
func normalise(in Input, allowPrivate bool) (stored, error) {
	out := stored{sender: in.Sender}
	switch in.Sender {
	case SenderWebhook:
		if in.SMTP != nil {
			return stored{}, invalid("smtp", "The smtp section goes with sender smtp or twilio.")
		}
		if in.Twilio != nil {
			return stored{}, invalid("twilio", "The twilio section goes with sender twilio or smtp.")
		}
	case SenderSMTP:
		if in.SMTP == nil {
			return stored{}, invalid("smtp", "Sender smtp needs the smtp section.")
		}
	case SenderTwilio:
		if in.Twilio == nil {
			return stored{}, invalid("twilio", "Sender twilio needs the twilio section.")
		}
	case "":
		return stored{}, invalid("sender", "The sender is required: webhook, smtp or twilio.")
	default:
		return stored{}, invalid("sender", "The sender must be webhook, smtp or twilio.")
	}
	if in.Sender != SenderWebhook && (in.WebhookURL != "" || in.WebhookSecret != nil) {
		field := "webhook_url"
		if in.WebhookURL == "" {
			field = "webhook_secret"
		}
		return stored{}, invalid(field, "%s goes with sender webhook.", field)
	}
	if in.Sender == SenderWebhook {
		u, err := checkWebhookURL(in.WebhookURL, allowPrivate)
		if err != nil {
			return stored{}, err
		}
		out.settings.WebhookURL = u
		if in.WebhookSecret != nil {
			if err := checkSecret("webhook_secret", *in.WebhookSecret, minWebhookKey); err != nil {
				return stored{}, err
			}
			out.secrets.WebhookSecret = *in.WebhookSecret
		}
	}
	if in.SMTP != nil {
		sm, err := checkSMTP(*in.SMTP, allowPrivate)
		if err != nil {
			return stored{}, err
		}
		out.settings.SMTP = &sm
		if in.SMTP.Password != nil {
			if sm.Username == "" {
				return stored{}, invalid("smtp.password", "A password goes with a username.")
			}
			if err := checkSecret("smtp.password", *in.SMTP.Password, 1); err != nil {
				return stored{}, err
			}
			out.secrets.SMTPPassword = *in.SMTP.Password
		}
	}
	if in.Twilio != nil {
		tw, err := checkTwilio(*in.Twilio)
		if err != nil {
			return stored{}, err
		}
		out.settings.Twilio = &tw
		if in.Twilio.AuthToken != nil {
			if err := checkSecret("twilio.auth_token", *in.Twilio.AuthToken, 16); err != nil {
				return stored{}, err
			}
			out.secrets.TwilioAuthToken = *in.Twilio.AuthToken
		}
	}
	templates, err := checkTemplates(in.Templates)
	if err != nil {
		return stored{}, err
	}
	out.settings.Templates = templates
	return out, nil
}

// checkWebhookURL: an absolute https URL without credentials or
// fragment, whose host (when it is an address) is public. With
// allowPrivate, http is accepted for loopback hosts and any address is.
func checkWebhookURL(raw string, allowPrivate bool) (string, error) {
	const field = "webhook_url"
	if raw == "" {
		return "", invalid(field, "Sender webhook needs webhook_url.")
	}
	if len(raw) > maxURLLength {
		return "", invalid(field, "webhook_url is longer than %d characters.", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", invalid(field, "webhook_url must be an absolute https URL.")
	}
	if u.User != nil {
		return "", invalid(field, "webhook_url must not hold credentials: authd signs every request (X-Authd-Signature).")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", invalid(field, "webhook_url must not have a fragment.")
	}
	host := u.Hostname()
	loopback := isLoopbackHost(host)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate && loopback:
	default:
		return "", invalid(field, "webhook_url must be an https URL: it carries one-time codes.")
	}
	if err := checkHost(field, host, allowPrivate); err != nil {
		return "", err
	}
	return raw, nil
}

// checkHost refuses, unless allowPrivate, a host that is an address off
// the public internet, or localhost. Names are checked again, with their
// resolved addresses, on every connection (sender.PublicOnly).
func checkHost(field, host string, allowPrivate bool) error {
	if host == "" {
		return invalid(field, "%s needs a host.", field)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !allowPrivate && !sender.PublicAddress(ip) {
			return invalid(field, "%s must be a public address (not loopback, private, link-local or reserved).", field)
		}
		return nil
	}
	if !hostname.MatchString(host) || len(host) > 253 {
		return invalid(field, "%s is not a host name.", field)
	}
	if !allowPrivate && isLoopbackHost(host) {
		return invalid(field, "%s must be a public host.", field)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func checkSecret(field, v string, minLen int) error {
	switch {
	case len(v) < minLen:
		if minLen == 1 {
			return invalid(field, "%s must not be empty.", field)
		}
		return invalid(field, "%s must be at least %d characters.", field, minLen)
	case len(v) > maxSecretLength:
		return invalid(field, "%s must be at most %d characters.", field, maxSecretLength)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return invalid(field, "%s must not hold control characters.", field)
	}
	return nil
}

func checkSMTP(in SMTPInput, allowPrivate bool) (smtpSettings, error) {
	out := smtpSettings{Host: strings.TrimSpace(in.Host), Port: in.Port, Username: in.Username, TLS: in.TLS}
	if out.Host == "" {
		return smtpSettings{}, invalid("smtp.host", "smtp.host is required.")
	}
	if err := checkHost("smtp.host", out.Host, allowPrivate); err != nil {
		return smtpSettings{}, err
	}
	switch out.TLS {
	case "":
		out.TLS = "starttls"
	case "starttls", "tls":
	case "none":
		return smtpSettings{}, invalid("smtp.tls", "smtp.tls must be starttls or tls: a business's relay is reached over the internet, never in plaintext.")
	default:
		return smtpSettings{}, invalid("smtp.tls", "smtp.tls must be starttls or tls.")
	}
	switch {
	case out.Port == 0 && out.TLS == "tls":
		out.Port = 465
	case out.Port == 0:
		out.Port = 587
	case out.Port < 1 || out.Port > 65535:
		return smtpSettings{}, invalid("smtp.port", "smtp.port must be a TCP port (1 to 65535), or 0 for the TLS mode's (587, or 465 for tls).")
	}
	if len(out.Username) > maxSecretLength || strings.IndexFunc(out.Username, unicode.IsControl) >= 0 {
		return smtpSettings{}, invalid("smtp.username", "smtp.username must be at most %d characters, without control characters.", maxSecretLength)
	}
	from := strings.TrimSpace(in.From)
	a, err := mail.ParseAddress(from)
	if from == "" || err != nil || len(from) > 320 || !strings.Contains(a.Address, "@") {
		return smtpSettings{}, invalid("smtp.from", "smtp.from must be an email address, such as codes@example.com or \"ACME\" <codes@example.com>.")
	}
	out.From = from
	return out, nil
}

func checkTwilio(in TwilioInput) (twilioSettings, error) {
	out := twilioSettings{AccountSID: in.AccountSID, From: in.From, MessagingServiceSID: in.MessagingServiceSID}
	if !twilioAccountSID.MatchString(out.AccountSID) {
		return twilioSettings{}, invalid("twilio.account_sid", "twilio.account_sid must be a Twilio account SID (AC and 32 hexadecimal digits).")
	}
	switch {
	case out.From == "" && out.MessagingServiceSID == "":
		return twilioSettings{}, invalid("twilio.from", "twilio.from (or twilio.messaging_service_sid) is required.")
	case out.From != "" && !validTwilioFrom(out.From):
		return twilioSettings{}, invalid("twilio.from", "twilio.from must be an E.164 number (+447700900123), a short code or an alphanumeric sender id of up to 11 characters.")
	case out.MessagingServiceSID != "" && !twilioServiceSID.MatchString(out.MessagingServiceSID):
		return twilioSettings{}, invalid("twilio.messaging_service_sid", "twilio.messaging_service_sid must be a messaging service SID (MG and 32 hexadecimal digits).")
	}
	return out, nil
}

// validTwilioFrom: an E.164 number, a short code, or an alphanumeric
// sender id (with a letter).
func validTwilioFrom(v string) bool {
	return e164.MatchString(v) || shortCode.MatchString(v) ||
		(alphanumericID.MatchString(v) && strings.IndexFunc(v, unicode.IsLetter) >= 0)
}

// checkTemplates parses the texts (otp.ParseLocaleTemplates) and returns
// them with canonical locales.
func checkTemplates(in map[string]map[string]string) (map[string]map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if _, err := otp.ParseLocaleTemplates(in); err != nil {
		if te, ok := err.(*otp.TemplateError); ok { //nolint:errorlint // ParseLocaleTemplates returns it as is
			field := "templates." + te.Key
			if te.Locale != "" {
				field += "." + te.Locale
			}
			return nil, invalid(field, "The template %s.", te.Reason)
		}
		return nil, invalid("templates", "The templates are not valid.")
	}
	out := make(map[string]map[string]string, len(in))
	for k, byLocale := range in {
		if len(byLocale) == 0 {
			continue
		}
		m := make(map[string]string, len(byLocale))
		for l, text := range byLocale {
			canon, _ := otp.CanonicalLocale(l) // checked above
			m[canon] = text
		}
		out[k] = m
	}
	return out, nil
}

// mergeSecrets fills the secrets next leaves out from prev, where they
// still apply, and requires the ones that must be given.
func mergeSecrets(prev stored, found bool, next stored, in Input) (stored, error) {
	keep := func(had string) string {
		if found {
			return had
		}
		return ""
	}
	if next.sender == SenderWebhook && in.WebhookSecret == nil {
		next.secrets.WebhookSecret = keep(prev.secrets.WebhookSecret)
		if next.secrets.WebhookSecret == "" {
			return stored{}, invalid("webhook_secret", "webhook_secret is required (at least %d characters): receivers verify X-Authd-Signature with it.", minWebhookKey)
		}
	}
	if sm := next.settings.SMTP; sm != nil && in.SMTP.Password == nil && sm.Username != "" {
		// A kept password goes only to the server it was given for.
		old := prev.settings.SMTP
		if old != nil && old.Host == sm.Host && old.Port == sm.Port && old.Username == sm.Username {
			next.secrets.SMTPPassword = keep(prev.secrets.SMTPPassword)
		}
		if next.secrets.SMTPPassword == "" {
			return stored{}, invalid("smtp.password", "smtp.password is required with a username (again when host, port or username change).")
		}
	}
	if tw := next.settings.Twilio; tw != nil && in.Twilio.AuthToken == nil {
		if old := prev.settings.Twilio; old != nil && old.AccountSID == tw.AccountSID {
			next.secrets.TwilioAuthToken = keep(prev.secrets.TwilioAuthToken)
		}
		if next.secrets.TwilioAuthToken == "" {
			return stored{}, invalid("twilio.auth_token", "twilio.auth_token is required (again when account_sid changes).")
		}
	}
	return next, nil
}

// changes names what differs from prev, for the audit trail (names, never
// values of secrets).
func (s stored) changes(prev stored, found bool) []string {
	if !found {
		return []string{"created"}
	}
	var out []string
	add := func(name string, differs bool) {
		if differs {
			out = append(out, name)
		}
	}
	add("sender", s.sender != prev.sender)
	add("webhook_url", s.settings.WebhookURL != prev.settings.WebhookURL)
	add("webhook_secret", s.secrets.WebhookSecret != prev.secrets.WebhookSecret)
	add("smtp", !equalJSON(s.settings.SMTP, prev.settings.SMTP))
	add("smtp.password", s.secrets.SMTPPassword != prev.secrets.SMTPPassword)
	add("twilio", !equalJSON(s.settings.Twilio, prev.settings.Twilio))
	add("twilio.auth_token", s.secrets.TwilioAuthToken != prev.secrets.TwilioAuthToken)
	add("templates", !equalJSON(s.settings.Templates, prev.settings.Templates))
	return out
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// aad binds sealed secrets to their business and mode: a row's secrets
// cannot be moved to another's.
func aad(org string, mode store.Mode) []byte {
	return []byte("otp-integration/" + org + "/" + string(mode))
}

func (s *Service) seal(k key, v stored, a actor) (store.OTPIntegration, error) {
	st, err := json.Marshal(v.settings)
	if err != nil {
		return store.OTPIntegration{}, err
	}
	sec, err := json.Marshal(v.secrets)
	if err != nil {
		return store.OTPIntegration{}, err
	}
	return store.OTPIntegration{Sender: v.sender, Settings: st, Sealed: s.box.Seal(sec, aad(k.org, k.mode)),
		UpdatedBy: a.String(), UpdatedAt: s.o.Now().UTC()}, nil
}

func (s *Service) open(row store.OTPIntegration) (stored, error) {
	out := stored{sender: row.Sender, version: row.Version}
	if err := json.Unmarshal(row.Settings, &out.settings); err != nil {
		return stored{}, fmt.Errorf("integrations: settings: %w", err)
	}
	plain, err := s.box.Open(row.Sealed, aad(row.OrganisationID, row.Mode))
	if err != nil {
		return stored{}, fmt.Errorf("integrations: secrets: %w", err)
	}
	if err := json.Unmarshal(plain, &out.secrets); err != nil {
		return stored{}, fmt.Errorf("integrations: secrets: %w", err)
	}
	return out, nil
}

func (s *Service) view(row store.OTPIntegration) (View, error) {
	v, err := s.open(row)
	if err != nil {
		return View{}, err
	}
	out := View{OrganisationID: row.OrganisationID, Mode: row.Mode, Sender: row.Sender,
		WebhookURL: v.settings.WebhookURL, WebhookSecretSet: v.secrets.WebhookSecret != "",
		Templates: v.settings.Templates, Version: row.Version, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
	if out.Templates == nil {
		out.Templates = map[string]map[string]string{}
	}
	if sm := v.settings.SMTP; sm != nil {
		out.SMTP = &SMTPView{Host: sm.Host, Port: sm.Port, Username: sm.Username, From: sm.From, TLS: sm.TLS,
			PasswordSet: v.secrets.SMTPPassword != ""}
	}
	if tw := v.settings.Twilio; tw != nil {
		out.Twilio = &TwilioView{AccountSID: tw.AccountSID, From: tw.From, MessagingServiceSID: tw.MessagingServiceSID,
			AuthTokenSet: v.secrets.TwilioAuthToken != ""}
	}
	return out, nil
}

func joinList(l []string) string {
	l = slices.Clone(l)
	slices.Sort(l)
	return strings.Join(l, ",")
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+len(sep):], true
}

func tlsConfig(roots *x509.CertPool) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
}
