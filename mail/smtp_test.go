package mail_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/mail"
)

const mailFrom = "Gatehouse <no-reply@example.com>"

func composed(t testing.TB, to, subject string) []byte {
	t.Helper()
	raw, err := mail.Compose(mailFrom, mail.Message{
		To: to, Subject: subject, Text: "Merhaba,\nhttps://example.com/reset-password?token=abc\n", HTML: "<p>Merhaba</p>\n",
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newSender(t testing.TB, url string, srv *smtptest.Server) mail.Sender {
	t.Helper()
	s, err := mail.NewSender(url, mail.Options{TLS: srv.TLSConfig()})
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

func send(t *testing.T, s mail.Sender, to, subject string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Send(ctx, mailFrom, to, composed(t, to, subject))
}

func TestNewSenderURLs(t *testing.T) {
	if s, err := mail.NewSender("", mail.Options{}); s != nil || err != nil {
		t.Errorf(`NewSender(""): got %v, %v, want nil, nil`, s, err)
	}
	for _, u := range []string{
		"smtp://mail.example.com", "smtp://mail.example.com:587", "smtps://user:p%40ss@mail.example.com",
		"smtp://[::1]:2525", "smtp://user:@127.0.0.1/",
	} {
		if s, err := mail.NewSender(u, mail.Options{}); s == nil || err != nil {
			t.Errorf("NewSender(%q): got %v, %v, want a sender", u, s, err)
		}
	}
	for _, u := range []string{
		"smtp://mail.example.com:465", "smtps://mail.example.com:587", "smtps://mail.example.com:25",
		"http://mail.example.com", "mail.example.com:25", "smtp://", "smtp:mail.example.com",
		"smtp://mail.example.com:0", "smtp://mail.example.com:99999", "smtp://mail.example.com/inbox",
		"smtp://mail.example.com?tls=off", "smtp://:secret@mail.example.com",
		"smtp://user:secret@mail.example.com:port",
	} {
		_, err := mail.NewSender(u, mail.Options{})
		if err == nil {
			t.Errorf("NewSender(%q): got no error", u)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("NewSender(%q): the error shows the password: %v", u, err)
		}
	}
}

// What an operator gets wrong most in --smtp-url gets advice, not just
// "not a valid URL"; the password never shows.
func TestNewSenderSaysWhatIsWrong(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"smtp://mailer:se/cret@mail.example.com:587", `holds "/"`},
		{"smtp://mailer:se#cret@mail.example.com:587", `holds "#"`},
		{"smtp://mailer:se%cret@mail.example.com:587", `holds "%"`},
		{"smtp://mailer:secre%@mail.example.com:587", `holds "%"`},
		{"smtp://mailer:se?cret@mail.example.com:587", `holds "?"`},
		{"smtp://mail.example.com:465", "use smtps://mail.example.com:465"},
		{"smtps://mail.example.com:587", "use smtp://mail.example.com:587"},
		{"smtps://mail.example.com:25", "use smtp://mail.example.com:25"},
	} {
		_, err := mail.NewSender(tt.url, mail.Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewSender(%q): got %v, want %s", tt.url, err, tt.want)
			continue
		}
		if strings.Contains(tt.url, "@") && !strings.Contains(err.Error(), "percent-encode") {
			t.Errorf("NewSender(%q): got %v, want advice to percent-encode", tt.url, err)
		}
		if strings.Contains(err.Error(), "cret") {
			t.Errorf("NewSender(%q): the error shows the password: %v", tt.url, err)
		}
	}
	// Encoded, they are fine, and mean what they say.
	if _, err := mail.NewSender("smtp://mailer:se%2F%23%25%3Fcret@mail.example.com:587", mail.Options{}); err != nil {
		t.Errorf("an encoded password: %v", err)
	}
}

func TestNewSenderCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600)
	for _, path := range []string{notPEM, filepath.Join(dir, "missing.pem")} {
		if _, err := mail.NewSender("smtp://mail.example.com:587", mail.Options{CAFile: path}); err == nil || !strings.Contains(err.Error(), "--smtp-ca-file") {
			t.Errorf("CAFile %s: got %v, want an error naming --smtp-ca-file", path, err)
		}
	}
}

func TestSendPlain(t *testing.T) {
	srv := smtptest.Start(t)
	if err := send(t, newSender(t, srv.URL(), srv), "ayse@example.com", "Şifrenizi sıfırlayın"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.WaitFor(t, "ayse@example.com", "Şifrenizi sıfırlayın")
	if m.From != "no-reply@example.com" || m.TLS || m.AuthUser != "" {
		t.Errorf("got from %q TLS %v user %q, want no-reply@example.com without TLS or AUTH", m.From, m.TLS, m.AuthUser)
	}
	if !strings.Contains(m.Text, "https://example.com/reset-password?token=abc") {
		t.Errorf("Text: got %q, want the link", m.Text)
	}
}

func TestSendUpgradesWithSTARTTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	if err := send(t, newSender(t, srv.URL(), srv), "bob@example.com", "upgraded"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if m := srv.WaitFor(t, "bob@example.com", "upgraded"); !m.TLS {
		t.Error("got a message sent in clear, want STARTTLS")
	}
}

func TestSendAuthenticatesOverSTARTTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("mailer", "s3cret"))
	if err := send(t, newSender(t, srv.URL(), srv), "bob@example.com", "authenticated"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if m := srv.WaitFor(t, "bob@example.com", "authenticated"); !m.TLS || m.AuthUser != "mailer" {
		t.Errorf("got TLS %v user %q, want TLS and mailer", m.TLS, m.AuthUser)
	}
	if cmds := srv.Commands(); slices.Index(cmds, "STARTTLS") > slices.Index(cmds, "AUTH PLAIN") {
		t.Errorf("commands: got %q, want STARTTLS before AUTH", cmds)
	}
}

// A name that is not loopback gets credentials too, once the connection is
// encrypted: the test dials the local server for mail.example.test.
func TestSendAuthenticatesToARemoteNameOverSTARTTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("mailer", "s3cret"))
	s := newSender(t, "smtp://mailer:s3cret@mail.example.test:587", srv)
	mail.DialInstead(s, srv.Addr())
	if err := send(t, s, "bob@example.com", "remote"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	srv.WaitFor(t, "bob@example.com", "remote")
}

func TestSendRefusesCredentialsInClearToARemoteHost(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("mailer", "s3cret")) // no STARTTLS
	s := newSender(t, "smtp://mailer:s3cret@mail.example.test:587", srv)
	mail.DialInstead(s, srv.Addr())

	err := send(t, s, "bob@example.com", "in clear")
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") || !strings.Contains(err.Error(), "unencrypted") {
		t.Fatalf("Send: got %v, want a refusal that names STARTTLS", err)
	}
	if mail.IsPermanent(err) {
		t.Error("the refusal is permanent; the operator can fix it, so the mail should wait")
	}
	if err := mail.Check(context.Background(), s); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("Check: got %v, want the same refusal", err)
	}
	for _, c := range srv.Commands() {
		if strings.HasPrefix(c, "AUTH") || strings.HasPrefix(c, "MAIL") {
			t.Errorf("the client said %q", c)
		}
	}
}

func TestSendAuthenticatesInClearOnLoopback(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("mailer", "s3cret"))
	for _, url := range []string{srv.URL(), strings.Replace(srv.URL(), "127.0.0.1", "localhost", 1)} {
		s := newSender(t, url, srv)
		mail.DialInstead(s, srv.Addr()) // localhost may resolve to ::1 first
		if err := send(t, s, "bob@example.com", url); err != nil {
			t.Fatalf("%s: Send: %v", url, err)
		}
		if m := srv.WaitFor(t, "bob@example.com", url); m.AuthUser != "mailer" {
			t.Errorf("%s: got user %q, want mailer", url, m.AuthUser)
		}
	}
}

func TestSendWrongPasswordIsTemporary(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("mailer", "s3cret"))
	s := newSender(t, strings.Replace(srv.URL(), "s3cret", "wrong", 1), srv)
	err := send(t, s, "bob@example.com", "x")
	if err == nil || !strings.Contains(err.Error(), "535") || mail.IsPermanent(err) {
		t.Errorf("Send: got %v, want a temporary 535", err)
	}
}

func TestSendOverSMTPS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithImplicitTLS(), smtptest.WithAuth("mailer", "s3cret"))
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Fatalf("URL: got %q, want smtps://", srv.URL())
	}
	if err := send(t, newSender(t, srv.URL(), srv), "bob@example.com", "implicit"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if m := srv.WaitFor(t, "bob@example.com", "implicit"); !m.TLS || m.AuthUser != "mailer" {
		t.Errorf("got TLS %v user %q, want TLS and mailer", m.TLS, m.AuthUser)
	}
}

func TestSendDoesNotFallBackToClearText(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	s, err := mail.NewSender(srv.URL(), mail.Options{}) // system roots: the test certificate does not verify
	if err != nil {
		t.Fatal(err)
	}
	err = send(t, s, "bob@example.com", "x")
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") || mail.IsPermanent(err) {
		t.Errorf("Send: got %v, want a temporary STARTTLS failure", err)
	}
	if slices.ContainsFunc(srv.Commands(), func(c string) bool { return strings.HasPrefix(c, "MAIL") }) {
		t.Error("the client went on in clear text")
	}
}

func TestSendErrorsSayWhetherToRetry(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithFailures(1), smtptest.WithRejectedRecipients("nobody@example.com"))
	s := newSender(t, srv.URL(), srv)

	err := send(t, s, "bob@example.com", "first")
	if err == nil || !strings.Contains(err.Error(), "451") || mail.IsPermanent(err) {
		t.Errorf("a 451: got %v, want a temporary error", err)
	}
	if err := send(t, s, "bob@example.com", "second"); err != nil {
		t.Errorf("after the 451: %v", err)
	}
	err = send(t, s, "nobody@example.com", "x")
	if err == nil || !strings.Contains(err.Error(), "550") || !mail.IsPermanent(err) {
		t.Errorf("a 550: got %v, want a permanent error", err)
	}
	if err := s.Send(context.Background(), mailFrom, "not an address", []byte("x")); !mail.IsPermanent(err) {
		t.Errorf("a malformed recipient: got %v, want a permanent error", err)
	}
}

func TestSendStopsWithItsContext(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSlowData(5*time.Second))
	s := newSender(t, srv.URL(), srv)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, mailFrom, "bob@example.com", composed(t, "bob@example.com", "slow"))
	if !errors.Is(err, context.DeadlineExceeded) || mail.IsPermanent(err) {
		t.Errorf("Send: got %v, want a temporary deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Send took %v after its deadline", d)
	}
}

func TestCheck(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("mailer", "s3cret"))
	if err := mail.Check(context.Background(), newSender(t, srv.URL(), srv)); err != nil {
		t.Errorf("Check: %v", err)
	}
	if cmds := srv.Commands(); !slices.Contains(cmds, "AUTH PLAIN") || !slices.Contains(cmds, "QUIT") {
		t.Errorf("commands: got %q, want AUTH PLAIN and QUIT", cmds)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("Check sent %d messages", n)
	}
	if err := mail.Check(context.Background(), nil); err != nil {
		t.Errorf("Check(nil): %v", err)
	}
}
