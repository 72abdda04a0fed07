package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/postfixtest"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/server"
)

// withPostfix points a server's mail at pf, as its operator would with
// --smtp-url and --mail-from, and probes a held queue often.
func withPostfix(pf *postfixtest.Postfix) servertest.Option {
	return servertest.WithOptions(func(o *server.Options) {
		o.SMTPURL, o.SMTPTLS = pf.URL(), pf.TLSConfig()
		o.MailFrom = "Gatehouse <" + postfixtest.Sender + ">"
		o.MailProbeEvery = 100 * time.Millisecond
	})
}

// outboxState is the one message of the outbox: whether it was sent,
// given up (and why), and whether its body is kept.
func outboxState(t *testing.T, s *servertest.Server, to string) (sent, failed bool, failure string, body bool) {
	t.Helper()
	var sentAt, failedAt int64
	var b []byte
	err := s.SQL(t).QueryRow("SELECT sent_at, failed_at, failure, body FROM outbox WHERE recipient = $1 ORDER BY created_at DESC LIMIT 1", to).
		Scan(&sentAt, &failedAt, &failure, &b)
	if err != nil {
		t.Fatal(err)
	}
	return sentAt != 0, failedAt != 0, failure, b != nil
}

// A relay that refuses the sender holds the queue and says so where an
// operator looks: an ERROR line with what to fix, a metric, and /readyz,
// which stays 200 (the database answers; taking nodes out of the balancer
// would not send a single message more). The mail is kept, and goes once
// the relay is fixed.
func TestHeldQueueIsLoudAndLosesNothing(t *testing.T) {
	pf := postfixtest.Start(t, postfixtest.WithSenders())
	s := servertest.Start(t, withPostfix(pf))
	s.Company(t, "Acme", "ada@"+postfixtest.Domain, testenv.GoodPassword)
	c := s.Client(t)
	if r := c.Do("POST", "/api/v1/password-reset", map[string]string{"email": "ada@" + postfixtest.Domain}); r.StatusCode != 202 {
		t.Fatalf("reset: got %d", r.StatusCode)
	}
	testenv.WaitUntil(t, "the queue is held", func() bool { return strings.Contains(string(c.Get("/readyz").Body), "mail: held") })

	r := c.Get("/readyz")
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(string(r.Body), "ready\nmail: held since ") ||
		!strings.Contains(string(r.Body), "refuses the sender address (fault sender)") {
		t.Errorf("readyz: got %d %q, want 200, ready, and the held queue", r.StatusCode, r.Body)
	}
	metrics := string(c.Get("/metrics").Body)
	for _, want := range []string{"\ngatehouse_mail_held 1\n", "\ngatehouse_mail_holds_total{fault=\"sender\"} 1\n", "\ngatehouse_mail_pending 1\n"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", strings.TrimSpace(want))
		}
	}
	log := s.Log.String()
	for _, want := range []string{"level=ERROR", "queue held", "Sender address rejected", "smtpd_sender_login_maps"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	if sent, failed, _, body := outboxState(t, s, "ada@"+postfixtest.Domain); sent || failed || !body {
		t.Errorf("outbox: got sent %v, failed %v, body kept %v; want waiting with its body", sent, failed, body)
	}

	pf.AllowSenders(t, postfixtest.Sender)
	m := pf.WaitFor(t, "ada@"+postfixtest.Domain, "Reset")
	testenv.LinkToken(t, m.Text)
	testenv.WaitUntil(t, "the queue flows", func() bool { return strings.Contains(string(c.Get("/readyz").Body), "mail: ok") })
	if !strings.Contains(string(c.Get("/metrics").Body), "\ngatehouse_mail_held 0\n") {
		t.Error("gatehouse_mail_held is not 0 once mail flows")
	}
}

// queueReset turns a forgot-password request for email into mail, as the
// server's worker would.
func queueReset(t *testing.T, s *servertest.Server, email string) {
	t.Helper()
	ctx := context.Background()
	err := s.App.DB.Update(ctx, func(tx gatehouse.Tx) error {
		return tx.EnqueueResetRequest(&gatehouse.ResetRequest{ID: gatehouse.NewID(tx.Now()), CreatedAt: tx.Now(), Email: email, Lang: "en"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Service().ProcessResetRequests(ctx); err != nil || n != 1 {
		t.Fatalf("process the reset request: got %d, %v", n, err)
	}
}

// A reset mail that could not go out before its link expired (an outage
// of the relay longer than the link lives) is not sent: it is recorded as
// expired, and its user's admins see it.
func TestMailPastItsLinkIsNotSent(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Open(t, db)
		companyID, _ := s.Company(t, "Acme", "admin@example.com", testenv.GoodPassword)
		servertest.SeedUsers(t, s, companyID, "reset", 2)
		// One mail waits since an hour (its link is dead), one since 50
		// minutes: the relay was away, or held, all that time.
		queueReset(t, s, "reset000001@example.com")
		s.Clock.Advance(10 * time.Minute)
		queueReset(t, s, "reset000000@example.com")
		s.Clock.Advance(50 * time.Minute)
		s.Start()
		s.SMTP.WaitFor(t, "reset000000@example.com", "Reset")
		testenv.WaitUntil(t, "the dead link is given up", func() bool {
			_, failed, _, _ := outboxState(t, s, "reset000001@example.com")
			return failed
		})
		if sent, _, failure, body := outboxState(t, s, "reset000001@example.com"); sent || failure != "expired" || body {
			t.Errorf("outbox: got sent %v, failure %q, body kept %v; want expired, not sent, erased", sent, failure, body)
		}
		for _, m := range s.SMTP.Messages() {
			if m.To[0] == "reset000001@example.com" {
				t.Error("the mail with the dead link was sent")
			}
		}
		if !strings.Contains(s.Log.String(), "the link it carries expired before it could be delivered") {
			t.Error("the log does not say the mail was not sent")
		}
		c := s.Client(t)
		c.Token = c.Login("admin@example.com", testenv.GoodPassword)
		users := c.Get("/api/v1/company/users?query=reset0000").JSON(t)["users"].([]any)
		problems := map[string]any{}
		for _, u := range users {
			u := u.(map[string]any)
			problems[u["email"].(string)] = u["mail_problem"]
		}
		if p, _ := problems["reset000001@example.com"].(map[string]any); p["mail"] != "password_reset" || p["reason"] != "expired" || p["answer"] != nil {
			t.Errorf("mail_problem of the expired reset: got %v, want password_reset, expired, no answer", problems["reset000001@example.com"])
		}
		if p := problems["reset000000@example.com"]; p != nil {
			t.Errorf("mail_problem of the delivered reset: got %v, want null", p)
		}
	})
}

// A recipient the mail server refuses (550) is seen by the company's
// admins, on /settings/users, the user's page and in the API, with the
// server's answer: typing an address wrong no longer fails in silence.
func TestRefusedRecipientIsShownToAdmins(t *testing.T) {
	nobody := "nobody@" + postfixtest.Domain
	pf := postfixtest.Start(t, postfixtest.WithRejectedRecipients(nobody))
	s := servertest.Start(t, withPostfix(pf))
	s.Company(t, "Acme", "ada@"+postfixtest.Domain, testenv.GoodPassword)
	c := s.Client(t)
	c.Login("ada@"+postfixtest.Domain, testenv.GoodPassword) // the cookie for pages
	c.Token = c.Login("ada@"+postfixtest.Domain, testenv.GoodPassword)
	r := c.Do("POST", "/api/v1/company/users", map[string]string{"email": nobody, "name": "No Body"})
	if r.StatusCode != 201 {
		t.Fatalf("invite: got %d %s", r.StatusCode, r.Body)
	}
	id := r.Str(t, "id")
	if _, present := r.JSON(t)["mail_problem"]; present {
		t.Error("the invitation's answer has mail_problem; it is the list's and the user's")
	}
	testenv.WaitUntil(t, "the invitation fails", func() bool { _, failed, _, _ := outboxState(t, s, nobody); return failed })

	const answer = "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table"
	p, _ := c.Get("/api/v1/company/users/" + id).JSON(t)["mail_problem"].(map[string]any)
	if p["mail"] != "invitation" || p["reason"] != "rejected" || p["answer"] != answer || p["at"] == nil {
		t.Errorf("mail_problem: got %v, want the refused invitation with Postfix's answer", p)
	}
	for lang, want := range map[string][]string{
		"en": {"Not delivered", "The invitation could not be delivered.", "The mail server refused the address."},
		"id": {"Tidak terkirim", "Undangan tidak dapat dikirim.", "Server email menolak alamat ini."},
		"tr": {"Teslim edilemedi", "Davet e-postası teslim edilemedi.", "E-posta sunucusu bu adresi reddetti."},
	} {
		c.Header["Accept-Language"] = lang
		for i, page := range []string{"/settings/users", "/settings/users/" + id} {
			body := string(c.Get(page).Body)
			if i == 1 {
				want = want[1:] // the user's page has a heading, not the badge
			}
			for _, w := range append(want, "Recipient address rejected: User unknown") {
				if !strings.Contains(body, w) {
					t.Errorf("%s in %s lacks %q", page, lang, w)
				}
			}
		}
	}

	// A new link (the admin fixed nothing yet, but asked again) replaces
	// the problem until it, too, is refused.
	delete(c.Header, "Accept-Language")
	if r := c.Do("POST", "/api/v1/company/users/"+id+"/password-reset", map[string]string{"method": "email"}); r.StatusCode != 202 {
		t.Fatalf("new invitation: got %d %s", r.StatusCode, r.Body)
	}
	testenv.WaitUntil(t, "the second invitation fails", func() bool {
		var n int
		if err := s.SQL(t).QueryRow("SELECT count(*) FROM outbox WHERE recipient = $1 AND failed_at <> 0", nobody).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 2
	})
	users := c.Get("/api/v1/company/users").JSON(t)["users"].([]any)
	for _, u := range users {
		u := u.(map[string]any)
		if u["id"] == id && u["mail_problem"] == nil {
			t.Error("the second refused invitation is not shown")
		}
		if u["id"] != id && u["mail_problem"] != nil {
			t.Errorf("%v has a mail_problem", u["email"])
		}
	}
}
