package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// migrationCount is how many PostgreSQL migrations the binary embeds.
func migrationCount(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "sqldb", "migrations", "postgres", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no PostgreSQL migrations found (%v)", err)
	}
	return len(files)
}

// Nodes started at the same moment on an empty database all come up: one
// migrates while the others wait on the advisory lock, then find nothing
// left to do. Without the lock the others would fail on tables that
// already exist. The third node is configured by the environment alone.
func TestNodesStartingTogetherMigrateOnce(t *testing.T) {
	c := newCluster(t, clusterConfig{nodes: 2})
	byEnv := newNode(t, "node3")
	byEnv.env = []string{"GATEHOUSE_DATABASE_URL=" + c.DBURL, "GATEHOUSE_SECRET_KEY_FILE=" + c.KeyFile, "GATEHOUSE_SMTP_URL=" + c.SMTP.URL()}
	c.Nodes = append(c.Nodes, byEnv)
	for _, n := range c.Nodes {
		n.Start()
	}
	for _, n := range c.Nodes {
		n.WaitReady(60 * time.Second)
	}
	if !strings.Contains(byEnv.Log(), "database=postgres") {
		t.Errorf("node3, given GATEHOUSE_DATABASE_URL, does not say it serves from PostgreSQL:\n%s", tail(byEnv.Log(), 10))
	}
	want := migrationCount(t)
	if got := c.Int(`SELECT count(*) FROM schema_migrations`); got != want {
		t.Errorf("schema_migrations holds %d rows, want %d (each migration once)", got, want)
	}
	for _, n := range c.Nodes {
		if strings.Contains(n.Log(), "level=ERROR") {
			t.Errorf("%s logged an error while starting:\n%s", n.Name, tail(n.Log(), 20))
		}
	}
}

// `gatehouse migrate` run by several deploy jobs at once succeeds in each.
func TestMigrateCommandsTogether(t *testing.T) {
	dbURL := testenv.Postgres(t)
	key := testenv.WriteKeyFile(t, t.TempDir())
	outs := make([]string, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			outs[i], errs[i] = runCommand("", nil, "migrate", "--database-url", dbURL, "--secret-key-file", key, "--data", t.TempDir())
		})
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil {
			t.Errorf("migrate %d: %v", i+1, errs[i])
		} else if outs[i] != outs[0] {
			t.Errorf("migrate %d said %q, migrate 1 said %q", i+1, outs[i], outs[0])
		}
	}
}

// With PostgreSQL there is no default key: every node must seal and open
// TOTP secrets and queued mail with the same one, so a node without
// --secret-key-file refuses to start and says what to do.
func TestServeWithoutKeyRefusesPostgres(t *testing.T) {
	dbURL := testenv.Postgres(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"flag", nil, []string{"serve", "--database-url", dbURL}},
		{"environment", []string{"GATEHOUSE_DATABASE_URL=" + dbURL}, []string{"serve"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--addr", freeAddr(t), "--data", t.TempDir())
			_, err := runCommand("", tc.env, args...)
			if err == nil {
				t.Fatal("serve without --secret-key-file on PostgreSQL started; want a refusal")
			}
			msg := err.Error()
			for _, want := range []string{"--secret-key-file", "every node", "openssl rand -base64 32", "exit status 2"} {
				if !strings.Contains(msg, want) {
					t.Errorf("refusal does not mention %q:\n%s", want, msg)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.key")
		_, err := runCommand("", nil, "serve", "--database-url", dbURL, "--secret-key-file", missing, "--addr", freeAddr(t), "--data", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("serve with a missing key file: got %v, want a refusal saying it does not exist", err)
		}
		if _, statErr := os.Stat(missing); statErr == nil {
			t.Errorf("serve created %s; with PostgreSQL the key must come from the operator", missing)
		}
	})
}

// A node given another key than the installation's refuses to start and
// says why, instead of failing the TOTP logins and the queued mail of
// everyone it serves.
func TestServeWithAnotherKeyRefuses(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 1})
	other := testenv.WriteKeyFile(t, t.TempDir())
	_, err := runCommand("", nil, "serve", "--database-url", c.DBURL, "--secret-key-file", other, "--addr", freeAddr(t), "--data", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "every node must be given the same key file") {
		t.Errorf("serve with another key: got %v, want a refusal saying every node needs the same key", err)
	}
	// The right key still starts.
	n := c.newNode("second")
	n.Start()
	n.WaitReady(60 * time.Second)
}
