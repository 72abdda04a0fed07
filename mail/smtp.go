package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	dialTimeout      = 10 * time.Second
	handshakeTimeout = 30 * time.Second // greeting, EHLO, STARTTLS and AUTH together
	messageTimeout   = time.Minute      // MAIL to the end of DATA
	quitTimeout      = 5 * time.Second
	// maxPerConnection is where we stop reusing a connection; providers
	// close connections after some tens or hundreds of messages anyway.
	maxPerConnection = 100
)

// NewSender parses --smtp-url. An empty URL means no SMTP server and returns
// a nil Sender: the caller then writes mail to files with NewFileSender.
//
//	smtp://[user:pass@]host[:port]   plain SMTP (port 25), upgraded with STARTTLS when offered
//	smtps://[user:pass@]host[:port]  implicit TLS (port 465)
//
// Credentials are sent only over TLS, or in clear to a loopback host
// (localhost, 127.0.0.0/8, ::1); to any other host without TLS, Send fails
// and says so. A STARTTLS that fails (a certificate that does not verify,
// say) fails the delivery rather than falling back to plain text.
//
// tlsConfig may be nil: the system's roots, with ServerName from the URL.
func NewSender(smtpURL string, tlsConfig *tls.Config) (Sender, error) {
	if smtpURL == "" {
		return nil, nil
	}
	// url.Parse's errors quote the whole URL, password and all: say less.
	u, err := url.Parse(smtpURL)
	if err != nil {
		return nil, errors.New("mail: --smtp-url is not a valid URL")
	}
	s := &smtpSender{host: u.Hostname(), dial: (&net.Dialer{}).DialContext}
	var defaultPort string
	switch u.Scheme {
	case "smtp":
		defaultPort = "25"
	case "smtps":
		defaultPort, s.implicitTLS = "465", true
	default:
		return nil, fmt.Errorf("mail: --smtp-url: scheme %q is neither smtp nor smtps", u.Scheme)
	}
	if s.host == "" || u.Opaque != "" {
		return nil, errors.New("mail: --smtp-url: no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("mail: --smtp-url: a path, query or fragment means nothing here")
	}
	port := u.Port()
	if port == "" {
		port = defaultPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("mail: --smtp-url: bad port %q", port)
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" {
			return nil, errors.New("mail: --smtp-url: credentials without a user name")
		}
	}
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	s.tls = tlsConfig.Clone()
	if s.tls.ServerName == "" {
		s.tls.ServerName = s.host
	}
	return s, nil
}

// smtpSender delivers through one SMTP server.
type smtpSender struct {
	host        string // as in the URL: the TLS name, and what the loopback rule looks at
	addr        string // host:port
	implicitTLS bool
	user, pass  string
	tls         *tls.Config
	// dial is a field so that tests can point a non-loopback name at a
	// local server.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Send delivers msg over a connection of its own.
func (s *smtpSender) Send(ctx context.Context, from, to string, msg []byte) error {
	ss := s.session()
	defer ss.Close()
	return ss.Send(ctx, from, to, msg)
}

func (s *smtpSender) session() session { return &smtpSession{s: s} }

func (s *smtpSender) check(ctx context.Context) error {
	c, err := s.connect(ctx)
	if err != nil {
		return s.classify(ctx, err)
	}
	return c.quit()
}

// smtpSession delivers messages over one connection, opened on first use
// and again after a failure or maxPerConnection messages.
type smtpSession struct {
	s *smtpSender
	c *smtpConn
}

func (ss *smtpSession) Send(ctx context.Context, from, to string, msg []byte) error {
	from, to, err := envelope(from, to)
	if err != nil {
		return &PermanentError{err}
	}
	for {
		reused := ss.c != nil
		if ss.c == nil {
			if ss.c, err = ss.s.connect(ctx); err != nil {
				return ss.s.classify(ctx, err)
			}
		}
		started, err := ss.c.deliver(ctx, from, to, msg)
		if err == nil {
			ss.c.sent++
			if ss.c.sent >= maxPerConnection {
				ss.Close()
			}
			return nil
		}
		if !ss.c.recover(err) {
			ss.c.close()
			ss.c = nil
		}
		// A server may have dropped a connection we kept open. If it did so
		// before the message began, the message is not delivered: try once
		// more on a fresh connection rather than wait for a retry.
		if reused && !started && droppedConnection(err) {
			continue
		}
		return ss.s.classify(ctx, err)
	}
}

// Close ends the session's connection with QUIT.
func (ss *smtpSession) Close() error {
	if ss.c == nil {
		return nil
	}
	err := ss.c.quit()
	ss.c = nil
	return err
}

func envelope(from, to string) (string, string, error) {
	f, err := mail.ParseAddress(from)
	if err != nil {
		return "", "", fmt.Errorf("smtp: envelope sender %q: %w", from, err)
	}
	t, err := mail.ParseAddress(to)
	if err != nil {
		return "", "", fmt.Errorf("smtp: recipient %q: %w", to, err)
	}
	return f.Address, t.Address, nil
}

// smtpConn is one connection, greeted, encrypted where possible and
// authenticated.
type smtpConn struct {
	raw    net.Conn // the TCP connection under any TLS, for deadlines
	client *smtp.Client
	sent   int
}

func (s *smtpSender) connect(ctx context.Context) (_ *smtpConn, err error) {
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	raw, err := s.dial(dialCtx, "tcp", s.addr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			raw.Close()
		}
	}()
	defer watch(ctx, raw, handshakeTimeout)()

	var conn net.Conn = raw
	if s.implicitTLS {
		conn = tls.Client(raw, s.tls)
	}
	client, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return nil, err
	}
	if err := client.Hello(helloName(raw.LocalAddr())); err != nil {
		return nil, err
	}
	if ok, _ := client.Extension("STARTTLS"); ok && !s.implicitTLS {
		if err := client.StartTLS(s.tls); err != nil {
			return nil, fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.user != "" {
		if err := s.authenticate(client); err != nil {
			return nil, err
		}
	}
	return &smtpConn{raw: raw, client: client}, nil
}

func (s *smtpSender) authenticate(c *smtp.Client) error {
	if _, encrypted := c.TLSConnectionState(); !encrypted && !isLoopback(s.host) {
		return fmt.Errorf("refusing to send the credentials in --smtp-url unencrypted to %s: "+
			"the server does not offer STARTTLS; use smtps:// or a server with STARTTLS", s.host)
	}
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return errors.New("--smtp-url has credentials but the server does not offer AUTH")
	}
	var a smtp.Auth
	switch fields := strings.Fields(strings.ToUpper(mechs)); {
	case slices.Contains(fields, "PLAIN"):
		a = plainAuth{s.user, s.pass}
	case slices.Contains(fields, "LOGIN"):
		a = loginAuth{s.user, s.pass}
	default:
		return fmt.Errorf("the server offers AUTH %s, but only PLAIN and LOGIN are supported", mechs)
	}
	if err := c.Auth(a); err != nil {
		return fmt.Errorf("AUTH: %w", err)
	}
	return nil
}

// isLoopback looks at the host as configured, never at what it resolves to:
// a name that resolves to 127.0.0.1 today may not tomorrow.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// helloName is our name in EHLO: the host name when it is fully qualified,
// else an address literal, as RFC 5321 §4.1.4 asks; servers reject a bare
// "localhost" more and more.
func helloName(local net.Addr) string {
	if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") && !strings.ContainsAny(h, " \r\n[]") {
		return h
	}
	if a, ok := local.(*net.TCPAddr); ok {
		if ip4 := a.IP.To4(); ip4 != nil {
			return "[" + ip4.String() + "]"
		}
		return "[IPv6:" + a.IP.String() + "]"
	}
	return "localhost"
}

// deliver runs one mail transaction; started reports whether the server
// had said yes to DATA, after which the message may have been delivered.
func (c *smtpConn) deliver(ctx context.Context, from, to string, msg []byte) (started bool, err error) {
	defer watch(ctx, c.raw, messageTimeout)()
	if err := c.client.Mail(from); err != nil {
		return false, &stageError{"MAIL FROM", err}
	}
	if err := c.client.Rcpt(to); err != nil {
		return false, &stageError{"RCPT TO", err}
	}
	w, err := c.client.Data()
	if err != nil {
		return false, &stageError{"DATA", err}
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return true, &stageError{"DATA", err}
	}
	if err := w.Close(); err != nil {
		return true, &stageError{"end of DATA", err}
	}
	return true, nil
}

// recover readies the connection for the next message after err, and
// reports whether it could. A refusal from the server leaves it usable;
// a broken or timed-out connection does not.
func (c *smtpConn) recover(err error) bool {
	e, ok := errors.AsType[*textproto.Error](err)
	if !ok || e.Code == 421 {
		return false
	}
	c.raw.SetDeadline(time.Now().Add(quitTimeout))
	return c.client.Reset() == nil
}

func (c *smtpConn) quit() error {
	c.raw.SetDeadline(time.Now().Add(quitTimeout))
	err := c.client.Quit()
	c.client.Close()
	return err
}

func (c *smtpConn) close() { c.client.Close() }

// watch bounds the conversation: the connection's deadline is the earlier of
// ctx's and now+timeout, and ends at once if ctx is cancelled. The returned
// func stops watching.
func watch(ctx context.Context, conn net.Conn, timeout time.Duration) (stop func()) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	cancel := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() { cancel() }
}

// stageError says where in the transaction the server or the connection failed.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// droppedConnection reports whether err looks like the server having closed
// the connection, rather than having refused the message.
func droppedConnection(err error) bool {
	e, ok := errors.AsType[*textproto.Error](err)
	return !ok || e.Code == 421
}

// classify names the server in err, and the context's cause when it ended,
// and marks the failures that a retry
// cannot fix: a 5xx answer to RCPT TO or to the message. A 5xx to MAIL FROM
// stays temporary, because it is about our sender address, the same for
// every message: the queue should wait for the operator to fix it.
func (s *smtpSender) classify(ctx context.Context, err error) error {
	// The connection's deadline is ctx's and may fire a moment before ctx
	// is marked done; wait for it, so that the error says why.
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		<-ctx.Done()
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	}
	err = fmt.Errorf("smtp %s: %w", s.addr, err)
	stage, _ := errors.AsType[*stageError](err)
	reply, isReply := errors.AsType[*textproto.Error](err)
	if isReply && reply.Code >= 500 && stage != nil && stage.stage != "MAIL FROM" {
		return &PermanentError{err}
	}
	return err
}

// plainAuth is AUTH PLAIN (RFC 4616). net/smtp has one, but its idea of
// loopback is narrower (localhost, 127.0.0.1 and ::1 only) than the rule
// authenticate applies, which Start repeats in case of a future caller.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(server.Name) {
		return "", nil, errors.New("refusing AUTH PLAIN over an unencrypted connection")
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected challenge after AUTH PLAIN")
	}
	return nil, nil
}

// loginAuth is AUTH LOGIN, which net/smtp lacks and which some servers
// (older Exchange) offer alone.
type loginAuth struct{ user, pass string }

func (a loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(server.Name) {
		return "", nil, errors.New("refusing AUTH LOGIN over an unencrypted connection")
	}
	return "LOGIN", nil, nil
}

func (a loginAuth) Next(prompt []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(prompt))) {
	case "username:", "user name", "username":
		return []byte(a.user), nil
	case "password:", "password":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected AUTH LOGIN prompt %q", prompt)
}
