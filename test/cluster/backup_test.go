package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// The backup of docs/DEPLOYMENT.md works: sqlite3's online .backup of a
// node that is serving logins, together with the key file, restores into a
// data folder on which a new node starts and every account logs in.
func TestSQLiteBackupWhileServing(t *testing.T) {
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		testenv.Need(t, "sqlite3 is not installed (apt-get install sqlite3)")
	}
	n := newNode(t, "sqlite")
	emails := emailsFor("backup", 4)
	for i, email := range emails {
		if _, err := runCommand(password+"\n", nil, "company", "create", "--data", n.Dir, "--name", fmt.Sprintf("Backup %d", i),
			"--admin-email", email, "--password-stdin"); err != nil {
			t.Fatal(err)
		}
	}
	n.Start()
	n.WaitReady(60 * time.Second)

	// Logins write sessions, throttles and the audit log while the backup
	// copies the database.
	// A 503 is the hashing queue saying "busy, retry" on a loaded machine,
	// which a client honours; anything else but 200 is a failure.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var ok atomic.Int64
	for _, email := range emails {
		wg.Go(func() {
			for ctx.Err() == nil {
				switch status := postJSON(n.URL+"/api/v1/login", map[string]string{"email": email, "password": password}); status {
				case 200:
					ok.Add(1)
				case 503:
					time.Sleep(100 * time.Millisecond)
				default:
					t.Errorf("login during the backup: got %d, want 200", status)
					return
				}
			}
		})
	}
	testenv.WaitUntil(t, "logins under way", func() bool { return ok.Load() >= 10 })
	backup := filepath.Join(t.TempDir(), "gatehouse.db")
	out, err := exec.Command(sqlite3, filepath.Join(n.Dir, "gatehouse.db"), ".timeout 10000", ".backup '"+backup+"'").CombinedOutput()
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("sqlite3 .backup: %v\n%s", err, out)
	}
	if ok.Load() == 0 {
		t.Fatal("no login succeeded while the backup ran")
	}
	if out, err := exec.Command(sqlite3, backup, "PRAGMA integrity_check").CombinedOutput(); err != nil || string(out) != "ok\n" {
		t.Fatalf("integrity of the backup: got %q (%v), want ok", out, err)
	}

	// Restore: the database file and the key, into a new data folder.
	restored := newNode(t, "restored")
	copyFile(t, backup, filepath.Join(restored.Dir, "gatehouse.db"))
	copyFile(t, filepath.Join(n.Dir, "secret.key"), filepath.Join(restored.Dir, "secret.key"))
	n.Stop()
	restored.Start()
	restored.WaitReady(60 * time.Second)
	for _, email := range emails {
		restored.Client(t).Login(email, password)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
