package api_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/server"
)

func requestReset(c *servertest.Client, email string) *servertest.Response {
	return c.Do("POST", "/api/v1/password-reset", map[string]string{"email": email})
}

func confirmReset(c *servertest.Client, token, pw string) *servertest.Response {
	return c.Do("POST", "/api/v1/password-reset/confirm", map[string]string{"token": token, "new_password": pw, "confirm_password": pw})
}

// resetToken asks for a reset mail for email and returns the link's token.
func resetToken(t *testing.T, s *servertest.Server, email string) string {
	t.Helper()
	before := len(s.SMTP.Messages())
	if r := requestReset(s.Client(t), email); r.StatusCode != 202 {
		t.Fatalf("reset request: got %d %s, want 202", r.StatusCode, r.Body)
	}
	s.WaitQuiet(t)
	var resets []smtptest.Mail
	for _, m := range s.SMTP.Messages()[before:] {
		if strings.Contains(m.Subject, "Reset") {
			resets = append(resets, m)
		}
	}
	if len(resets) != 1 {
		t.Fatalf("reset request: got %d new reset mails, want 1", len(resets))
	}
	return testenv.LinkToken(t, resets[0].Text)
}

func TestForgotPasswordJourney(t *testing.T) {
	const public = "https://login.example.com"
	s := startAcme(t, servertest.WithOptions(func(o *server.Options) { o.PublicURL = public }))
	c := s.Client(t)
	session := s.Client(t)
	session.Token = session.Login("ada@example.com", goodPW)

	// The same answer for a known and an unknown address. The Host and
	// X-Forwarded-Host headers are lies: links come from --public-url.
	forged := map[string]string{"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
	known := raw(t, s, "POST", "/api/v1/password-reset", "application/json", []byte(`{"email":"ada@example.com"}`), forged)
	unknown := raw(t, s, "POST", "/api/v1/password-reset", "application/json", []byte(`{"email":"ghost@example.com"}`), forged)
	if known.StatusCode != 202 || unknown.StatusCode != 202 || string(known.Body) != string(unknown.Body) {
		t.Fatalf("reset requests: got %d %s and %d %s, want the same 202", known.StatusCode, known.Body, unknown.StatusCode, unknown.Body)
	}
	m := s.SMTP.WaitFor(t, "ada@example.com", "Reset")
	link := testenv.Link(t, m.Text)
	if !strings.HasPrefix(link, public+"/reset-password?token=") {
		t.Fatalf("link: got %s, want it under %s", link, public)
	}
	if strings.Contains(m.HTML, "evil.example") || !strings.Contains(m.HTML, public+"/reset-password?token=") {
		t.Errorf("HTML part: want the link under %s and no forged host:\n%s", public, m.HTML)
	}
	s.WaitQuiet(t)
	if n := len(s.SMTP.Messages()); n != 1 {
		t.Errorf("messages: got %d, want 1 (none for the unknown address)", n)
	}
	var kept int
	s.SQL(t).QueryRow("SELECT count(*) FROM outbox WHERE body IS NOT NULL").Scan(&kept)
	if kept != 0 {
		t.Errorf("delivered messages with their body kept: got %d, want 0 (the body holds the token)", kept)
	}
	token := testenv.LinkToken(t, m.Text)

	// Opening the link uses nothing, however often.
	for range 2 {
		if r := c.Get("/reset-password?token=" + token); r.StatusCode != 200 || !strings.Contains(string(r.Body), `name="new_password"`) {
			t.Fatalf("open link: got %d, want 200 with the form", r.StatusCode)
		}
	}
	wantProblem(t, "mismatch", c.Do("POST", "/api/v1/password-reset/confirm", map[string]string{
		"token": token, "new_password": otherPW, "confirm_password": goodPW}), 400, "passwords_do_not_match")
	wantProblem(t, "weak", confirmReset(c, token, "password1234"), 422, "password_too_weak")
	wantProblem(t, "garbage token", confirmReset(c, "not-a-token", otherPW), 400, "invalid_token")

	if r := confirmReset(c, token, otherPW); r.StatusCode != 204 {
		t.Fatalf("confirm: got %d %s, want 204", r.StatusCode, r.Body)
	}
	wantProblem(t, "the link again", confirmReset(c, token, "another fine password here"), 400, "invalid_token")
	if r := c.Get("/reset-password?token=" + token); r.StatusCode != 400 {
		t.Errorf("open a used link: got %d, want 400", r.StatusCode)
	}
	wantProblem(t, "the session from before", session.Get("/api/v1/me"), 401, "unauthenticated")
	wantProblem(t, "the old password", login(c, "ada@example.com", goodPW), 401, "invalid_credentials")
	c.Login("ada@example.com", otherPW)
	s.SMTP.WaitFor(t, "ada@example.com", "password was changed")
}

func TestResetLinkDiesWhenThePasswordChanges(t *testing.T) {
	s := startAcme(t)
	token := resetToken(t, s, "ada@example.com")
	c := s.Client(t)
	c.Token = c.Login("ada@example.com", goodPW)
	if r := changePassword(c, goodPW, otherPW, otherPW); r.StatusCode != 204 {
		t.Fatalf("change: got %d %s", r.StatusCode, r.Body)
	}
	wantProblem(t, "link from before the change", confirmReset(s.Client(t), token, "another fine password here"), 400, "invalid_token")

	// And a newer link dies when an older one is used.
	first, second := resetToken(t, s, "ada@example.com"), resetToken(t, s, "ada@example.com")
	if r := confirmReset(s.Client(t), second, goodPW); r.StatusCode != 204 {
		t.Fatalf("confirm: got %d %s", r.StatusCode, r.Body)
	}
	wantProblem(t, "the other link", confirmReset(s.Client(t), first, "another fine password here"), 400, "invalid_token")
}

func TestResetMailIsCappedPerAddressAndHour(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	for i := range 4 {
		if r := requestReset(c, "ada@example.com"); r.StatusCode != 202 {
			t.Fatalf("request %d: got %d %s, want 202", i+1, r.StatusCode, r.Body)
		}
		s.WaitQuiet(t)
	}
	if n := len(s.SMTP.Messages()); n != 3 {
		t.Fatalf("reset mails within an hour: got %d, want 3", n)
	}
	s.Clock.Advance(time.Hour + time.Second)
	requestReset(c, "ada@example.com")
	s.WaitQuiet(t)
	if n := len(s.SMTP.Messages()); n != 4 {
		t.Errorf("reset mails an hour later: got %d, want 4", n)
	}
}

func TestResetRequestRefusesBadEmails(t *testing.T) {
	s := startAcme(t)
	before := s.Snapshot(t)
	for _, email := range []string{"a@b.c, d@e.f", "ada@example.com; bob@example.com", "Ada <ada@example.com>", "", "no-at-sign",
		"ada@example.com\r\nBcc: evil@example.com", "ädä@example.com", strings.Repeat("a", 250) + "@example.com"} {
		wantProblem(t, "email "+email, requestReset(s.Client(t), email), 400, "invalid_email")
	}
	if after := s.Snapshot(t); after != before {
		t.Errorf("refused requests changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// Concurrent forgot-password requests are written in shared transactions;
// each still gets its own answer, and the per-address budget (30) holds
// inside a group as it does between requests.
func TestResetRequestsInABurst(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := startAcme(t, db)
		companyID, _ := s.Company(t, "Burst", "admin@burst.example", goodPW)
		servertest.SeedUsers(t, s, companyID, "burst", 40)
		const n = 40
		codes := make([]int, n)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range n {
			wg.Go(func() {
				c := s.Client(t)
				start.Wait()
				r := requestReset(c, fmt.Sprintf("burst%06d@example.com", i))
				codes[i] = r.StatusCode
				if r.StatusCode == 429 && r.Header.Get("Retry-After") == "" {
					t.Errorf("request %d: 429 without Retry-After", i)
				}
			})
		}
		start.Done()
		wg.Wait()
		accepted, refused := 0, 0
		for i, code := range codes {
			switch code {
			case 202:
				accepted++
			case 429:
				refused++
			default:
				t.Errorf("request %d: got %d, want 202 or 429", i, code)
			}
		}
		if accepted != 30 || refused != 10 {
			t.Errorf("from one address: got %d accepted and %d refused, want 30 and 10", accepted, refused)
		}
		s.WaitQuiet(t)
		to := map[string]bool{}
		for _, m := range s.SMTP.Messages() {
			to[m.To[0]] = true
		}
		if len(to) != 30 || len(s.SMTP.Messages()) != 30 {
			t.Errorf("got %d reset mails to %d addresses, want one to each of the 30 accepted", len(s.SMTP.Messages()), len(to))
		}
	})
}
