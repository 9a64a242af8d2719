package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"sync"
	"syscall"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/authd/authd/internal/config"
)

// SMTP sends email through an SMTP relay with go-mail. TLS follows
// cfg.TLS: "starttls" (the default) requires STARTTLS and refuses a server
// that does not offer it; "tls" is implicit TLS (port 465); "none" is
// plaintext, for local relays only. With a username it authenticates with
// the strongest mechanism the server offers (never a plaintext one over an
// unencrypted connection).
type SMTP struct {
	cfg     config.SMTP
	logger  *slog.Logger
	rootCAs *x509.CertPool // nil: the system roots; tests set their own
	control func(network, address string, c syscall.RawConn) error
}

var _ Sender = (*SMTP)(nil)

// SMTPOptions tune an SMTP sender beyond its configuration.
type SMTPOptions struct {
	// Control vets every connection before it is made (PublicOnly for a
	// relay a business chose); nil: none.
	Control func(network, address string, c syscall.RawConn) error
	// RootCAs verify the relay's certificate; nil: the system roots.
	RootCAs *x509.CertPool
}

// NewSMTP returns the SMTP sender.
func NewSMTP(cfg config.SMTP, logger *slog.Logger) (*SMTP, error) {
	return NewSMTPWithOptions(cfg, logger, SMTPOptions{})
}

// NewSMTPWithOptions is NewSMTP with options.
func NewSMTPWithOptions(cfg config.SMTP, logger *slog.Logger, o SMTPOptions) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("sender: smtp host is required")
	}
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("sender: smtp from %q is not an address: %w", cfg.From, err)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = "starttls"
	case "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("sender: smtp tls %q must be starttls, tls or none", cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == "tls" {
			cfg.Port = 465
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TLS == "none" {
		logger.Warn("OTP smtp sender without TLS: use only with a local relay", slog.String("host", cfg.Host))
	}
	return &SMTP{cfg: cfg, logger: logger, rootCAs: o.RootCAs, control: o.Control}, nil
}

// defaultSMTPTimeout bounds a session when the context has no deadline.
const defaultSMTPTimeout = 30 * time.Second

// Send implements Sender; only ChannelEmail is supported. The whole
// session (dial, TLS, auth, transfer) is bounded by ctx's deadline.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if m.Channel != ChannelEmail {
		return fmt.Errorf("smtp: %w: %q", ErrUnsupportedChannel, m.Channel)
	}
	msg := mail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return fmt.Errorf("smtp: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return Redact(fmt.Errorf("smtp: recipient: %w", err), m)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(mail.TypeTextPlain, m.Body)
	msg.SetDate()
	msg.SetMessageID()

	timeout := defaultSMTPTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return fmt.Errorf("smtp: %w", context.DeadlineExceeded)
		}
	}
	tlsConfig := &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12, RootCAs: s.rootCAs}
	d := &smtpDialer{implicitTLS: s.cfg.TLS == "tls", tlsConfig: tlsConfig, session: ctx, control: s.control}
	defer d.close()
	opts := []mail.Option{mail.WithPort(s.cfg.Port), mail.WithTimeout(timeout), mail.WithDialContextFunc(d.dial),
		mail.WithTLSConfig(tlsConfig)}
	switch s.cfg.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL()) // our dialer does the TLS; no STARTTLS inside it
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		// Strongest first. PLAIN and LOGIN are refused by go-mail over a
		// connection that is not TLS (except to localhost).
		opts = append(opts, mail.WithOpportunisticSMTPAuth(
			mail.SMTPAuthSCRAMSHA256PLUS, mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1PLUS, mail.SMTPAuthSCRAMSHA1,
			mail.SMTPAuthCramMD5, mail.SMTPAuthPlain, mail.SMTPAuthLogin),
			mail.WithUsername(s.cfg.Username), mail.WithPassword(s.cfg.Password))
	}
	c, err := mail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp: client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return Redact(fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err), m)
	}
	s.logger.LogAttrs(ctx, slog.LevelDebug, "otp email handed to smtp relay",
		slog.String("otp_id", m.OTPID), slog.String("to", Mask(m.To)))
	return nil
}

// smtpDialer opens the session's connection and keeps hold of it: go-mail
// does not close a connection whose set-up failed (STARTTLS refused, AUTH
// failed), and does not watch the context once connected. close releases
// it in every case, and a done context closes it mid-session.
type smtpDialer struct {
	implicitTLS bool
	tlsConfig   *tls.Config
	session     context.Context // the Send's context (go-mail's dial context ends with the dial)
	control     func(network, address string, c syscall.RawConn) error

	mu    sync.Mutex
	conn  net.Conn
	stops []func() bool
}

func (d *smtpDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := net.Dialer{Control: d.control}
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.conn = conn
	d.stops = append(d.stops, context.AfterFunc(d.session, func() { conn.Close() }))
	d.mu.Unlock()
	if !d.implicitTLS {
		return conn, nil
	}
	tc := tls.Client(conn, d.tlsConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

func (d *smtpDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, stop := range d.stops {
		stop()
	}
	if d.conn != nil {
		d.conn.Close()
	}
}
