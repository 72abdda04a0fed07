package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

// setupCompany creates the first company through the setup page of p,
// as a person with a browser would, and returns the admin's client.
func setupCompany(t *testing.T, p *serveProcess, link string) *servertest.Client {
	t.Helper()
	c := p.client(t)
	path := strings.TrimPrefix(link, p.URL)
	if r := c.Get(path); r.StatusCode != 200 {
		t.Fatalf("open the setup link: got %d, want 200", r.StatusCode)
	}
	r := c.PostForm("/setup", map[string]string{"token": testenv.LinkToken(t, link), "company_name": "Acme",
		"name": "Ada Lovelace", "email": "ada@example.com", "new_password": testenv.GoodPassword, "confirm_password": testenv.GoodPassword})
	if r.StatusCode != 303 || c.SessionCookie() == "" {
		t.Fatalf("setup: got %d %s, want 303 and a session", r.StatusCode, r.Body)
	}
	return c
}

func TestFirstStartPrintsASetupLink(t *testing.T) {
	dir := t.TempDir()
	first := serve(t, nil, "--data", dir)
	link1 := first.setupLink(t)
	if !strings.HasPrefix(link1, first.URL+"/setup?token=") {
		t.Fatalf("setup link: got %s, want it under %s", link1, first.URL)
	}
	first.cmd.Process.Signal(syscall.SIGTERM)
	<-first.exited

	// Still no company: the next start prints another link; both work.
	second := serve(t, nil, "--data", dir)
	link2 := second.setupLink(t)
	if link2 == link1 {
		t.Fatalf("the second start printed the same link")
	}
	old := strings.Replace(link1, first.URL, second.URL, 1)
	if r := second.client(t).Get(strings.TrimPrefix(old, second.URL)); r.StatusCode != 200 {
		t.Errorf("the first link before setup: got %d, want 200", r.StatusCode)
	}
	admin := setupCompany(t, second, link2)
	admin.Token = admin.SessionCookie()
	if me := admin.Get("/api/v1/me"); me.StatusCode != 200 || me.Str(t, "email") != "ada@example.com" {
		t.Fatalf("me after setup: got %d %s", me.StatusCode, me.Body)
	}
	for _, link := range []string{link2, old} {
		r := second.client(t).Get(strings.TrimPrefix(link, second.URL))
		if r.StatusCode != 409 || !strings.Contains(string(r.Body), "already set up") {
			t.Errorf("setup link after setup: got %d, want 409 setup_done", r.StatusCode)
		}
	}
	second.cmd.Process.Signal(syscall.SIGTERM)
	<-second.exited
	third := serve(t, nil, "--data", dir)
	if strings.Contains(third.stdout.String(), "/setup?token=") {
		t.Errorf("a start after setup printed a setup link:\n%s", third.stdout)
	}
	third.client(t).Login("ada@example.com", testenv.GoodPassword)
}

// downSMTP returns an smtp:// URL where nothing listens.
func downSMTP(t *testing.T) string {
	t.Helper()
	return "smtp://" + freeAddr(t)
}

// TestQueuedMailAndDataSurviveKill9 asks for a reset while the SMTP server
// is down, kills the process without warning, and starts it again with a
// working SMTP server: the reset mail arrives and the link works, and the
// admin created before the kill still logs in.
func TestQueuedMailAndDataSurviveKill9(t *testing.T) {
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			dir := t.TempDir()
			flags := db.flags(t, dir)
			p := serve(t, nil, append(flags, "--smtp-url", downSMTP(t))...)
			setupCompany(t, p, p.setupLink(t))
			c := p.client(t)
			if r := c.Do("POST", "/api/v1/password-reset", map[string]string{"email": "ada@example.com"}); r.StatusCode != 202 {
				t.Fatalf("reset request: got %d %s, want 202", r.StatusCode, r.Body)
			}
			waitForQueuedMail(t, dir, db)
			p.kill9(t)

			smtp := smtptest.Start(t, smtptest.WithWaitTimeout(90*time.Second))
			again := serve(t, nil, append(flags, "--smtp-url", smtp.URL())...)
			c = again.client(t)
			c.Login("ada@example.com", testenv.GoodPassword)
			m := smtp.WaitFor(t, "ada@example.com", "Reset")
			token := testenv.LinkToken(t, m.Text)
			r := c.Do("POST", "/api/v1/password-reset/confirm", map[string]string{"token": token,
				"new_password": testenv.OtherPassword, "confirm_password": testenv.OtherPassword})
			if r.StatusCode != 204 {
				t.Fatalf("confirm after the restart: got %d %s, want 204", r.StatusCode, r.Body)
			}
			c.Login("ada@example.com", testenv.OtherPassword)
		})
	}
}

// TestResetRequestSurvivesKill9BeforeItIsProcessed kills the process right
// after it answered 202, before the request may have become mail.
func TestResetRequestSurvivesKill9BeforeItIsProcessed(t *testing.T) {
	dir := t.TempDir()
	p := serve(t, nil, "--data", dir, "--smtp-url", downSMTP(t))
	setupCompany(t, p, p.setupLink(t))
	if r := p.client(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": "ada@example.com"}); r.StatusCode != 202 {
		t.Fatalf("reset request: got %d, want 202", r.StatusCode)
	}
	p.kill9(t)
	smtp := smtptest.Start(t, smtptest.WithWaitTimeout(90*time.Second))
	serve(t, nil, "--data", dir, "--smtp-url", smtp.URL())
	smtp.WaitFor(t, "ada@example.com", "Reset")
}

// waitForQueuedMail waits until the reset mail waits in the outbox, the
// relay being down (the queue is held, the message kept): the state a
// crash must not lose.
func waitForQueuedMail(t *testing.T, dir string, db database) {
	t.Helper()
	url := ""
	if db.name == "postgres" {
		url = db.args[1]
	}
	conn := testenv.OpenSQL(t, url, dir)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := conn.QueryRow("SELECT count(*) FROM outbox WHERE sent_at = 0 AND failed_at = 0").Scan(&n)
		if err != nil && err != sql.ErrNoRows {
			t.Fatal(err)
		}
		if n > 0 {
			// The queued message holds a live token: at rest it is sealed.
			var body []byte
			if err := conn.QueryRow("SELECT body FROM outbox WHERE sent_at = 0").Scan(&body); err != nil {
				t.Fatal(err)
			}
			if len(body) == 0 || strings.Contains(string(body), "reset-password") || strings.Contains(string(body), "ada@example.com") {
				t.Errorf("the queued message is stored in the clear:\n%s", body)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no mail in the outbox within 20s")
}

// TestSIGTERMFinishesRequestsInFlight sends SIGTERM while a login's body
// is still arriving: the login completes, then the process exits cleanly.
func TestSIGTERMFinishesRequestsInFlight(t *testing.T) {
	dir := t.TempDir()
	runCmd(t, nil, testenv.GoodPassword, "company", "create", "--data", dir, "--name", "Acme",
		"--admin-email", "ada@example.com", "--password-stdin").wantOK(t, "company create")
	p := serve(t, nil, "--data", dir)
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	body := fmt.Sprintf(`{"email": "ada@example.com", "password": %q}`, testenv.GoodPassword)
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:half])
	// The server has taken the connection once it has answered a later
	// one: its one accepting goroutine takes connections in their order.
	if r := p.client(t).Get("/healthz"); r.StatusCode != 200 {
		t.Fatalf("healthz: got %d", r.StatusCode)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	testenv.WaitUntil(t, "the process to start shutting down", func() bool {
		return strings.Contains(p.stderr.String()+p.stdout.String(), "shutting down: finishing requests in flight")
	})
	select {
	case <-p.exited:
		t.Fatalf("the process exited with a request in flight: %v", p.cmd.ProcessState)
	default:
	}
	conn.Write([]byte(body[half:]))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the request in flight: got %d, want 200", resp.StatusCode)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("the process did not exit after SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status after SIGTERM: got %d, want 0\n%s", code, p.stderr)
	}
}
