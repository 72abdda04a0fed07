package security_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
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
