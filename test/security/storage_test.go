package security_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/server"
)

// Threat: secrets left where other people (other accounts on the machine,
// whoever reads the logs) can read them: the SQLite database and its WAL,
// the secret key, mail written to files; session tokens, links, codes and
// passwords in the log.

// TestDataFolderIsPrivate: whatever the data folder's own permissions (an
// operator may have made it with mkdir, under a umask of 022), the files
// Gatehouse writes into it are readable by its owner only — including a
// database file an older version left readable by all.
func TestDataFolderIsPrivate(t *testing.T) {
	w := newWorld(t)
	w.browser(t, "mia@acme.example") // something in the WAL
	check := func() {
		t.Helper()
		n := 0
		filepath.WalkDir(w.s.Dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), "gatehouse.db") && d.Name() != "secret.key" {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			n++
			if perm := info.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("%s: mode %v, want no access for group or others", d.Name(), perm)
			}
			return nil
		})
		if n < 3 {
			t.Fatalf("found %d of the database files and the key in %s", n, w.s.Dir)
		}
	}
	check()

	// A database an older version left world-readable is made private at
	// the next start.
	w.s.Stop()
	for _, f := range []string{"gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm"} {
		os.Chmod(filepath.Join(w.s.Dir, f), 0o644)
	}
	app, err := server.Open(t.Context(), server.Options{DataDir: w.s.Dir})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	check()
}

// TestLogsHoldNoSecrets follows logins (with 2FA and a temporary password),
// a password change, a reset and enrollment with the server logging at
// debug level, and looks for every secret in the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	w := newWorld(t)
	ada := w.api(t, "ada@acme.example")
	secret, recovery := enableTOTP(t, w.s, ada)
	adaSession := totpSignIn(t, w.s, "ada@acme.example", secret).Token
	secrets := []string{pw, otherPW, adaSession, ada.Token, string(secret)}
	secrets = append(secrets, recovery...)

	c := w.s.Client(t)
	ch := challenge(t, c, "ada@acme.example", auth.StatusTOTPRequired)
	secrets = append(secrets, ch)
	r := c.Do("POST", "/api/v1/login/totp", map[string]string{"challenge": ch, "recovery_code": recovery[0]})
	wantStatus(t, "recovery code", r, 200)
	secrets = append(secrets, r.Str(t, "session_token"))

	temp := totpSignIn(t, w.s, "ada@acme.example", secret).Do("POST", "/api/v1/company/users/"+w.mia+"/password-reset", map[string]string{"method": "temporary"})
	wantStatus(t, "temporary password", temp, 200)
	secrets = append(secrets, temp.Str(t, "temporary_password"))
	token := resetLink(t, w, "ben@bolt.example")
	secrets = append(secrets, token)
	wantStatus(t, "reset", confirm(w, w.s.Client(t), token, otherPW), 204)
	browser := w.browser(t, "bob@bolt.example")
	secrets = append(secrets, browser.SessionCookie())
	browser.Get("/reset-password?token=" + token)
	browser.Get("/settings/profile?token=" + token)

	log := w.s.Log.String()
	if !strings.Contains(log, "level=DEBUG") {
		t.Fatal("the server did not log at debug level; the test would prove nothing")
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("the log holds a secret: %q", s)
		}
	}
}

// TestQueuedMailIsSealed: a message waiting in the outbox holds a live
// link, so the database never holds it in the clear — not the link, not
// the words around it — even while delivery keeps failing.
func TestQueuedMailIsSealed(t *testing.T) {
	w := newWorld(t, servertest.WithSMTP(smtptest.WithFailures(1000)))
	wantStatus(t, "reset request", w.s.Client(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": "mia@acme.example"}), 202)
	ada := w.api(t, "ada@acme.example")
	invite := ada.Do("POST", "/api/v1/company/users", map[string]string{"email": "new@acme.example", "name": "New"})
	wantStatus(t, "invite", invite, 201)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var queued int
		w.s.SQL(t).QueryRow(`SELECT count(*) FROM outbox WHERE sent_at = 0 AND failed_at = 0`).Scan(&queued)
		if queued >= 3 { // Dan's "disabled" notice, the reset, the invitation

			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reset and invitation mail never reached the outbox (%d of 3 queued)", queued)
		}
		time.Sleep(20 * time.Millisecond)
	}
	files, _ := filepath.Glob(filepath.Join(w.s.Dir, "gatehouse.db*"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{"reset-password?token=", "/reset-password", "mia@acme.example>", "Subject:", "invited you"} {
			if strings.Contains(string(raw), needle) {
				t.Errorf("%s holds queued mail in the clear (%q)", filepath.Base(f), needle)
			}
		}
	}
}
