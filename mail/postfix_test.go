package mail_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/postfixtest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	gmail "github.com/gatehouse/gatehouse/mail"
)

// The tests here deliver through a real Postfix (Debian's, with Cyrus
// SASL): a server nobody here wrote, which says whether what Gatehouse
// sends is what a relay expects.

// faults records OnHold's calls.
type faults struct {
	mu sync.Mutex
	f  []gmail.Fault
}

func (f *faults) add(x gmail.Fault) {
	f.mu.Lock()
	f.f = append(f.f, x)
	f.mu.Unlock()
}

func (f *faults) list() []gmail.Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gmail.Fault(nil), f.f...)
}

const postfixFrom = "Gatehouse Güvenlik <" + postfixtest.Sender + ">"

// postfixSender is a sender for url that trusts pf's certificate.
func postfixSender(t testing.TB, pf *postfixtest.Postfix, url string) gmail.Sender {
	t.Helper()
	s, err := gmail.NewSender(url, gmail.Options{TLS: pf.TLSConfig()})
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

// render renders one template to to, composed from postfixFrom.
func render(t *testing.T, name, lang, to string) (gmail.Message, []byte) {
	t.Helper()
	d := sampleData(name, lang)
	d.Email, d.OldEmail = to, to
	m, err := loadTemplates(t).Render(name, lang, d)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := gmail.Compose(postfixFrom, m, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return m, raw
}

// Every message in every language arrives, sent by the worker through
// STARTTLS with AUTH and through implicit TLS, well formed as Postfix and
// a MIME parser read it: subjects and names in UTF-8 encoded right, a text
// and an HTML part, our own Message-ID, Auto-Submitted; the password never
// in clear.
func TestPostfixDeliversEveryMessage(t *testing.T) {
	pf := postfixtest.Start(t)
	for via, url := range map[string]string{"starttls": pf.URL(), "smtps": pf.SMTPSURL()} {
		t.Run(via, func(t *testing.T) {
			q := newOutbox(t, "sqlite", postfixFrom, nil)
			sent := map[string]gmail.Message{}
			for _, name := range allMessages {
				for _, lang := range allLangs {
					to := fmt.Sprintf("%s.%s.%s@%s", name, lang, via, postfixtest.Domain)
					m, raw := render(t, name, lang, to)
					q.add(t, to, raw)
					sent[to] = m
				}
			}
			runWorker(t, &gmail.Worker{Queue: q, Sender: postfixSender(t, pf, url)})
			testenv.WaitUntil(t, "all are delivered", func() bool { return q.count(t, "delivered") == len(sent) })
			for to, m := range sent {
				checkDelivered(t, pf.WaitFor(t, to, m.Subject), m, to)
			}
		})
	}
	if n := pf.AuthAttempts("plain"); n != 0 {
		t.Errorf("the listener without TLS saw %d AUTH commands, want none", n)
	}
}

func checkDelivered(t *testing.T, got smtptest.Mail, want gmail.Message, to string) {
	t.Helper()
	if got.Subject != want.Subject {
		t.Errorf("%s: subject: got %q, want %q", to, got.Subject, want.Subject)
	}
	if got.Text != want.Text || got.HTML != want.HTML {
		t.Errorf("%s: the text or HTML part changed on the way", to)
	}
	from, err := got.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Gatehouse Güvenlik" || from[0].Address != postfixtest.Sender {
		t.Errorf("%s: From: got %v (%v), want Gatehouse Güvenlik <%s>", to, from, err, postfixtest.Sender)
	}
	if got.From != postfixtest.Sender {
		t.Errorf("%s: envelope sender %q, want %s", to, got.From, postfixtest.Sender)
	}
	if id := got.Header.Get("Message-Id"); !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("%s: Message-ID %q, want ours (Postfix adds one only when it is missing)", to, id)
	}
	if v := got.Header.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("%s: Auto-Submitted: got %q, want auto-generated", to, v)
	}
	if _, err := mail.ParseDate(got.Header.Get("Date")); err != nil {
		t.Errorf("%s: Date: %v", to, err)
	}
	if !got.TLS || got.AuthUser == "" {
		t.Errorf("%s: got TLS %v, authenticated sender %q; want TLS and AUTH", to, got.TLS, got.AuthUser)
	}
}

// heldWorker runs a worker on q that probes a held queue every probe,
// and returns it with its log and the faults it held the queue for.
func heldWorker(t *testing.T, q *outbox, s gmail.Sender, probe time.Duration) (*gmail.Worker, *testenv.Buffer, *faults) {
	t.Helper()
	log, f := &testenv.Buffer{}, &faults{}
	w := &gmail.Worker{Queue: q, Sender: s, Log: slog.New(slog.NewTextHandler(io.MultiWriter(log, t.Output()), nil)),
		ProbeBackoff: func(int) time.Duration { return probe }, OnHold: f.add}
	runWorker(t, w)
	return w, log, f
}

// waitHeld waits until w holds its queue and returns the hold.
func waitHeld(t *testing.T, w *gmail.Worker) gmail.Hold {
	t.Helper()
	var h gmail.Hold
	testenv.WaitUntil(t, "the queue is held", func() bool {
		var held bool
		h, held = w.Held()
		return held
	})
	return h
}

// wantKept checks that every message is still queued, its body kept and
// no attempt counted against it but the claim of a probe in flight, which
// its release takes back.
func wantKept(t *testing.T, q *outbox) {
	t.Helper()
	for _, r := range q.rows(t) {
		counted := r.Attempts
		if r.LeaseUntil.After(time.Now()) {
			counted--
		}
		if r.State != "queued" || !r.BodyKept || counted != 0 {
			t.Errorf("%s: got state %s, body kept %v, %d attempts; want queued, kept, none counted (%s)",
				r.ID, r.State, r.BodyKept, r.Attempts, r.LastErr)
		}
	}
}

// A relay that refuses the sender (Postfix's default for an address the
// login does not own: 553 5.7.1 at RCPT TO) is a fault of the
// configuration: the whole queue is held and nothing is erased, the log
// says what to fix, and once the relay is fixed a probe finds it and the
// whole queue goes.
func TestPostfixRefusedSenderHoldsTheQueue(t *testing.T) {
	pf := postfixtest.Start(t, postfixtest.WithSenders()) // no sender allowed
	q := newOutbox(t, "sqlite", postfixFrom, nil)
	for i := range 5 {
		to := fmt.Sprintf("user%d@%s", i, postfixtest.Domain)
		q.add(t, to, composed(t, to, "held back"))
	}
	w, log, f := heldWorker(t, q, postfixSender(t, pf, pf.URL()), 100*time.Millisecond)

	h := waitHeld(t, w)
	if h.Fault != gmail.FaultSender || !strings.Contains(h.Err, "553 ") || !strings.Contains(h.Err, "Sender address rejected") {
		t.Errorf("hold: got fault %q, error %q; want sender and Postfix's 553", h.Fault, h.Err)
	}
	testenv.WaitUntil(t, "a probe fails", func() bool { return strings.Count(log.String(), "queue still held") >= 1 })
	wantKept(t, q)
	for _, want := range []string{"level=ERROR", "queue held", "smtpd_sender_login_maps", "--mail-from", "Amazon SES"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}

	pf.AllowSenders(t, postfixtest.Sender)
	testenv.WaitUntil(t, "all are delivered", func() bool { return q.count(t, "delivered") == 5 })
	for i := range 5 {
		pf.WaitFor(t, fmt.Sprintf("user%d@%s", i, postfixtest.Domain), "held back")
	}
	if _, held := w.Held(); held {
		t.Error("the queue is still held after a probe passed")
	}
	if got := f.list(); len(got) != 1 || got[0] != gmail.FaultSender {
		t.Errorf("OnHold: got %v, want one sender fault", got)
	}
}

// A wrong password costs one failed login per probe, not one per queued
// message: providers lock accounts that fail to log in too often.
func TestPostfixWrongPasswordFailsOneLoginPerProbe(t *testing.T) {
	pf := postfixtest.Start(t)
	pf.SetPassword(t, "the operator changed it")
	q := newOutbox(t, "sqlite", postfixFrom, nil)
	for i := range 50 {
		to := fmt.Sprintf("user%d@%s", i, postfixtest.Domain)
		q.add(t, to, composed(t, to, "after the password"))
	}
	var probes atomic.Int32
	w := &gmail.Worker{Queue: q, Sender: postfixSender(t, pf, pf.URL()),
		ProbeBackoff: func(int) time.Duration { probes.Add(1); return 200 * time.Millisecond }}
	runWorker(t, w)

	testenv.WaitUntil(t, "three probes failed", func() bool { return probes.Load() >= 4 })
	if h, held := w.Held(); !held || h.Fault != gmail.FaultAuth || !strings.Contains(h.Err, "535") {
		t.Errorf("hold: got %+v (held %v), want an authentication fault with Postfix's 535", h, held)
	}
	// Each failed login comes before the probe schedule it causes.
	if logins, n := pf.FailedLogins(), probes.Load(); logins > int(n) || logins == 0 {
		t.Errorf("%d failed logins for %d probes (and the check at start), want one each", logins, n)
	}
	wantKept(t, q)

	pf.SetPassword(t, postfixtest.Password)
	testenv.WaitUntil(t, "all are delivered", func() bool { return q.count(t, "delivered") == 50 })
}

// Reset and invitation links are credentials: mail goes to a relay that
// is not on loopback only over TLS, unless the operator says otherwise;
// and credentials never go in clear, whatever the operator says.
func TestPostfixLinksNeverTravelInClearToARemoteRelay(t *testing.T) {
	pf := postfixtest.Start(t)
	remote := func(url string, o gmail.Options) gmail.Sender {
		s, err := gmail.NewSender(url, o)
		if err != nil {
			t.Fatal(err)
		}
		gmail.DialInstead(s, pf.Plain) // a relay elsewhere, without STARTTLS
		return s
	}
	ctx := context.Background()
	to := "bob@" + postfixtest.Domain

	err := remote("smtp://relay.example.net:25", gmail.Options{}).Send(ctx, mailFrom, to, composed(t, to, "in clear"))
	rerr := gmail.AsRelayError(err)
	if rerr == nil || rerr.Fault != gmail.FaultTLS || !strings.Contains(rerr.Fix, "--smtp-allow-plaintext") {
		t.Fatalf("Send to a relay without STARTTLS: got %v, want a TLS fault that names --smtp-allow-plaintext", err)
	}
	if strings.Contains(pf.Log(), "to=<"+to+">") {
		t.Error("Postfix saw the recipient: the message started in clear")
	}

	// Credentials stay home even with the opt-out.
	err = remote("smtp://mailer:secret@relay.example.net:25", gmail.Options{AllowPlaintext: true}).
		Send(ctx, mailFrom, to, composed(t, to, "credentials in clear"))
	if rerr := gmail.AsRelayError(err); rerr == nil || rerr.Fault != gmail.FaultTLS {
		t.Errorf("Send with credentials and no STARTTLS: got %v, want a TLS fault", err)
	}

	if err := remote("smtp://relay.example.net:25", gmail.Options{AllowPlaintext: true}).
		Send(ctx, mailFrom, to, composed(t, to, "allowed in clear")); err != nil {
		t.Fatalf("Send with --smtp-allow-plaintext: %v", err)
	}
	if m := pf.WaitFor(t, to, "allowed in clear"); m.TLS {
		t.Error("got TLS from the listener without it")
	}
	// A relay on loopback (a local Postfix, a sidecar) needs no TLS.
	if err := postfixSender(t, pf, pf.PlainURL()).Send(ctx, mailFrom, to, composed(t, to, "on loopback")); err != nil {
		t.Fatalf("Send to a loopback relay without STARTTLS: %v", err)
	}
	pf.WaitFor(t, to, "on loopback")
	if n := pf.AuthAttempts("plain"); n != 0 {
		t.Errorf("the listener without TLS saw %d AUTH commands, want none", n)
	}
}

// --smtp-ca-file adds a private CA to the system's roots for the relay.
func TestPostfixCAFile(t *testing.T) {
	pf := postfixtest.Start(t)
	to := "bob@" + postfixtest.Domain
	for _, url := range []string{pf.URL(), pf.SMTPSURL()} {
		s, err := gmail.NewSender(url, gmail.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(context.Background(), mailFrom, to, composed(t, to, "x"))
		if rerr := gmail.AsRelayError(err); rerr == nil || rerr.Fault != gmail.FaultTLS || !strings.Contains(rerr.Fix, "--smtp-ca-file") {
			t.Errorf("%s with the system's roots only: got %v, want a TLS fault that names --smtp-ca-file", url, err)
		}
		s, err = gmail.NewSender(url, gmail.Options{CAFile: pf.CAFile()})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), mailFrom, to, composed(t, to, "trusted "+url[:5])); err != nil {
			t.Fatalf("%s with --smtp-ca-file: %v", url, err)
		}
		if m := pf.WaitFor(t, to, "trusted "+url[:5]); !m.TLS {
			t.Errorf("%s: delivered without TLS", url)
		}
	}
}

// A scheme that does not fit the port says which one does, and quickly.
func TestPostfixSchemeThatDoesNotFitThePort(t *testing.T) {
	pf := postfixtest.Start(t)
	s := postfixSender(t, pf, "smtp://"+pf.SMTPS) // implicit TLS there
	gmail.SetGreetingTimeout(s, 500*time.Millisecond)
	err := gmail.Check(context.Background(), s)
	if rerr := gmail.AsRelayError(err); rerr == nil || !strings.Contains(rerr.Fix, "smtps://") || !strings.Contains(err.Error(), "greeting") {
		t.Errorf("smtp:// to the implicit-TLS port: got %v, want no greeting and advice to use smtps://", err)
	}
	err = gmail.Check(context.Background(), postfixSender(t, pf, "smtps://"+pf.Submission))
	if rerr := gmail.AsRelayError(err); rerr == nil || rerr.Fault != gmail.FaultTLS || !strings.Contains(rerr.Fix, "use smtp://") {
		t.Errorf("smtps:// to the STARTTLS port: got %v, want advice to use smtp://", err)
	}
}

// Deliver returns the relay's answer to the message, which `gatehouse mail
// test` prints.
func TestPostfixDeliverReturnsTheAnswer(t *testing.T) {
	pf := postfixtest.Start(t, postfixtest.WithRejectedRecipients("nobody@"+postfixtest.Domain))
	s := postfixSender(t, pf, pf.URL())
	to := "bob@" + postfixtest.Domain
	answer, err := gmail.Deliver(context.Background(), s, mailFrom, to, composed(t, to, "answered"))
	if err != nil || !strings.HasPrefix(answer, "250 2.0.0 Ok: queued as ") {
		t.Errorf("Deliver: got %q, %v; want Postfix's 250 with its queue ID", answer, err)
	}
	pf.WaitFor(t, to, "answered")

	answer, err = gmail.Deliver(context.Background(), s, mailFrom, "nobody@"+postfixtest.Domain, composed(t, to, "x"))
	if answer != "" || !gmail.IsPermanent(err) || !strings.Contains(err.Error(), "Recipient address rejected") {
		t.Errorf("Deliver to an unknown user: got %q, %v; want Postfix's permanent 550", answer, err)
	}
}
