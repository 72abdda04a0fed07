package cluster

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
)

// loadSettings reads GATEHOUSE_LOAD_DURATION and GATEHOUSE_LOAD_CLIENTS.
// Without them the load run is a short smoke run that keeps the load
// generator and its set-up working; with them it produces the figures of
// docs/BENCHMARKS.md.
func loadSettings(t *testing.T) (d time.Duration, clients, users int, full bool) {
	d, clients, users = 2*time.Second, 4, 4
	if v := os.Getenv("GATEHOUSE_LOAD_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("GATEHOUSE_LOAD_DURATION=%q: %v", v, err)
		}
		clients, users, full = 16, 16, true
	}
	if v := os.Getenv("GATEHOUSE_LOAD_CLIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("GATEHOUSE_LOAD_CLIENTS=%q: want a positive number", v)
		}
		clients, users = n, max(users, n)
	}
	return d, clients, users, full
}

// Logins and session checks spread over two nodes on PostgreSQL, next to
// one node on SQLite, with real password hashing (the default argon2id
// parameters). Run the figures with
//
//	GATEHOUSE_LOAD_DURATION=30s go test ./test/cluster -run TestLoadRun -v
func TestLoadRun(t *testing.T) {
	d, clients, users, full := loadSettings(t)
	emails := emailsFor("bench", users)
	run := func(t *testing.T, targets []string) {
		sc := loadgen.LoginAndCheck{Targets: targets, Emails: emails, Password: password, MePerLogin: 9,
			HTTP: loadgen.NewHTTPClient(clients)}
		rep := loadgen.Run(context.Background(), loadgen.Config{Clients: clients, Duration: d}, sc.Run)
		var b strings.Builder
		rep.Write(&b)
		t.Logf("%s\n%s", strings.Join(targets, ", "), b.String())
		for _, s := range rep.Stats() {
			if s.OK == 0 {
				t.Errorf("%s: no successful request", s.Name)
			}
			// A full run may push the hashing queue into 503s, which it
			// reports; so may the smoke run on a machine busy with other
			// work. Nothing else may fail.
			for kind, n := range s.ErrorKinds {
				if !full && !strings.HasSuffix(kind, "503 unavailable") {
					t.Errorf("%s: %d × %s", s.Name, n, kind)
				}
			}
		}
	}

	t.Run("two nodes on PostgreSQL", func(t *testing.T) {
		c := startCluster(t, clusterConfig{nodes: 2})
		c.CreateUsers(emails...)
		run(t, []string{c.Nodes[0].URL, c.Nodes[1].URL})
	})

	t.Run("one node on SQLite", func(t *testing.T) {
		n := newNode(t, "sqlite")
		for i, email := range emails {
			if _, err := runCommand(password+"\n", nil, "company", "create", "--data", n.Dir, "--name", fmt.Sprintf("Bench %d", i),
				"--admin-email", email, "--password-stdin"); err != nil {
				t.Fatal(err)
			}
		}
		n.Start()
		n.WaitReady(60 * time.Second)
		run(t, []string{n.URL})
	})
}
