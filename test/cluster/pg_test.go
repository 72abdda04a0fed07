package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// privatePostgres is a PostgreSQL server of the test's own, in a temporary
// folder on a free port, that the test may stop and start at will without
// disturbing the shared server other tests use.
type privatePostgres struct {
	t       testing.TB
	bin     string // folder of initdb and postgres
	root    string
	data    string
	port    string
	URL     string
	cred    *syscall.Credential // nil: run as ourselves
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
}

// startPrivatePostgres initialises a cluster with initdb and starts it. As
// root (PostgreSQL refuses to run as root) it runs as the postgres user.
// Without the server binaries it skips, or fails in CI.
func startPrivatePostgres(t testing.TB) *privatePostgres {
	t.Helper()
	bin := postgresBinDir()
	if bin == "" {
		testenv.Need(t, "the PostgreSQL server binaries (initdb, postgres) are not installed (apt-get install postgresql)")
	}
	p := &privatePostgres{t: t, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Need(t, "running as root needs a postgres user to run a private PostgreSQL ("+err.Error()+")")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	root, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if p.cred != nil {
		if err := os.Chown(root, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	p.root, p.data, p.logPath = root, filepath.Join(root, "data"), filepath.Join(root, "postgres.log")
	_, p.port, _ = strings.Cut(freeAddr(t), ":")
	p.URL = "postgres://postgres@127.0.0.1:" + p.port + "/postgres?sslmode=disable"

	initdb := p.command("initdb", "-D", p.data, "-U", "postgres", "-A", "trust", "--no-locale", "-E", "UTF8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		testenv.Need(t, fmt.Sprintf("initdb could not make a private PostgreSQL: %v\n%s", err, out))
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			b, _ := os.ReadFile(p.logPath)
			t.Logf("private PostgreSQL log:\n%s", tail(string(b), 40))
		}
	})
	p.Start()
	return p
}

// postgresBinDir finds the newest installed PostgreSQL server.
func postgresBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "postgres")) && fileExists(filepath.Join(d, "initdb")) {
			return d
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil && fileExists(filepath.Join(filepath.Dir(p), "initdb")) {
		return filepath.Dir(p)
	}
	return ""
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func (p *privatePostgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.root
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C"}
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

// Start runs the server and waits until it accepts connections.
func (p *privatePostgres) Start() {
	p.t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := p.command("postgres", "-D", p.data, "-p", p.port, "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+p.root, "-c", "max_connections=100")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		p.t.Fatalf("start private PostgreSQL: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited

	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		p.t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(p.logPath)
			p.t.Fatalf("private PostgreSQL exited while starting:\n%s", tail(string(b), 20))
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("private PostgreSQL not accepting connections after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop shuts the server down with a fast shutdown (SIGINT): sessions are
// ended, transactions in flight are rolled back, and the server exits.
func (p *privatePostgres) Stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.t.Errorf("private PostgreSQL did not stop within 30s; killing it")
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}
