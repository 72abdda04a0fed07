// Package postfixtest runs a private Postfix (Debian's postfix, with Cyrus
// SASL) for the mail tests: an outside witness of what Gatehouse sends,
// written by other hands than the code it tests. Each instance has its own
// configuration, queue and Maildir under the test's temporary folder and
// listens on free loopback ports; the system's /etc/postfix is never read
// nor touched (`master -c <dir>`, and every path in main.cf points into
// the folder).
//
// Postfix's master must run as root (it drops privileges itself: the
// daemons run as the postfix user). Tests run as root in CI and here; as
// another user they skip, as they do when Postfix is not installed.
package postfixtest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

// Postfix's side of the tests: the account Gatehouse logs in with and the
// one sender address that account may use (smtpd_sender_login_maps), as a
// provider allows a verified sender.
const (
	User   = "mailer"
	Sender = "no-reply@example.com"
	// Password holds the three characters that must be
	// percent-encoded in --smtp-url: URL() encodes them.
	Password = "s3cret/#%word"
	realm    = "gatehouse.test"
	hostname = "mail.gatehouse.test"
	// Domain is the domain Postfix delivers to its Maildir; mail to
	// any other domain is refused (it relays nowhere).
	Domain = "example.com"
)

// Postfix is a running private Postfix. Mail for Domain lands in
// one Maildir under Dir.
type Postfix struct {
	Dir string // its configuration, queue, Maildir and log

	// The listeners, host:port on 127.0.0.1:
	Submission string // like port 587: STARTTLS, AUTH only after it, sender checked against the login
	SMTPS      string // like port 465: implicit TLS, AUTH, sender checked
	Plain      string // a careless relay: no TLS at all, AUTH in clear, loopback clients may send unauthenticated

	conf    string // the configuration folder (main.cf, master.cf, sasl/)
	certPEM []byte
	cmd     *exec.Cmd
	done    chan struct{}
	output  *testenv.Buffer // master's stdout and stderr

	mu        sync.Mutex
	rejected  []string
	senders   []string
	masterErr error
}

// Option configures Start.
type Option func(*Postfix)

// WithRejectedRecipients makes these addresses unknown: RCPT TO
// answers Postfix's own "550 5.1.1 <addr>: Recipient address rejected:
// User unknown in virtual mailbox table".
func WithRejectedRecipients(addrs ...string) Option {
	return func(p *Postfix) { p.rejected = append(p.rejected, addrs...) }
}

// WithSenders replaces the sender addresses the account may use
// (Sender by default). With none, every sender is refused, as
// Postfix refuses an address not owned by the login: "553 5.7.1 <addr>:
// Sender address rejected: not owned by user mailer@gatehouse.test", at
// RCPT TO.
func WithSenders(addrs ...string) Option {
	return func(p *Postfix) { p.senders = addrs }
}

// havePostfix says what is missing to run Postfix here, or "".
func havePostfix() (master, missing string) {
	postconf := sbin("postconf")
	if _, err := os.Stat(postconf); err != nil {
		return "", "Postfix is not installed (apt-get install postfix sasl2-bin libsasl2-modules)"
	}
	out, err := exec.Command(postconf, "-d", "-h", "daemon_directory").Output()
	if err != nil {
		return "", fmt.Sprintf("postconf -d daemon_directory: %v", err)
	}
	master = filepath.Join(strings.TrimSpace(string(out)), "master")
	if _, err := os.Stat(master); err != nil {
		return "", "Postfix's master is missing (apt-get install postfix)"
	}
	if _, err := saslpasswd2(); err != nil {
		return "", "saslpasswd2 is missing (apt-get install sasl2-bin)"
	}
	if matches, _ := filepath.Glob("/usr/lib/*/sasl2/libplain.so*"); len(matches) == 0 {
		return "", "Cyrus SASL's PLAIN mechanism is missing (apt-get install libsasl2-modules)"
	}
	if os.Geteuid() != 0 {
		return "", "Postfix's master runs only as root, and the tests do not run as root"
	}
	if _, err := user.Lookup("postfix"); err != nil {
		return "", "there is no postfix user (apt-get install postfix)"
	}
	return master, ""
}

func saslpasswd2() (string, error) {
	p := sbin("saslpasswd2")
	_, err := os.Stat(p)
	return p, err
}

// sbin finds an administrator's command, which may be outside PATH.
func sbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return "/usr/sbin/" + name
}

// Start starts a private Postfix on free loopback ports and stops it when
// the test ends. Without Postfix (or outside root) the test skips with
// what to install, and fails when CI=true.
func Start(t testing.TB, opts ...Option) *Postfix {
	t.Helper()
	master, missing := havePostfix()
	if missing != "" {
		testenv.Need(t, missing+": install postfix sasl2-bin")
	}
	var lastErr error
	// The ports are found free and then given to Postfix, which binds them
	// a moment later: another process may take one meanwhile. Try again.
	for range 3 {
		p := &Postfix{senders: []string{Sender}, done: make(chan struct{}), output: &testenv.Buffer{}}
		for _, o := range opts {
			o(p)
		}
		if lastErr = p.start(t, master); lastErr == nil {
			return p
		}
	}
	t.Fatalf("testenv: start Postfix: %v", lastErr)
	return nil
}

func (p *Postfix) start(t testing.TB, master string) error {
	t.Helper()
	dir := t.TempDir()
	// The daemons run as the postfix user: they must reach the folder.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	p.Dir, p.conf = dir, filepath.Join(dir, "conf")
	pfUser, err := user.Lookup("postfix")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(pfUser.Uid)
	gid, _ := strconv.Atoi(pfUser.Gid)
	for _, d := range []string{"conf/sasl", "queue", "data", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	for _, d := range []string{"data", "mail"} {
		if err := os.Chown(filepath.Join(dir, d), uid, gid); err != nil {
			return err
		}
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	p.Submission, p.SMTPS, p.Plain = ports[0], ports[1], ports[2]
	if err := p.writeConfig(uid, gid); err != nil {
		return err
	}
	if err := p.setPassword(Password); err != nil {
		return err
	}

	if err := makeQueue(filepath.Join(dir, "queue"), uid); err != nil {
		return err
	}
	// -s keeps master in the foreground (it makes itself a session leader,
	// so it is its own process group), writing to our buffer.
	p.cmd = exec.Command(master, "-c", p.conf, "-s")
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := p.cmd.Start(); err != nil {
		return err
	}
	go func() {
		err := p.cmd.Wait()
		p.mu.Lock()
		p.masterErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("Postfix log (%s):\n%s%s", p.Dir, p.Log(), p.output.String())
		}
	})
	if err := p.waitReady(); err != nil {
		p.stop()
		return fmt.Errorf("%w\n%s%s", err, p.Log(), p.output.String())
	}
	return nil
}

func (p *Postfix) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	// SIGTERM: master passes it on to its children and exits.
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// waitReady waits until every listener greets.
func (p *Postfix) waitReady() error {
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range []string{p.Submission, p.SMTPS, p.Plain} {
		for {
			err := greets(addr, addr == p.SMTPS)
			if err == nil {
				break
			}
			select {
			case <-p.done:
				return fmt.Errorf("Postfix's master exited: %v", p.masterErr)
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not greet: %v", addr, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

func greets(addr string, implicitTLS bool) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if implicitTLS {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			return err
		}
		c = tc
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "220 ") {
		return fmt.Errorf("greeting %q", line)
	}
	io.WriteString(c, "QUIT\r\n")
	return nil
}

// makeQueue makes the queue's folders with the owners and modes `postfix
// check` gives them (as postfix-files lists them), without its three
// seconds of checking the whole installation.
func makeQueue(queue string, uid int) error {
	postdrop, err := user.LookupGroup("postdrop")
	if err != nil {
		return err
	}
	gid, _ := strconv.Atoi(postdrop.Gid)
	for _, d := range []struct {
		name     string
		uid, gid int
		mode     os.FileMode
	}{
		{"active", uid, 0, 0o700}, {"bounce", uid, 0, 0o700}, {"corrupt", uid, 0, 0o700},
		{"defer", uid, 0, 0o700}, {"deferred", uid, 0, 0o700}, {"flush", uid, 0, 0o700},
		{"hold", uid, 0, 0o700}, {"incoming", uid, 0, 0o700}, {"private", uid, 0, 0o700},
		{"saved", uid, 0, 0o700}, {"trace", uid, 0, 0o700}, {"pid", 0, 0, 0o755},
		{"maildrop", uid, gid, 0o730}, {"public", uid, gid, 0o710},
	} {
		path := filepath.Join(queue, d.name)
		if err := os.Mkdir(path, d.mode); err != nil {
			return err
		}
		if err := os.Chown(path, d.uid, d.gid); err != nil {
			return err
		}
		if err := os.Chmod(path, d.mode); err != nil { // past the umask
			return err
		}
	}
	return nil
}

func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

func (p *Postfix) writeConfig(uid, gid int) error {
	certPEM, keyPEM, err := selfSignedPEM()
	if err != nil {
		return err
	}
	p.certPEM = certPEM
	files := map[string]string{
		"cert.pem":        string(certPEM),
		"key.pem":         string(keyPEM),
		"main.cf":         p.mainCF(uid, gid),
		"master.cf":       p.masterCF(),
		"vmailbox":        p.vmailbox(),
		"senders":         p.senderMap(),
		"sasl/smtpd.conf": "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: " + filepath.Join(p.conf, "sasldb2") + "\n",
	}
	for name, content := range files {
		if err := writeConf(filepath.Join(p.conf, name), content); err != nil {
			return err
		}
	}
	return os.Chmod(filepath.Join(p.conf, "key.pem"), 0o600)
}

// writeConf writes a configuration file dated a minute ago: Postfix reads
// main.cf and texthash tables only once they are two seconds old (it
// waits, 300 ms at a time, for a file that may still be being written),
// which would cost every start, and the first connection after each
// change, two seconds.
func writeConf(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return err
	}
	past := time.Now().Add(-time.Minute)
	return os.Chtimes(path, past, past)
}

// mainCF is the whole configuration: every path inside the instance's
// folder, nothing looked up in DNS, mail for Domain delivered by
// virtual(8) to one Maildir, relaying to nowhere.
func (p *Postfix) mainCF(uid, gid int) string {
	return fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = %[2]s
mydomain = gatehouse.test
myorigin = $myhostname
mydestination =
relay_domains =
mynetworks = 127.0.0.1/32
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
virtual_mailbox_domains = %[3]s
virtual_mailbox_base = %[1]s/mail
virtual_mailbox_maps = regexp:%[1]s/conf/vmailbox
virtual_uid_maps = static:%[4]d
virtual_gid_maps = static:%[5]d
virtual_minimum_uid = 1
smtpd_tls_chain_files = %[1]s/conf/key.pem, %[1]s/conf/cert.pem
smtpd_tls_received_header = yes
smtpd_sasl_authenticated_header = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = %[1]s/conf/sasl
smtpd_sasl_local_domain = %[6]s
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
smtpd_sender_login_maps = texthash:%[1]s/conf/senders
smtpd_sender_restrictions = reject_sender_login_mismatch
`, p.Dir, hostname, Domain, uid, gid, realm)
}

// masterCF runs the three listeners and the daemons delivery needs, none
// chrooted. Each smtpd serves one connection (max_use=1), so that a change
// to the sender map or the password applies to the next connection.
func (p *Postfix) masterCF() string {
	return fmt.Sprintf(`%[1]s inet n - n - - smtpd
  -o syslog_name=postfix/submission -o max_use=1
  -o smtpd_tls_security_level=may -o smtpd_tls_auth_only=yes -o smtpd_sasl_auth_enable=yes
%[2]s inet n - n - - smtpd
  -o syslog_name=postfix/smtps -o max_use=1
  -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes
%[3]s inet n - n - - smtpd
  -o syslog_name=postfix/plain -o max_use=1
  -o smtpd_tls_security_level=none -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=no
  -o smtpd_sender_restrictions= -o smtpd_recipient_restrictions=permit_mynetworks,permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`, p.Submission, p.SMTPS, p.Plain)
}

// vmailbox maps every address of the domain to the Maildir "all/", except
// the rejected ones, which Postfix then calls unknown. (regexp tables may
// not substitute in virtual_mailbox_maps, hence one Maildir for all: the
// Delivered-To header tells the recipients apart.)
func (p *Postfix) vmailbox() string {
	if len(p.rejected) == 0 {
		return "/@/ all/\n"
	}
	quoted := make([]string, len(p.rejected))
	for i, a := range p.rejected {
		quoted[i] = regexp.QuoteMeta(strings.ToLower(a))
	}
	return "!/^(" + strings.Join(quoted, "|") + ")$/ all/\n"
}

func (p *Postfix) senderMap() string {
	var b strings.Builder
	b.WriteString("# sender address, then the login that may use it\n")
	for _, s := range p.senders {
		fmt.Fprintf(&b, "%s %s@%s\n", s, User, realm)
	}
	return b.String()
}

// AllowSenders replaces the sender addresses the account may use, as an
// operator fixing the relay would; the next connection sees the change.
func (p *Postfix) AllowSenders(t testing.TB, addrs ...string) {
	t.Helper()
	p.mu.Lock()
	p.senders = addrs
	m := p.senderMap()
	p.mu.Unlock()
	if err := writeConf(filepath.Join(p.conf, "senders"), m); err != nil {
		t.Fatal(err)
	}
}

// SetPassword changes the account's password; the next login sees it.
func (p *Postfix) SetPassword(t testing.TB, pass string) {
	t.Helper()
	if err := p.setPassword(pass); err != nil {
		t.Fatal(err)
	}
}

func (p *Postfix) setPassword(pass string) error {
	bin, err := saslpasswd2()
	if err != nil {
		return err
	}
	db := filepath.Join(p.conf, "sasldb2")
	cmd := exec.Command(bin, "-f", db, "-c", "-p", "-u", realm, User)
	cmd.Stdin = strings.NewReader(pass)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("saslpasswd2: %v\n%s", err, out)
	}
	return os.Chmod(db, 0o644) // read by smtpd, as the postfix user
}

// URL is the --smtp-url of the submission listener (STARTTLS), with the
// account's credentials, percent-encoded.
func (p *Postfix) URL() string { return p.url("smtp", p.Submission, true) }

// SMTPSURL is the --smtp-url of the implicit-TLS listener, with credentials.
func (p *Postfix) SMTPSURL() string { return p.url("smtps", p.SMTPS, true) }

// PlainURL is the --smtp-url of the listener without TLS, without
// credentials.
func (p *Postfix) PlainURL() string { return p.url("smtp", p.Plain, false) }

func (p *Postfix) url(scheme, addr string, credentials bool) string {
	u := url.URL{Scheme: scheme, Host: addr}
	if credentials {
		u.User = url.UserPassword(User, Password)
	}
	return u.String()
}

// TLSConfig trusts Postfix's certificate alone, with ServerName 127.0.0.1.
func (p *Postfix) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.certPEM)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// CAFile is the path of Postfix's self-signed certificate in PEM, for
// --smtp-ca-file.
func (p *Postfix) CAFile() string { return filepath.Join(p.conf, "cert.pem") }

// Log returns what Postfix has logged so far (its maillog_file).
func (p *Postfix) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	return string(b)
}

var authFailed = regexp.MustCompile(`(?m)^.* postfix/(\w+)/smtpd\[\d+\]: warning: .*: SASL \w+ authentication failed`)

// FailedLogins counts the failed SASL logins Postfix logged, on any
// listener.
func (p *Postfix) FailedLogins() int { return len(authFailed.FindAllString(p.Log(), -1)) }

var disconnect = regexp.MustCompile(`postfix/(\w+)/smtpd\[\d+\]: disconnect from .* (auth=\d+(?:/\d+)?)`)

// AuthAttempts counts the AUTH commands each listener saw, by the
// statistics Postfix logs at each disconnect ("auth=0/1"): "plain" must
// stay at zero, since credentials never go in clear.
func (p *Postfix) AuthAttempts(listener string) int {
	n := 0
	for _, m := range disconnect.FindAllStringSubmatch(p.Log(), -1) {
		if m[1] != listener {
			continue
		}
		counts := strings.TrimPrefix(m[2], "auth=")
		_, total, found := strings.Cut(counts, "/")
		if !found {
			total = counts
		}
		k, _ := strconv.Atoi(total)
		n += k
	}
	return n
}

// Messages reads every message delivered so far, oldest first, parsed as
// the in-process server (smtptest) parses them. To is the Delivered-To header, From
// the Return-Path; TLS and AuthUser come from Postfix's Received header.
func (p *Postfix) Messages(t testing.TB) []smtptest.Mail {
	t.Helper()
	var msgs []smtptest.Mail
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(p.Dir, "mail", "all", sub))
		if err != nil {
			continue // no mail yet
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				continue
			}
			files = append(files, file{filepath.Join(p.Dir, "mail", "all", sub, e.Name()), info.ModTime()})
		}
	}
	slices.SortFunc(files, func(a, b file) int { return a.mod.Compare(b.mod) })
	for _, f := range files {
		raw, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		// Maildir files end lines in LF; SMTP's are CRLF.
		raw = bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		m, err := smtptest.ParseMail(raw)
		if err != nil {
			t.Errorf("testenv: Postfix delivered a message that does not parse: %v\n%s", err, raw)
		}
		if m.Header != nil {
			m.To = []string{m.Header.Get("Delivered-To")}
			m.From = strings.Trim(m.Header.Get("Return-Path"), "<>")
			received := strings.Join(m.Header["Received"], "\n")
			m.TLS = strings.Contains(received, "(using TLS")
			if _, rest, ok := strings.Cut(received, "(Authenticated sender: "); ok {
				m.AuthUser, _, _ = strings.Cut(rest, ")")
			}
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// WaitFor waits up to smtptest.WaitTimeout for a message to to (any recipient
// when empty) whose subject contains subjectPart, delivered to the
// Maildir, and returns it; otherwise it fails the test.
func (p *Postfix) WaitFor(t testing.TB, to, subjectPart string) smtptest.Mail {
	t.Helper()
	deadline := time.Now().Add(smtptest.WaitTimeout)
	for {
		msgs := p.Messages(t)
		for _, m := range msgs {
			if m.SentTo(to) && strings.Contains(m.Subject, subjectPart) {
				return m
			}
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, m := range msgs {
				fmt.Fprintf(&b, "  %d. to %v: %q\n", i+1, m.To, m.Subject)
			}
			t.Fatalf("testenv: Postfix delivered no mail to %q with a subject containing %q after %v; delivered:\n%s",
				to, subjectPart, smtptest.WaitTimeout, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// selfSignedPEM makes a certificate and key for 127.0.0.1, ::1 and
// localhost, valid for a day, in PEM.
func selfSignedPEM() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Gatehouse test Postfix"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
