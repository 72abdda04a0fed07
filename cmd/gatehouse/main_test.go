package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// binary is the gatehouse command built once for these tests: they run it
// as an operator would, in its own process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// environ is this process's environment without GATEHOUSE_ variables,
// plus extra: a test states every setting it relies on.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// result is what a finished command did.
type result struct {
	stdout, stderr string
	code           int
}

// runCmd runs the command to its end with the environment env and
// stdin as standard input.
func runCmd(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = environ(env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("gatehouse %v: %v", args, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// wantOK fails unless the command succeeded.
func (r result) wantOK(t *testing.T, what string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit status %d\nstdout: %s\nstderr: %s", what, r.code, r.stdout, r.stderr)
	}
	return r
}

// serveProcess is a running `gatehouse serve`.
type serveProcess struct {
	cmd            *exec.Cmd
	URL            string
	stdout, stderr *testenv.Buffer
	exited         chan struct{}
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve starts `gatehouse serve` on a free port with args and waits until
// it answers /healthz. It is killed when the test ends.
func serve(t *testing.T, env []string, args ...string) *serveProcess {
	t.Helper()
	addr := freeAddr(t)
	p := &serveProcess{URL: "http://" + addr, stdout: &testenv.Buffer{}, stderr: &testenv.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(binary, append([]string{"serve", "--addr", addr}, args...)...)
	p.cmd.Env = environ(env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("serve stdout:\n%s\nserve stderr:\n%s", p.stdout, p.stderr)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("serve exited at start: %v\nstdout: %s\nstderr: %s", p.cmd.ProcessState, p.stdout, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer within 30s\nstderr: %s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill9 ends the process as a power cut would: no shutdown, no cleanup.
func (p *serveProcess) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// client is a testenv client for the process.
func (p *serveProcess) client(t *testing.T) *servertest.Client {
	s := &servertest.Server{URL: p.URL}
	return s.Client(t)
}

var setupLinkPattern = regexp.MustCompile(`http://\S+/setup\?token=[A-Za-z0-9_-]{43}`)

// setupLink waits for the setup link on the process's standard output.
func (p *serveProcess) setupLink(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if link := setupLinkPattern.FindString(p.stdout.String()); link != "" {
			return link
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no setup link printed:\n%s", p.stdout)
	return ""
}

// database is a database for a subprocess: the flags that name it.
type database struct {
	name string
	args []string
}

// databases returns SQLite in dir and, unless PostgreSQL tests are off, a
// fresh PostgreSQL database with a key file in dir.
func databases(t *testing.T) []database {
	dbs := []database{{"sqlite", nil}}
	for _, kind := range testenv.Databases() {
		if kind == "postgres" {
			dbs = append(dbs, database{name: "postgres"})
		}
	}
	return dbs
}

// flags returns the data flags of db for a test, creating the PostgreSQL
// database and the key file on first use.
func (db *database) flags(t *testing.T, dir string) []string {
	t.Helper()
	if db.name == "postgres" && db.args == nil {
		db.args = []string{"--database-url", testenv.Postgres(t), "--secret-key-file", testenv.WriteKeyFile(t, dir)}
	}
	return append([]string{"--data", dir}, db.args...)
}
