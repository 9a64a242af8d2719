package sender

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/config"
)

// smtpServer is just enough of an SMTP server for the sender: EHLO/HELO,
// AUTH CRAM-MD5, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It never offers
// STARTTLS.
type smtpServer struct {
	t        *testing.T
	ln       net.Listener
	user     string // AUTH CRAM-MD5 offered when set
	password string
	silent   bool // accept connections and say nothing
	// tls: offer STARTTLS with this config (or, with implicit, speak TLS
	// from the first byte).
	tls      *tls.Config
	implicit bool

	mu      sync.Mutex
	mails   []smtpMail
	authed  []string
	cmds    []string
	overTLS []bool // per mail: was the session encrypted
}

type smtpMail struct {
	from string
	rcpt []string
	data string
}

func newSMTPServer(t *testing.T, s *smtpServer) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.t, s.ln = t, ln
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				s.serve(conn)
			}()
		}
	}()
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) serve(conn net.Conn) {
	if s.silent {
		_, _ = bufio.NewReader(conn).ReadString('\n') // until the client gives up
		return
	}
	encrypted := false
	if s.implicit {
		tc := tls.Server(conn, s.tls)
		if err := tc.Handshake(); err != nil {
			return
		}
		conn, encrypted = tc, true
	}
	r := bufio.NewReader(conn)
	say := func(lines ...string) {
		for _, l := range lines {
			if _, err := conn.Write([]byte(l + "\r\n")); err != nil {
				return
			}
		}
	}
	say("220 127.0.0.1 ESMTP authd-test")
	var cur smtpMail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		s.mu.Lock()
		s.cmds = append(s.cmds, verb)
		s.mu.Unlock()
		switch verb {
		case "EHLO":
			ext := []string{"250-127.0.0.1", "250-8BITMIME", "250-SMTPUTF8"}
			if s.tls != nil && !encrypted {
				ext = append(ext, "250-STARTTLS")
			}
			if s.user != "" {
				ext = append(ext, "250-AUTH PLAIN LOGIN CRAM-MD5")
			}
			say(append(ext, "250 SIZE 10240000")...)
		case "HELO":
			say("250 127.0.0.1")
		case "STARTTLS":
			if s.tls == nil || encrypted {
				say("502 5.5.1 STARTTLS not available")
				continue
			}
			say("220 2.0.0 Ready to start TLS")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, encrypted, r = tc, true, bufio.NewReader(tc)
		case "AUTH":
			s.cramMD5(r, say)
		case "MAIL":
			cur = smtpMail{from: line}
			say("250 2.1.0 Ok")
		case "RCPT":
			cur.rcpt = append(cur.rcpt, line)
			say("250 2.1.5 Ok")
		case "DATA":
			say("354 End data with <CR><LF>.<CR><LF>")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			cur.data = b.String()
			s.mu.Lock()
			s.mails = append(s.mails, cur)
			s.overTLS = append(s.overTLS, encrypted)
			s.mu.Unlock()
			say("250 2.0.0 Ok: queued")
		case "RSET", "NOOP":
			say("250 2.0.0 Ok")
		case "QUIT":
			say("221 2.0.0 Bye")
			return
		default:
			say("502 5.5.2 Error: command not recognized")
		}
	}
}

// cramMD5 runs AUTH CRAM-MD5 (RFC 2195) against s.user/s.password.
func (s *smtpServer) cramMD5(r *bufio.Reader, say func(...string)) {
	challenge := "<1896.697170952@127.0.0.1>"
	say("334 " + base64.StdEncoding.EncodeToString([]byte(challenge)))
	l, err := r.ReadString('\n')
	if err != nil {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(l))
	user, digest, _ := strings.Cut(string(raw), " ")
	mac := hmac.New(md5.New, []byte(s.password))
	mac.Write([]byte(challenge))
	if err != nil || user != s.user || digest != hex.EncodeToString(mac.Sum(nil)) {
		say("535 5.7.8 Authentication failed")
		return
	}
	s.mu.Lock()
	s.authed = append(s.authed, user)
	s.mu.Unlock()
	say("235 2.7.0 Authentication successful")
}

func (s *smtpServer) snapshot() ([]smtpMail, []string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMail(nil), s.mails...), append([]string(nil), s.authed...), append([]string(nil), s.cmds...)
}

func TestSMTPDelivers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		server   *smtpServer
		username string
	}{
		{name: "no auth", server: &smtpServer{}},
		{name: "auth", server: &smtpServer{user: "relay-user", password: "relay-pass"}, username: "relay-user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSMTPServer(t, tc.server)
			s, err := NewSMTP(config.SMTP{Host: "127.0.0.1", Port: srv.port(), From: "Authd <no-reply@authd.test>",
				TLS: "none", Username: tc.username, Password: "relay-pass"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := testMessage(ChannelEmail)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Send(ctx, m); err != nil {
				t.Fatal(err)
			}
			mails, authed, _ := srv.snapshot()
			if len(mails) != 1 {
				t.Fatalf("%d mails", len(mails))
			}
			got := mails[0]
			if !strings.Contains(got.from, "<no-reply@authd.test>") || len(got.rcpt) != 1 || !strings.Contains(got.rcpt[0], "<jimmy@example.com>") {
				t.Errorf("envelope %q %q", got.from, got.rcpt)
			}
			for _, want := range []string{"Subject: Your sign-in code", "To: <jimmy@example.com>", m.Code, "It expires in 5 minutes."} {
				if !strings.Contains(got.data, want) {
					t.Errorf("message lacks %q:\n%s", want, got.data)
				}
			}
			if tc.username != "" && (len(authed) != 1 || authed[0] != tc.username) {
				t.Errorf("authenticated as %q", authed)
			}
		})
	}
}

// testTLS returns a server config with a fresh self-signed certificate for
// 127.0.0.1 and a pool that trusts it.
func testTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestSMTPOverTLS(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policy   string
		implicit bool
	}{
		{name: "starttls", policy: "starttls"},
		{name: "implicit tls", policy: "tls", implicit: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serverTLS, pool := testTLS(t)
			srv := newSMTPServer(t, &smtpServer{tls: serverTLS, implicit: tc.implicit, user: "relay-user", password: "relay-pass"})
			s, err := NewSMTP(config.SMTP{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@authd.test", TLS: tc.policy,
				Username: "relay-user", Password: "relay-pass"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.rootCAs = pool
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Send(ctx, testMessage(ChannelEmail)); err != nil {
				t.Fatal(err)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.mails) != 1 || !srv.overTLS[0] || !strings.Contains(srv.mails[0].data, "482913") || len(srv.authed) != 1 {
				t.Errorf("mails %d, over TLS %v, authed %v", len(srv.mails), srv.overTLS, srv.authed)
			}
		})
	}
	t.Run("untrusted certificate refused", func(t *testing.T) {
		serverTLS, _ := testTLS(t)
		srv := newSMTPServer(t, &smtpServer{tls: serverTLS})
		s, err := NewSMTP(config.SMTP{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@authd.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Send(ctx, testMessage(ChannelEmail)); err == nil {
			t.Fatal("sent to a server with an untrusted certificate")
		}
		mails, _, _ := srv.snapshot()
		if len(mails) != 0 {
			t.Error("mail delivered")
		}
	})
}

func TestSMTPStartTLSRequired(t *testing.T) {
	srv := newSMTPServer(t, &smtpServer{})
	s, err := NewSMTP(config.SMTP{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@authd.test", TLS: "starttls"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = s.Send(ctx, testMessage(ChannelEmail))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a STARTTLS refusal", err)
	}
	mails, _, cmds := srv.snapshot()
	if len(mails) != 0 || strings.Contains(strings.Join(cmds, " "), "MAIL") {
		t.Errorf("sent in the clear: %v", cmds)
	}
	// The default (empty) policy is starttls too.
	s, err = NewSMTP(config.SMTP{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@authd.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, testMessage(ChannelEmail)); err == nil {
		t.Error("default TLS policy sent without STARTTLS")
	}
}

func TestSMTPBoundedByDeadline(t *testing.T) {
	srv := newSMTPServer(t, &smtpServer{silent: true})
	s, err := NewSMTP(config.SMTP{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@authd.test", TLS: "none"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Send(ctx, testMessage(ChannelEmail)); err == nil {
		t.Fatal("Send succeeded")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Send took %s with a 300ms deadline", d)
	}
}

func TestSMTPRejects(t *testing.T) {
	s, err := NewSMTP(config.SMTP{Host: "127.0.0.1", Port: 1, From: "no-reply@authd.test", TLS: "none"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testMessage(ChannelSMS)); !errors.Is(err, ErrUnsupportedChannel) {
		t.Errorf("sms: %v", err)
	}
	for _, cfg := range []config.SMTP{
		{From: "a@b.c"},
		{Host: "h", From: "not an address"},
		{Host: "h", From: "a@b.c", TLS: "ssl3"},
	} {
		if _, err := NewSMTP(cfg, nil); err == nil {
			t.Errorf("NewSMTP(%+v) accepted", cfg)
		}
	}
	// Connection refused: the error names the relay, not the recipient.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = s.Send(ctx, testMessage(ChannelEmail))
	if err == nil || strings.Contains(err.Error(), "jimmy@example.com") || !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(1)) {
		t.Errorf("err = %v", err)
	}
}
