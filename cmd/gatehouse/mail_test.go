package main

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/postfixtest"
)

// `gatehouse mail test` sends one message through the relay serve would
// use, with serve's flags and environment, and prints the relay's answer;
// a failure exits non-zero with the answer and what to fix.
func TestMailTestCommand(t *testing.T) {
	pf := postfixtest.Start(t)
	env := []string{"GATEHOUSE_SMTP_URL=" + pf.URL(), "GATEHOUSE_SMTP_CA_FILE=" + pf.CAFile()}
	to := "ops@" + postfixtest.Domain
	from := "--mail-from=Acme Login <" + postfixtest.Sender + ">"

	r := runCmd(t, env, "", "mail", "test", "--to", to, from).wantOK(t, "mail test")
	if !strings.Contains(r.stdout, "Its answer: 250 2.0.0 Ok: queued as ") {
		t.Errorf("stdout: got %q, want Postfix's answer", r.stdout)
	}
	if m := pf.WaitFor(t, to, "Test message from Gatehouse"); !m.TLS || !strings.Contains(m.Text, "gatehouse mail test") {
		t.Errorf("the test message: got TLS %v and %q", m.TLS, m.Text)
	}

	r = runCmd(t, env, "", "mail", "test", "--to", to, "--mail-from", "someone-else@"+postfixtest.Domain)
	if r.code != 1 || !strings.Contains(r.stdout, "Its answer (to RCPT TO): 553 5.7.1 <someone-else@example.com>: Sender address rejected") ||
		!strings.Contains(r.stdout, "Fix: ") || !strings.Contains(r.stdout, "smtpd_sender_login_maps") {
		t.Errorf("a refused sender: got exit status %d\nstdout: %s\nstderr: %s\nwant 1, Postfix's 553 and what to fix", r.code, r.stdout, r.stderr)
	}

	r = runCmd(t, []string{"GATEHOUSE_SMTP_URL=" + pf.URL()}, "", "mail", "test", "--to", to, from)
	if r.code != 1 || !strings.Contains(r.stdout, "--smtp-ca-file") {
		t.Errorf("without the CA: got exit status %d\nstdout: %s\nstderr: %s\nwant 1 and advice to use --smtp-ca-file", r.code, r.stdout, r.stderr)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, postfixtest.Password) {
			t.Errorf("the output shows the password:\n%s", out)
		}
	}
}
