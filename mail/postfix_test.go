package mail_test

import (
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv/postfixtest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	gmail "github.com/gatehouse/gatehouse/mail"
)

// The tests here deliver through a real Postfix (Debian's, with Cyrus
// SASL): a server nobody here wrote, which says whether what Gatehouse
// sends is what a relay expects.

const postfixFrom = "Gatehouse Güvenlik <" + postfixtest.Sender + ">"

// postfixSender is a sender for url that trusts pf's certificate.
func postfixSender(t testing.TB, pf *postfixtest.Postfix, url string) gmail.Sender {
	t.Helper()
	s, err := gmail.NewSender(url, pf.TLSConfig())
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
			q := &memQueue{}
			sent := map[string]gmail.Message{}
			for _, name := range allMessages {
				for _, lang := range allLangs {
					to := fmt.Sprintf("%s.%s.%s@%s", name, lang, via, postfixtest.Domain)
					m, raw := render(t, name, lang, to)
					q.add(to, raw)
					sent[to] = m
				}
			}
			runWorker(t, &gmail.Worker{Queue: q, Sender: postfixSender(t, pf, url)})
			waitUntil(t, "all are delivered", func() bool { return q.count("delivered") == len(sent) })
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
