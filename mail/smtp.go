package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	greetingTimeout  = 10 * time.Second // for a plain-text greeting: see connect
	handshakeTimeout = 30 * time.Second // greeting, EHLO, STARTTLS and AUTH together
	messageTimeout   = time.Minute      // MAIL to the end of DATA
	quitTimeout      = 5 * time.Second
	// maxPerConnection is where we stop reusing a connection; providers
	// close connections after some tens or hundreds of messages anyway.
	maxPerConnection = 100
)

// Options are what NewSender needs besides the URL.
type Options struct {
	// TLS is the client's TLS configuration; nil means the system's roots
	// with ServerName from the URL.
	TLS *tls.Config
	// CAFile names a PEM file of CA certificates trusted for the relay
	// besides the system's (or TLS's) roots: --smtp-ca-file.
	CAFile string
	// AllowPlaintext lets mail go unencrypted to a relay that is not on
	// loopback and offers no STARTTLS: --smtp-allow-plaintext. Credentials
	// never go in clear, whatever it says.
	AllowPlaintext bool
}

// NewSender parses --smtp-url. An empty URL means no SMTP server and returns
// a nil Sender: the caller then writes mail to files with NewFileSender.
//
//	smtp://[user:pass@]host[:port]   plain SMTP (port 25), upgraded with STARTTLS when offered
//	smtps://[user:pass@]host[:port]  implicit TLS (port 465)
//
// Mail goes to a relay that is not on loopback (localhost, 127.0.0.0/8,
// ::1) only over TLS, unless o.AllowPlaintext: reset and invitation links
// are credentials. Credentials are sent only over TLS, or in clear to a
// loopback host; to any other host without TLS, Send fails and says so. A
// STARTTLS that fails (a certificate that does not verify, say) fails the
// delivery rather than falling back to plain text.
func NewSender(smtpURL string, o Options) (Sender, error) {
	if smtpURL == "" {
		return nil, nil
	}
	if err := checkUserinfo(smtpURL); err != nil {
		return nil, err
	}
	// url.Parse's errors quote the whole URL, password and all: say less.
	u, err := url.Parse(smtpURL)
	if err != nil {
		return nil, errors.New("mail: --smtp-url is not a valid URL (smtp://user:password@host:port, with any /, #, %, ?, @ or : in the user name or password percent-encoded)")
	}
	s := &smtpSender{host: u.Hostname(), dial: (&net.Dialer{}).DialContext, allowPlaintext: o.AllowPlaintext,
		greeting: greetingTimeout}
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
	if err := checkSchemePort(u.Scheme, s.host, port); err != nil {
		return nil, err
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" {
			return nil, errors.New("mail: --smtp-url: credentials without a user name")
		}
	}
	tlsConfig := o.TLS
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	s.tls = tlsConfig.Clone()
	if s.tls.ServerName == "" {
		s.tls.ServerName = s.host
	}
	if o.CAFile != "" {
		if s.tls.RootCAs, err = addCAFile(s.tls.RootCAs, o.CAFile); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkUserinfo finds what url.Parse would only call "not a valid URL", or
// worse, read as something else: a user name or password with a character
// that must be percent-encoded. The user information ends at the last "@";
// a "/", "?" or "#" before it ends the host part early, and a "%" must
// start an escape. The error names the character, never the password.
func checkUserinfo(raw string) error {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return nil
	}
	userinfo := rest[:at]
	bad := ""
	if i := strings.IndexAny(userinfo, "/?#"); i >= 0 {
		bad = userinfo[i : i+1]
	}
	for i := 0; i < len(userinfo) && bad == ""; i++ {
		if userinfo[i] == '%' && (i+2 >= len(userinfo) || !isHex(userinfo[i+1]) || !isHex(userinfo[i+2])) {
			bad = "%"
		}
	}
	if bad == "" {
		return nil
	}
	return fmt.Errorf("mail: --smtp-url: the user name or password holds %q, which a URL reads as something else: "+
		"percent-encode it (/ is %%2F, # is %%23, %% is %%25, ? is %%3F, @ is %%40, : is %%3A), "+
		"as in smtp://user:pa%%2Fss@host:587", bad)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// checkSchemePort refuses the two mix-ups of scheme and well-known port,
// which otherwise fail slowly or obscurely: smtp:// to 465 waits for a
// greeting the server never sends (it waits for a TLS handshake), and
// smtps:// to 25 or 587 gets a plain-text greeting where TLS was due.
func checkSchemePort(scheme, host, port string) error {
	switch {
	case scheme == "smtp" && port == "465":
		return fmt.Errorf("mail: --smtp-url: port 465 is for implicit TLS: use smtps://%s:465 "+
			"(smtp:// is plain SMTP upgraded with STARTTLS, on ports 25 and 587)", host)
	case scheme == "smtps" && (port == "25" || port == "587"):
		return fmt.Errorf("mail: --smtp-url: port %s takes plain SMTP upgraded with STARTTLS: use smtp://%s:%s "+
			"(smtps:// is implicit TLS, on port 465)", port, host, port)
	}
	return nil
}

// addCAFile returns roots (the system's when nil) with the certificates of
// the PEM file path added.
func addCAFile(roots *x509.CertPool, path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mail: --smtp-ca-file: %w", err)
	}
	if roots == nil {
		if roots, err = x509.SystemCertPool(); err != nil {
			return nil, fmt.Errorf("mail: --smtp-ca-file: the system's roots: %w", err)
		}
	} else {
		roots = roots.Clone()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("mail: --smtp-ca-file %s holds no PEM certificate", path)
	}
	return roots, nil
}

// smtpSender delivers through one SMTP server.
type smtpSender struct {
	host           string // as in the URL: the TLS name, and what the loopback rule looks at
	addr           string // host:port
	implicitTLS    bool
	allowPlaintext bool
	user, pass     string
	tls            *tls.Config
	// dial is a field so that tests can point a non-loopback name at a
	// local server.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// greeting is greetingTimeout, shorter in tests.
	greeting time.Duration
}

// Send delivers msg over a connection of its own.
func (s *smtpSender) Send(ctx context.Context, from, to string, msg []byte) error {
	_, err := s.deliver(ctx, from, to, msg)
	return err
}

func (s *smtpSender) deliver(ctx context.Context, from, to string, msg []byte) (string, error) {
	ss := &smtpSession{s: s}
	defer ss.Close()
	return ss.send(ctx, from, to, msg)
}

func (s *smtpSender) session() session { return &smtpSession{s: s} }

// check connects and says goodbye. A failed QUIT fails nothing: the
// connection, its TLS and its login worked.
func (s *smtpSender) check(ctx context.Context) error {
	c, err := s.connect(ctx)
	if err != nil {
		return s.classify(ctx, err)
	}
	c.quit()
	return nil
}

// Deliver sends msg through s over a connection of its own, as Send does,
// and returns the server's answer to it, such as "250 2.0.0 Ok: queued as
// 4F1A2B3C": `gatehouse mail test` prints it. A failure's error holds the
// answer that refused it.
func Deliver(ctx context.Context, s Sender, from, to string, msg []byte) (answer string, err error) {
	if s, ok := s.(*smtpSender); ok {
		return s.deliver(ctx, from, to, msg)
	}
	if s == nil {
		return "", errors.New("mail: no SMTP server (--smtp-url) to deliver to")
	}
	return "", s.Send(ctx, from, to, msg)
}

// smtpSession delivers messages over one connection, opened on first use
// and again after a failure or maxPerConnection messages.
type smtpSession struct {
	s *smtpSender
	c *smtpConn
}

func (ss *smtpSession) Send(ctx context.Context, from, to string, msg []byte) error {
	_, err := ss.send(ctx, from, to, msg)
	return err
}

func (ss *smtpSession) send(ctx context.Context, from, to string, msg []byte) (string, error) {
	from, to, err := envelope(from, to)
	if err != nil {
		return "", &PermanentError{err}
	}
	for {
		reused := ss.c != nil
		if ss.c == nil {
			if ss.c, err = ss.s.connect(ctx); err != nil {
				return "", ss.s.classify(ctx, err)
			}
		}
		answer, started, err := ss.c.deliver(ctx, from, to, msg)
		if err == nil {
			ss.c.sent++
			if ss.c.sent >= maxPerConnection {
				ss.Close()
			}
			return answer, nil
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
		return "", ss.s.classify(ctx, transaction(err, from, to))
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

// connect opens a connection ready for mail. Its failures are
// RelayErrors: they are the relay's or the configuration's, the same for
// every message.
func (s *smtpSender) connect(ctx context.Context) (_ *smtpConn, err error) {
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	raw, err := s.dial(dialCtx, "tcp", s.addr)
	if err != nil {
		return nil, connectFault("connect", err, s.implicitTLS)
	}
	defer func() {
		if err != nil {
			raw.Close()
		}
	}()
	stop := watch(ctx, raw, handshakeTimeout)
	defer func() { stop() }()
	// The greeting has a shorter wait of its own: a server that says
	// nothing is most often one that waits for a TLS handshake.
	if !s.implicitTLS {
		raw.SetReadDeadline(earliest(ctx, time.Now().Add(s.greeting)))
	}

	var conn net.Conn = raw
	if s.implicitTLS {
		conn = tls.Client(raw, s.tls)
	}
	client, err := smtp.NewClient(conn, s.host)
	if err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && !s.implicitTLS && ctx.Err() == nil {
			return nil, &RelayError{FaultConnect, fixTLSPort,
				fmt.Errorf("no SMTP greeting within %v: %w", s.greeting, err)}
		}
		return nil, connectFault("greeting", err, s.implicitTLS)
	}
	stop()
	stop = watch(ctx, raw, handshakeTimeout)
	if err := client.Hello(helloName(raw.LocalAddr())); err != nil {
		return nil, connectFault("EHLO", err, s.implicitTLS)
	}
	encrypted := s.implicitTLS
	if ok, _ := client.Extension("STARTTLS"); ok && !s.implicitTLS {
		if err := client.StartTLS(s.tls); err != nil {
			return nil, connectFault("STARTTLS", fmt.Errorf("STARTTLS: %w", err), false)
		}
		encrypted = true
	}
	if !encrypted && !isLoopback(s.host) && !s.allowPlaintext {
		return nil, &RelayError{FaultTLS, fixNoSTARTTLS,
			fmt.Errorf("refusing to send mail unencrypted to %s: it does not offer STARTTLS", s.host)}
	}
	if s.user != "" {
		if err := s.authenticate(client); err != nil {
			return nil, err
		}
	}
	return &smtpConn{raw: raw, client: client}, nil
}

// earliest is the earlier of t and ctx's deadline.
func earliest(ctx context.Context, t time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok && d.Before(t) {
		return d
	}
	return t
}

func (s *smtpSender) authenticate(c *smtp.Client) error {
	if _, encrypted := c.TLSConnectionState(); !encrypted && !isLoopback(s.host) {
		return &RelayError{FaultTLS, "use smtps://, or a relay that offers STARTTLS",
			fmt.Errorf("refusing to send the credentials in --smtp-url unencrypted to %s: "+
				"the server does not offer STARTTLS; use smtps:// or a server with STARTTLS", s.host)}
	}
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return &RelayError{FaultAuth, "remove the credentials from --smtp-url, or use a relay (or port, such as 587) that takes them",
			errors.New("--smtp-url has credentials but the server does not offer AUTH")}
	}
	var a smtp.Auth
	switch fields := strings.Fields(strings.ToUpper(mechs)); {
	case slices.Contains(fields, "PLAIN"):
		a = plainAuth{s.user, s.pass}
	case slices.Contains(fields, "LOGIN"):
		a = loginAuth{s.user, s.pass}
	default:
		return &RelayError{FaultAuth, "enable AUTH PLAIN or LOGIN on the relay (over TLS)",
			fmt.Errorf("the server offers AUTH %s, but only PLAIN and LOGIN are supported", mechs)}
	}
	if err := c.Auth(a); err != nil {
		return connectFault("AUTH", fmt.Errorf("AUTH: %w", err), false)
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

// deliver runs one mail transaction and returns the server's answer to the
// message; started reports whether the server had said yes to DATA, after
// which the message may have been delivered. DATA is spoken here rather
// than by net/smtp, whose writer drops the answer.
func (c *smtpConn) deliver(ctx context.Context, from, to string, msg []byte) (answer string, started bool, err error) {
	defer watch(ctx, c.raw, messageTimeout)()
	if err := c.client.Mail(from); err != nil {
		return "", false, &stageError{"MAIL FROM", err}
	}
	if err := c.client.Rcpt(to); err != nil {
		return "", false, &stageError{"RCPT TO", err}
	}
	text := c.client.Text
	id, err := text.Cmd("DATA")
	if err != nil {
		return "", false, &stageError{"DATA", err}
	}
	text.StartResponse(id)
	_, _, err = text.ReadResponse(354)
	text.EndResponse(id)
	if err != nil {
		return "", false, &stageError{"DATA", err}
	}
	w := text.DotWriter()
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return "", true, &stageError{"DATA", err}
	}
	if err := w.Close(); err != nil {
		return "", true, &stageError{"DATA", err}
	}
	code, reply, err := text.ReadResponse(250)
	if err != nil {
		return "", true, &stageError{"end of DATA", err}
	}
	return fmt.Sprintf("%d %s", code, strings.Join(strings.Fields(reply), " ")), true, nil
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
	conn.SetDeadline(earliest(ctx, time.Now().Add(timeout)))
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

// transaction classifies a failure of the mail transaction: a refusal
// that every message would meet becomes a RelayError (transactionFault);
// a 5xx answer to RCPT TO or to the message is permanent for this message;
// anything else is temporary.
func transaction(err error, from, to string) error {
	stage, _ := errors.AsType[*stageError](err)
	reply, isReply := errors.AsType[*textproto.Error](err)
	if stage == nil || !isReply {
		return err
	}
	if f := transactionFault(stage.stage, reply, from, to); f != nil {
		return f
	}
	if reply.Code >= 500 && stage.stage != "MAIL FROM" {
		return &PermanentError{err}
	}
	return err
}

// classify names the server in err, and the context's cause when it
// ended. A context that ended makes any failure temporary: it is about
// our shutdown or deadline, not the relay.
func (s *smtpSender) classify(ctx context.Context, err error) error {
	// The connection's deadline is ctx's and may fire a moment before ctx
	// is marked done; wait for it, so that the error says why.
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		<-ctx.Done()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("smtp %s: %w (%w)", s.addr, context.Cause(ctx), unrelay(err))
	}
	named := fmt.Errorf("smtp %s: %w", s.addr, unrelay(err))
	switch e := err.(type) {
	case *RelayError:
		return &RelayError{e.Fault, e.Fix, named}
	case *PermanentError:
		return &PermanentError{named}
	}
	return named
}

// unrelay returns the error a RelayError or PermanentError wraps, or err.
func unrelay(err error) error {
	switch e := err.(type) {
	case *RelayError:
		return e.Err
	case *PermanentError:
		return e.Err
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
