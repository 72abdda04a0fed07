package smtptest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Limits from RFC 5321 §4.5.3.1, counting the CRLF.
const (
	smtpCommandLineLimit = 512
	smtpTextLineLimit    = 1000
	smtpAuthLineLimit    = 12288 // RFC 4954 §4
	smtpMaxMessageSize   = 10 << 20
	smtpMaxRecipients    = 100
	smtpIdleTimeout      = time.Minute
)

// WaitTimeout is how long WaitFor waits for a message unless
// WithWaitTimeout says otherwise. It is generous because the mail worker
// polls and backs off; a test that passes waits far less.
const WaitTimeout = 10 * time.Second

// Mail is one message the server accepted.
type Mail struct {
	From     string   // the envelope sender (MAIL FROM)
	To       []string // the envelope recipients (RCPT TO)
	Header   mail.Header
	Subject  string // RFC 2047 decoded
	Text     string // the first text/plain part, decoded, with LF line ends
	HTML     string // the first text/html part, decoded, with LF line ends
	Raw      []byte // the message as received, dot-unstuffed, CRLF line ends
	TLS      bool   // whether the session was encrypted when DATA was sent
	AuthUser string // who authenticated, "" without AUTH
}

// Option configures Start.
type Option func(*smtpConfig)

type smtpConfig struct {
	startTLS    bool
	implicitTLS bool
	user, pass  string
	failures    int
	hangUpEvery int
	slowData    time.Duration
	rejected    map[string]bool
	unverified  map[string]bool
	wait        time.Duration
}

// WithSTARTTLS offers STARTTLS in the EHLO answer, with a certificate made
// for this test. When combined with WithAuth, AUTH is offered only after the
// upgrade, as real servers do.
func WithSTARTTLS() Option { return func(c *smtpConfig) { c.startTLS = true } }

// WithImplicitTLS makes the server speak TLS from the first byte (smtps).
func WithImplicitTLS() Option { return func(c *smtpConfig) { c.implicitTLS = true } }

// WithAuth requires AUTH PLAIN or LOGIN with these credentials before MAIL.
func WithAuth(user, pass string) Option {
	return func(c *smtpConfig) { c.user, c.pass = user, pass }
}

// WithFailures answers the first n DATA commands with 451, a temporary
// failure, to exercise retries.
func WithFailures(n int) Option { return func(c *smtpConfig) { c.failures = n } }

// WithHangUpEvery closes the connection, without an answer and without
// keeping the message, at the end of every k-th message (counted over all
// connections): the client has sent it all and cannot know whether it
// arrived, as when a server or the network fails mid-delivery.
func WithHangUpEvery(k int) Option { return func(c *smtpConfig) { c.hangUpEvery = k } }

// WithSlowData waits d after the end of each message before accepting it,
// so that a test can stop a client in the middle of a delivery.
func WithSlowData(d time.Duration) Option { return func(c *smtpConfig) { c.slowData = d } }

// WithRejectedRecipients answers RCPT TO for these addresses with 550, a
// permanent failure.
func WithRejectedRecipients(addrs ...string) Option {
	return func(c *smtpConfig) {
		for _, a := range addrs {
			c.rejected[strings.ToLower(a)] = true
		}
	}
}

// WithUnverifiedIdentities answers the end of a message from or to any of
// these addresses as Amazon SES answers an identity it has not verified
// (the sender; in its sandbox, the recipients too), after the whole
// message: "554 Message rejected: Email address is not verified. The
// following identities failed the check in region US-EAST-1: <addrs>".
func WithUnverifiedIdentities(addrs ...string) Option {
	return func(c *smtpConfig) {
		for _, a := range addrs {
			c.unverified[strings.ToLower(a)] = true
		}
	}
}

// WithWaitTimeout changes how long WaitFor waits.
func WithWaitTimeout(d time.Duration) Option { return func(c *smtpConfig) { c.wait = d } }

// Server is a running SMTP sink. Its methods are safe for concurrent use.
type Server struct {
	t         testing.TB
	cfg       smtpConfig
	ln        net.Listener
	serverTLS *tls.Config // nil without TLS
	clientTLS *tls.Config
	done      chan struct{} // closed when the server stops

	mu           sync.Mutex
	failuresLeft int
	messagesRead int
	hungUpOn     []string // Message-IDs, once per hang-up
	msgs         []Mail
	commands     []string
	arrived      chan struct{} // closed and replaced whenever a message arrives
	conns        map[net.Conn]bool
	wg           sync.WaitGroup
}

// Start starts an SMTP server on 127.0.0.1 and a free port. It stops,
// closing every connection, when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:       t,
		cfg:     smtpConfig{rejected: map[string]bool{}, unverified: map[string]bool{}, wait: WaitTimeout},
		done:    make(chan struct{}),
		arrived: make(chan struct{}),
		conns:   map[net.Conn]bool{},
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.failuresLeft = s.cfg.failures
	if s.cfg.startTLS || s.cfg.implicitTLS {
		s.serverTLS, s.clientTLS = selfSignedTLS(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: SMTP listen: %v", err)
	}
	if s.cfg.implicitTLS {
		ln = tls.NewListener(ln, s.serverTLS)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.stop)
	return s
}

// URL is the server's address as an --smtp-url: smtps:// with implicit TLS,
// smtp:// otherwise, with the credentials when WithAuth is set.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.ln.Addr().String()}
	if s.cfg.implicitTLS {
		u.Scheme = "smtps"
	}
	if s.cfg.user != "" {
		u.User = url.UserPassword(s.cfg.user, s.cfg.pass)
	}
	return u.String()
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// TLSConfig is a client configuration that trusts the server's certificate,
// with ServerName 127.0.0.1 (the certificate also names localhost and ::1).
// It is nil when the server offers no TLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Messages returns a copy of the messages received so far, oldest first.
func (s *Server) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.msgs...)
}

// Commands returns every command line received so far, in order, with the
// credentials of AUTH commands cut off, so a test can see what a client did
// (or did not) say: "STARTTLS", "AUTH PLAIN", "MAIL FROM:<a@example.com>".
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// WaitFor waits (WaitTimeout, or WithWaitTimeout) for the first message to
// the envelope recipient to (any recipient when empty) whose subject
// contains subjectPart, and returns it. Otherwise it fails the test,
// listing what did arrive. Call it from the test's goroutine.
func (s *Server) WaitFor(t testing.TB, to, subjectPart string) Mail {
	t.Helper()
	if found := s.WaitForCount(t, to, subjectPart, 1); len(found) > 0 {
		return found[0]
	}
	return Mail{} // t's Fatalf returned: a recording testing.TB
}

// WaitForCount is WaitFor for the first n such messages, oldest first.
func (s *Server) WaitForCount(t testing.TB, to, subjectPart string, n int) []Mail {
	t.Helper()
	timeout := time.NewTimer(s.cfg.wait)
	defer timeout.Stop()
	for {
		var found []Mail
		s.mu.Lock()
		for _, m := range s.msgs {
			if m.SentTo(to) && strings.Contains(m.Subject, subjectPart) {
				found = append(found, m)
			}
		}
		arrived := s.arrived
		s.mu.Unlock()
		if len(found) >= n {
			return found[:n]
		}

		select {
		case <-arrived:
		case <-timeout.C:
			t.Fatalf("smtptest: %d of %d mails to %q with a subject containing %q after %v; received:\n%s",
				len(found), n, to, subjectPart, s.cfg.wait, s.summary())
			return nil
		}
	}
}

// SentTo reports whether to is among m's envelope recipients; an empty to
// matches any.
func (m Mail) SentTo(to string) bool {
	if to == "" {
		return true
	}
	for _, r := range m.To {
		if strings.EqualFold(r, to) {
			return true
		}
	}
	return false
}

func (s *Server) summary() string {
	msgs := s.Messages()
	if len(msgs) == 0 {
		return "  nothing"
	}
	var b strings.Builder
	for i, m := range msgs {
		fmt.Fprintf(&b, "  %d. to %v: %q\n", i+1, m.To, m.Subject)
	}
	return b.String()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // closed by stop
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			conn.Close()
			return
		default:
		}
		s.conns[conn] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer s.forget(conn)
			newSMTPSession(s, conn).run()
		}()
	}
}

func (s *Server) forget(conn net.Conn) {
	conn.Close()
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
}

func (s *Server) stop() {
	s.mu.Lock()
	close(s.done)
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) record(cmd string) {
	s.mu.Lock()
	s.commands = append(s.commands, cmd)
	s.mu.Unlock()
}

// takeFailure reports whether this DATA command is one WithFailures asked to fail.
func (s *Server) takeFailure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failuresLeft > 0 {
		s.failuresLeft--
		return true
	}
	return false
}

// takeHangUp reports whether WithHangUpEvery asks to hang up on the
// message just read, and remembers the message's Message-ID if so.
func (s *Server) takeHangUp(raw []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messagesRead++
	if s.cfg.hangUpEvery == 0 || s.messagesRead%s.cfg.hangUpEvery != 0 {
		return false
	}
	id := ""
	if m, err := ParseMail(raw); err == nil {
		id = m.Header.Get("Message-ID")
	}
	s.hungUpOn = append(s.hungUpOn, id)
	return true
}

// HungUpOn returns the Message-ID of each message WithHangUpEvery hung up
// on, in order, once per hang-up (a message hung up on twice is there
// twice; one that did not parse is "").
func (s *Server) HungUpOn() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hungUpOn...)
}

func (s *Server) store(m Mail) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
}

// smtpSession is one client connection.
type smtpSession struct {
	srv  *Server
	conn net.Conn
	r    *bufio.Reader
	tls  bool

	helo     string
	extended bool // EHLO rather than HELO
	authUser string
	from     string
	hasFrom  bool
	rcpts    []string
}

func newSMTPSession(s *Server, conn net.Conn) *smtpSession {
	_, isTLS := conn.(*tls.Conn)
	return &smtpSession{srv: s, conn: conn, r: bufio.NewReader(conn), tls: isTLS}
}

func (c *smtpSession) run() {
	if !c.reply(220, "127.0.0.1 ESMTP Gatehouse test server") {
		return
	}
	for {
		line, err := c.readLine(smtpCommandLineLimit)
		if errors.Is(err, errLineTooLong) {
			c.reply(500, "5.5.2 Line too long")
			continue
		}
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(string(line), " ")
		verb = strings.ToUpper(verb)
		if verb == "AUTH" {
			mech, _, _ := strings.Cut(arg, " ")
			c.srv.record("AUTH " + strings.ToUpper(mech))
		} else {
			c.srv.record(string(line))
		}
		if !c.handle(verb, arg) {
			return
		}
	}
}

// handle answers one command; false ends the session.
func (c *smtpSession) handle(verb, arg string) bool {
	switch verb {
	case "EHLO", "HELO":
		return c.hello(verb, arg)
	case "STARTTLS":
		return c.startTLS()
	case "AUTH":
		return c.auth(arg)
	case "MAIL":
		return c.mail(arg)
	case "RCPT":
		return c.rcpt(arg)
	case "DATA":
		return c.data()
	case "RSET":
		c.resetTransaction()
		return c.reply(250, "2.0.0 OK")
	case "NOOP":
		return c.reply(250, "2.0.0 OK")
	case "VRFY":
		return c.reply(252, "2.5.0 Cannot verify, but will try delivery")
	case "QUIT":
		c.reply(221, "2.0.0 Bye")
		return false
	default:
		return c.reply(500, "5.5.2 Command not recognised")
	}
}

func (c *smtpSession) hello(verb, arg string) bool {
	if strings.TrimSpace(arg) == "" {
		return c.reply(501, "5.5.4 A domain or address literal is required")
	}
	c.helo, c.extended = arg, verb == "EHLO"
	c.resetTransaction()
	if !c.extended {
		return c.reply(250, "127.0.0.1")
	}
	lines := []string{"127.0.0.1 greets " + arg, "8BITMIME", "ENHANCEDSTATUSCODES",
		"SIZE " + strconv.Itoa(smtpMaxMessageSize)}
	if c.srv.cfg.startTLS && !c.tls {
		lines = append(lines, "STARTTLS")
	}
	if c.authOffered() {
		lines = append(lines, "AUTH PLAIN LOGIN")
	}
	return c.reply(250, lines...)
}

// authOffered follows the common server policy: once a server offers
// STARTTLS, it takes passwords only over TLS.
func (c *smtpSession) authOffered() bool {
	return c.srv.cfg.user != "" && (c.tls || !c.srv.cfg.startTLS)
}

func (c *smtpSession) startTLS() bool {
	switch {
	case !c.srv.cfg.startTLS || c.tls:
		return c.reply(502, "5.5.1 STARTTLS not available")
	case c.helo == "":
		return c.reply(503, "5.5.1 Send EHLO first")
	}
	if !c.reply(220, "2.0.0 Ready to start TLS") {
		return false
	}
	// Anything the client sent after STARTTLS, before the handshake, would be
	// injected into the encrypted session (CVE-2011-0411): drop the client.
	if c.r.Buffered() > 0 {
		return false
	}
	tconn := tls.Server(c.conn, c.srv.serverTLS)
	tconn.SetDeadline(time.Now().Add(smtpIdleTimeout))
	if err := tconn.Handshake(); err != nil {
		return false
	}
	c.conn, c.r, c.tls = tconn, bufio.NewReader(tconn), true
	// RFC 3207 §4.2: the client must start over with EHLO.
	c.helo, c.extended, c.authUser = "", false, ""
	c.resetTransaction()
	return true
}

func (c *smtpSession) auth(arg string) bool {
	switch {
	case c.srv.cfg.user == "":
		return c.reply(502, "5.5.1 AUTH not available")
	case !c.extended:
		return c.reply(503, "5.5.1 Send EHLO first")
	case c.authUser != "":
		return c.reply(503, "5.5.1 Already authenticated")
	case !c.authOffered():
		return c.reply(530, "5.7.0 Must issue a STARTTLS command first")
	case c.hasFrom:
		return c.reply(503, "5.5.1 AUTH not allowed during a mail transaction")
	}
	mech, initial, _ := strings.Cut(arg, " ")
	var user, pass string
	var ok bool
	switch strings.ToUpper(mech) {
	case "PLAIN":
		user, pass, ok = c.authPlain(initial)
	case "LOGIN":
		user, pass, ok = c.authLogin(initial)
	default:
		return c.reply(504, "5.5.4 Unrecognised authentication mechanism")
	}
	if !ok {
		return c.reply(501, "5.5.2 Malformed authentication exchange")
	}
	if user != c.srv.cfg.user || pass != c.srv.cfg.pass {
		return c.reply(535, "5.7.8 Authentication credentials invalid")
	}
	c.authUser = user
	return c.reply(235, "2.7.0 Authentication successful")
}

func (c *smtpSession) authPlain(initial string) (user, pass string, ok bool) {
	if initial == "" {
		if initial, ok = c.challenge(""); !ok {
			return "", "", false
		}
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		return "", "", false
	}
	// authzid NUL authcid NUL passwd (RFC 4616)
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return "", "", false
	}
	return parts[1], parts[2], true
}

func (c *smtpSession) authLogin(initial string) (user, pass string, ok bool) {
	if initial == "" {
		if initial, ok = c.challenge("Username:"); !ok {
			return "", "", false
		}
	}
	u, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		return "", "", false
	}
	answer, ok := c.challenge("Password:")
	if !ok {
		return "", "", false
	}
	p, err := base64.StdEncoding.DecodeString(answer)
	if err != nil {
		return "", "", false
	}
	return string(u), string(p), true
}

// challenge sends a 334 prompt and reads the client's base64 answer;
// false when the client cancels with "*" or the line is unreadable.
func (c *smtpSession) challenge(prompt string) (string, bool) {
	if !c.reply(334, base64.StdEncoding.EncodeToString([]byte(prompt))) {
		return "", false
	}
	line, err := c.readLine(smtpAuthLineLimit)
	if err != nil || string(line) == "*" {
		return "", false
	}
	return string(line), true
}

func (c *smtpSession) mail(arg string) bool {
	switch {
	case c.helo == "":
		return c.reply(503, "5.5.1 Send EHLO first")
	case c.srv.cfg.user != "" && c.authUser == "":
		return c.reply(530, "5.7.0 Authentication required")
	case c.hasFrom:
		return c.reply(503, "5.5.1 Nested MAIL command")
	}
	addr, params, ok := parsePath(arg, "FROM:")
	if !ok {
		return c.reply(501, "5.5.4 Syntax: MAIL FROM:<address>")
	}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(k, "SIZE") {
			if n, err := strconv.Atoi(v); err != nil || n > smtpMaxMessageSize {
				return c.reply(552, "5.3.4 Message too big")
			}
		}
	}
	c.from, c.hasFrom = addr, true
	return c.reply(250, "2.1.0 OK")
}

func (c *smtpSession) rcpt(arg string) bool {
	if !c.hasFrom {
		return c.reply(503, "5.5.1 Need MAIL before RCPT")
	}
	addr, _, ok := parsePath(arg, "TO:")
	if !ok || addr == "" {
		return c.reply(501, "5.5.4 Syntax: RCPT TO:<address>")
	}
	if len(c.rcpts) >= smtpMaxRecipients {
		return c.reply(452, "4.5.3 Too many recipients")
	}
	if c.srv.cfg.rejected[strings.ToLower(addr)] {
		return c.reply(550, "5.1.1 No such user here")
	}
	c.rcpts = append(c.rcpts, addr)
	return c.reply(250, "2.1.5 OK")
}

// parsePath reads `FROM:<addr> PARAM=VALUE...` (keyword included), allowing
// the space after the colon that some clients send.
func parsePath(arg, keyword string) (addr string, params []string, ok bool) {
	if len(arg) < len(keyword) || !strings.EqualFold(arg[:len(keyword)], keyword) {
		return "", nil, false
	}
	rest := strings.TrimLeft(arg[len(keyword):], " ")
	if !strings.HasPrefix(rest, "<") {
		return "", nil, false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", nil, false
	}
	return rest[1:end], strings.Fields(rest[end+1:]), true
}

func (c *smtpSession) data() bool {
	switch {
	case !c.hasFrom || len(c.rcpts) == 0:
		return c.reply(503, "5.5.1 Need RCPT before DATA")
	case c.srv.takeFailure():
		c.resetTransaction()
		return c.reply(451, "4.3.0 Temporary failure, try again later")
	}
	if !c.reply(354, "End data with <CR><LF>.<CR><LF>") {
		return false
	}
	raw, problem, err := c.readData()
	if err != nil || c.srv.takeHangUp(raw) {
		return false
	}
	if problem != "" {
		c.resetTransaction()
		return c.reply(554, problem)
	}
	if failed := c.unverifiedIdentities(); len(failed) > 0 {
		c.resetTransaction()
		return c.reply(554, "Message rejected: Email address is not verified. "+
			"The following identities failed the check in region US-EAST-1: "+strings.Join(failed, ", "))
	}
	if d := c.srv.cfg.slowData; d > 0 {
		select {
		case <-time.After(d):
		case <-c.srv.done:
			return false
		}
	}
	m, err := ParseMail(raw)
	if err != nil {
		c.srv.t.Errorf("smtptest: SMTP server received a message that does not parse: %v\n%s", err, raw)
	}
	m.From, m.To, m.TLS, m.AuthUser = c.from, c.rcpts, c.tls, c.authUser
	c.srv.store(m)
	c.resetTransaction()
	return c.reply(250, "2.0.0 OK queued")
}

// readData reads the message up to the lone dot, undoing dot-stuffing. A
// problem is a reason to refuse the message once it has been read.
func (c *smtpSession) readData() (raw []byte, problem string, err error) {
	var buf bytes.Buffer
	for {
		line, lineErr := c.readLine(smtpTextLineLimit)
		switch {
		case errors.Is(lineErr, errLineTooLong):
			problem = "5.5.6 Line too long (RFC 5321 allows 998 octets)"
			continue
		case errors.Is(lineErr, errBareLF):
			problem = "5.6.0 Bare LF in message; lines must end with CRLF"
		case lineErr != nil:
			return nil, "", lineErr
		}
		// Only CRLF.CRLF ends the data: a dot after a bare LF does not (SMTP smuggling).
		if string(line) == "." && lineErr == nil {
			break
		}
		if bytes.IndexByte(line, '\r') >= 0 {
			problem = "5.6.0 Bare CR in message"
		}
		line = bytes.TrimPrefix(line, []byte("."))
		if buf.Len()+len(line) > smtpMaxMessageSize {
			problem = "5.3.4 Message too big"
			continue
		}
		buf.Write(line)
		buf.WriteString("\r\n")
	}
	return buf.Bytes(), problem, nil
}

// unverifiedIdentities lists the transaction's addresses that
// WithUnverifiedIdentities names, sender first.
func (c *smtpSession) unverifiedIdentities() []string {
	var failed []string
	for _, a := range append([]string{c.from}, c.rcpts...) {
		if c.srv.cfg.unverified[strings.ToLower(a)] {
			failed = append(failed, a)
		}
	}
	return failed
}

func (c *smtpSession) resetTransaction() {
	c.from, c.hasFrom, c.rcpts = "", false, nil
}

var (
	errLineTooLong = errors.New("line too long")
	errBareLF      = errors.New("line ends in a bare LF")
)

// readLine reads one line without its line end. A line longer than limit
// (counting CRLF) is consumed and reported as errLineTooLong; a line ending
// in LF alone is returned with errBareLF.
func (c *smtpSession) readLine(limit int) ([]byte, error) {
	c.conn.SetDeadline(time.Now().Add(smtpIdleTimeout))
	var line []byte
	tooLong := false
	for {
		chunk, err := c.r.ReadSlice('\n')
		if !tooLong {
			line = append(line, chunk...)
			tooLong = len(line) > limit
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	if tooLong {
		return nil, errLineTooLong
	}
	if l, ok := bytes.CutSuffix(line, []byte("\r\n")); ok {
		return l, nil
	}
	return line[:len(line)-1], errBareLF
}

// reply writes a (possibly multi-line) reply; false when the client is gone.
func (c *smtpSession) reply(code int, lines ...string) bool {
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		fmt.Fprintf(&b, "%d%s%s\r\n", code, sep, l)
	}
	c.conn.SetDeadline(time.Now().Add(smtpIdleTimeout))
	_, err := io.WriteString(c.conn, b.String())
	return err == nil
}

// ParseMail reads a message as the server does (raw with CRLF line ends),
// filling in Header, Subject, Text and HTML; another server's messages
// (postfixtest's Maildir) are read the same way. On error the message
// keeps its Raw bytes and whatever parsed.
func ParseMail(raw []byte) (Mail, error) {
	m := Mail{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m, err
	}
	m.Header = msg.Header
	m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return m, fmt.Errorf("subject: %w", err)
	}
	err = m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	return m, err
}

func (m *Mail) readPart(contentType, encoding string, body io.Reader, depth int) error {
	if depth > 10 {
		return errors.New("MIME parts nested too deep")
	}
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii" // RFC 2045 §5.2
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart, because NextPart would hide quoted-printable from us.
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mediaType, err)
			}
			err = m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			if err != nil {
				return err
			}
		}
	}
	decoded, err := decodeTransfer(encoding, body)
	if err != nil {
		return fmt.Errorf("%s: %w", mediaType, err)
	}
	text := strings.ReplaceAll(string(decoded), "\r\n", "\n")
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = text
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = text
	}
	return nil
}

func decodeTransfer(encoding string, body io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "7bit", "8bit", "binary":
		return io.ReadAll(body)
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(body))
	case "base64":
		return io.ReadAll(base64.NewDecoder(base64.StdEncoding, body))
	default:
		return nil, fmt.Errorf("unknown Content-Transfer-Encoding %q", encoding)
	}
}

// selfSignedTLS makes a certificate for 127.0.0.1, ::1 and localhost, valid
// for a day, and the client configuration that trusts it.
func selfSignedTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtptest: TLS key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatalf("smtptest: TLS serial: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Gatehouse test SMTP server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtptest: TLS certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("smtptest: TLS certificate: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}
