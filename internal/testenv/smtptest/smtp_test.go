package smtptest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A message as a mail client would write it: a Turkish subject in RFC 2047,
// quoted-printable text, base64 HTML and a line that needs dot-stuffing.
const testMessage = "From: Gatehouse <no-reply@example.com>\r\n" +
	"To: ayse@example.com\r\n" +
	"Subject: =?utf-8?q?=C5=9Eifrenizi_s=C4=B1f=C4=B1rlay=C4=B1n?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Merhaba Ay=C5=9Fe,\r\n" +
	".a line that starts with a dot\r\n" +
	"a soft=\r\n" +
	" break\r\n" +
	"--b1\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+TWVyaGFiYTwvcD4=\r\n" +
	"--b1--\r\n"

func TestSMTPReceivesAndParses(t *testing.T) {
	s := Start(t)
	err := smtp.SendMail(s.Addr(), nil, "no-reply@example.com", []string{"ayse@example.com"}, []byte(testMessage))
	if err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m := s.WaitFor(t, "AYSE@example.com", "sıfırlayın")

	if got, want := m.Subject, "Şifrenizi sıfırlayın"; got != want {
		t.Errorf("Subject: got %q, want %q", got, want)
	}
	if got, want := m.Text, "Merhaba Ayşe,\n.a line that starts with a dot\na soft break"; got != want {
		t.Errorf("Text: got %q, want %q", got, want)
	}
	if got, want := m.HTML, "<p>Merhaba</p>"; got != want {
		t.Errorf("HTML: got %q, want %q", got, want)
	}
	if m.From != "no-reply@example.com" || len(m.To) != 1 || m.To[0] != "ayse@example.com" {
		t.Errorf("envelope: got from %q to %v, want no-reply@example.com to [ayse@example.com]", m.From, m.To)
	}
	if got := m.Header.Get("To"); got != "ayse@example.com" {
		t.Errorf("To header: got %q, want ayse@example.com", got)
	}
	if string(m.Raw) != testMessage {
		t.Errorf("Raw: got\n%q\nwant\n%q", m.Raw, testMessage)
	}
	if m.TLS || m.AuthUser != "" {
		t.Errorf("got TLS %v AuthUser %q, want neither", m.TLS, m.AuthUser)
	}
	if got := s.URL(); !strings.HasPrefix(got, "smtp://127.0.0.1:") {
		t.Errorf("URL: got %q, want smtp://127.0.0.1:port", got)
	}
}

func TestSMTPStartTLSThenAuth(t *testing.T) {
	s := Start(t, WithSTARTTLS(), WithAuth("mailer", "s3cret pass"))
	c := dialSMTP(t, s)

	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if err := c.StartTLS(s.TLSConfig()); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
		t.Errorf("AUTH after STARTTLS: got %v %q, want PLAIN LOGIN", ok, mechs)
	}
	if err := c.Auth(smtp.PlainAuth("", "mailer", "s3cret pass", "127.0.0.1")); err != nil {
		t.Fatalf("Auth: %v", err)
	}
	send(t, c, "bob@example.com", "Subject: over TLS\r\n\r\nhello\r\n")

	m := s.WaitFor(t, "bob@example.com", "over TLS")
	if !m.TLS || m.AuthUser != "mailer" {
		t.Errorf("got TLS %v AuthUser %q, want true and mailer", m.TLS, m.AuthUser)
	}
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := u.User.Password(); u.User.Username() != "mailer" || p != "s3cret pass" {
		t.Errorf("URL credentials: got %v, want mailer:s3cret pass", u.User)
	}
	for _, cmd := range s.Commands() {
		if strings.Contains(cmd, "s3cret") || strings.Contains(cmd, "AHM") {
			t.Errorf("Commands kept credentials: %q", cmd)
		}
	}
}

func TestSMTPAuthLoginWithoutTLS(t *testing.T) {
	s := Start(t, WithAuth("mailer", "pw"))
	c := dialSMTP(t, s)
	if err := c.Mail("a@example.com"); !hasCode(err, 530) {
		t.Errorf("MAIL before AUTH: got %v, want 530", err)
	}
	if err := c.Auth(loginAuth{"mailer", "wrong"}); !hasCode(err, 535) {
		t.Errorf("AUTH with a wrong password: got %v, want 535", err)
	}

	c = dialSMTP(t, s)
	if err := c.Auth(loginAuth{"mailer", "pw"}); err != nil {
		t.Fatalf("AUTH LOGIN: %v", err)
	}
	send(t, c, "bob@example.com", "Subject: login\r\n\r\nhello\r\n")
	if m := s.WaitFor(t, "bob@example.com", "login"); m.AuthUser != "mailer" || m.TLS {
		t.Errorf("got AuthUser %q TLS %v, want mailer without TLS", m.AuthUser, m.TLS)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	s := Start(t, WithImplicitTLS())
	if !strings.HasPrefix(s.URL(), "smtps://") {
		t.Errorf("URL: got %q, want smtps://", s.URL())
	}
	conn, err := tls.Dial("tcp", s.Addr(), s.TLSConfig())
	if err != nil {
		t.Fatalf("tls.Dial: %v", err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send(t, c, "bob@example.com", "Subject: smtps\r\n\r\nhello\r\n")
	if m := s.WaitFor(t, "bob@example.com", "smtps"); !m.TLS {
		t.Error("got TLS false, want true")
	}
}

func TestSMTPFailuresAndRejections(t *testing.T) {
	s := Start(t, WithFailures(1), WithRejectedRecipients("nobody@example.com"))
	c := dialSMTP(t, s)

	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("nobody@example.com"); !hasCode(err, 550) {
		t.Errorf("RCPT of a rejected recipient: got %v, want 550", err)
	}
	if err := c.Rcpt("bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Data(); !hasCode(err, 451) {
		t.Errorf("first DATA: got %v, want 451", err)
	}
	send(t, c, "bob@example.com", "Subject: second try\r\n\r\nhello\r\n")
	s.WaitFor(t, "bob@example.com", "second try")
}

func TestSMTPRefusesMalformedInput(t *testing.T) {
	s := Start(t)
	tc := dialRaw(t, s)

	cmd(t, tc, 500, "NOOP "+strings.Repeat("x", 600))
	cmd(t, tc, 503, "MAIL FROM:<a@example.com>") // before EHLO
	cmd(t, tc, 250, "EHLO client.example.com")
	cmd(t, tc, 503, "RCPT TO:<b@example.com>") // before MAIL
	cmd(t, tc, 501, "MAIL FROM:a@example.com")
	cmd(t, tc, 502, "STARTTLS") // not offered

	for _, tt := range []struct{ name, body string }{
		{"a 999-octet line", strings.Repeat("x", 999) + "\r\n"},
		{"a bare LF", "one\ntwo\r\n"},
		{"a bare CR", "one\rtwo\r\n"},
	} {
		cmd(t, tc, 250, "MAIL FROM:<a@example.com>")
		cmd(t, tc, 250, "RCPT TO:<b@example.com>")
		cmd(t, tc, 354, "DATA")
		if _, err := fmt.Fprintf(tc.W, "Subject: x\r\n\r\n%s.\r\n", tt.body); err != nil {
			t.Fatal(err)
		}
		tc.W.Flush()
		if _, _, err := tc.ReadResponse(554); err != nil {
			t.Errorf("%s: got %v, want 554", tt.name, err)
		}
	}
	cmd(t, tc, 250, "RSET")
	cmd(t, tc, 221, "QUIT")
	if n := len(s.Messages()); n != 0 {
		t.Errorf("got %d messages, want none", n)
	}
}

func TestSMTPAcceptsLongestLegalLine(t *testing.T) {
	s := Start(t)
	c := dialSMTP(t, s)
	send(t, c, "bob@example.com", "Subject: long\r\n\r\n"+strings.Repeat("x", 998)+"\r\n")
	if m := s.WaitFor(t, "bob@example.com", "long"); len(strings.TrimSuffix(m.Text, "\n")) != 998 {
		t.Errorf("got a %d-octet text, want 998", len(m.Text))
	}
}

// recordingTB catches Fatalf so that a test can check WaitFor's failure message.
type recordingTB struct {
	testing.TB
	failure string
}

func (r *recordingTB) Fatalf(format string, args ...any) { r.failure = fmt.Sprintf(format, args...) }

func TestSMTPWaitForSaysWhatArrived(t *testing.T) {
	s := Start(t, WithWaitTimeout(50*time.Millisecond))
	c := dialSMTP(t, s)
	send(t, c, "bob@example.com", "Subject: Welcome\r\n\r\nhello\r\n")
	s.WaitFor(t, "bob@example.com", "Welcome")

	r := &recordingTB{TB: t}
	s.WaitFor(r, "bob@example.com", "Reset")
	for _, want := range []string{`"bob@example.com"`, `"Reset"`, `to [bob@example.com]: "Welcome"`} {
		if !strings.Contains(r.failure, want) {
			t.Errorf("failure message %q does not contain %q", r.failure, want)
		}
	}
}

func dialSMTP(t *testing.T, s *Server) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatalf("smtp.Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.example.com"); err != nil {
		t.Fatal(err)
	}
	return c
}

func dialRaw(t *testing.T, s *Server) *textproto.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	tc := textproto.NewConn(conn)
	t.Cleanup(func() { tc.Close() })
	if _, _, err := tc.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	return tc
}

func cmd(t *testing.T, tc *textproto.Conn, want int, line string) {
	t.Helper()
	id, err := tc.Cmd("%s", line)
	if err != nil {
		t.Fatal(err)
	}
	tc.StartResponse(id)
	defer tc.EndResponse(id)
	if _, _, err := tc.ReadResponse(want); err != nil {
		t.Errorf("%.40q: got %v, want %d", line, err, want)
	}
}

func send(t *testing.T, c *smtp.Client, to, msg string) {
	t.Helper()
	if err := c.Mail("no-reply@example.com"); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatalf("RCPT: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("end of DATA: %v", err)
	}
}

func hasCode(err error, code int) bool {
	var e *textproto.Error
	return errors.As(err, &e) && e.Code == code
}

// loginAuth is AUTH LOGIN, which net/smtp lacks.
type loginAuth struct{ user, pass string }

func (a loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a loginAuth) Next(prompt []byte, more bool) ([]byte, error) {
	switch {
	case !more:
		return nil, nil
	case strings.EqualFold(string(prompt), "Username:"):
		return []byte(a.user), nil
	case strings.EqualFold(string(prompt), "Password:"):
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected prompt %q", prompt)
}
