package cluster

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

// password is good enough for the policy and used by every test user.
const password = "plum tractor velvet oyster"

// node is one `gatehouse serve` process.
type node struct {
	t    testing.TB
	Name string
	URL  string // http://127.0.0.1:port
	Addr string
	Dir  string // its --data folder, where its log is too
	args []string
	env  []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	exitErr error
}

// logPath is where the node's standard output and error go.
func (n *node) logPath() string { return filepath.Join(n.Dir, "serve.log") }

// Log returns everything the node has logged so far.
func (n *node) Log() string {
	b, _ := os.ReadFile(n.logPath())
	return string(b)
}

// newNode prepares a node on a free port with the given extra flags; Start
// runs it.
func newNode(t testing.TB, name string, flags ...string) *node {
	t.Helper()
	addr := freeAddr(t)
	n := &node{t: t, Name: name, Addr: addr, URL: "http://" + addr, Dir: t.TempDir()}
	n.args = append([]string{"serve", "--addr", addr, "--data", n.Dir, "--log-level", "info"}, flags...)
	t.Cleanup(func() {
		n.Stop()
		if t.Failed() {
			t.Logf("log of %s:\n%s", n.Name, tail(n.Log(), 60))
		}
	})
	return n
}

// Start runs the process; it does not wait for it to be ready.
func (n *node) Start() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	logf, err := os.OpenFile(n.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		n.t.Fatal(err)
	}
	bin, err := gatehouseBinary()
	if err != nil {
		logf.Close()
		n.t.Fatal(err)
	}
	cmd := exec.Command(bin, n.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(cleanEnv(), n.env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		n.t.Fatalf("start %s: %v", n.Name, err)
	}
	exited := make(chan struct{})
	n.cmd, n.exited = cmd, exited
	go func() {
		err := cmd.Wait()
		logf.Close()
		n.mu.Lock()
		n.exitErr = err
		n.mu.Unlock()
		close(exited)
	}()
}

// cleanEnv is the test's environment without GATEHOUSE_ settings, so that
// a developer's shell cannot change what a node does.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return env
}

// Running reports whether the process is alive.
func (n *node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.exited == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM, as an orchestrator does, and waits for a graceful
// exit; after 30 s it kills the process.
func (n *node) Stop() {
	n.signalAndWait(syscall.SIGTERM, 30*time.Second)
}

// Kill ends the process at once (SIGKILL): a crash, or the OOM killer.
func (n *node) Kill() {
	n.signalAndWait(syscall.SIGKILL, 10*time.Second)
}

func (n *node) signalAndWait(sig syscall.Signal, wait time.Duration) {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(wait):
		n.t.Errorf("%s did not stop within %v after %v; killing it", n.Name, wait, sig)
		cmd.Process.Kill()
		<-exited
	}
}

// WaitReady waits until /readyz answers 200, failing the test if the
// process exits first or d passes.
func (n *node) WaitReady(d time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if status, _ := getStatus(n.URL + "/readyz"); status == http.StatusOK {
			return
		}
		if !n.Running() {
			n.t.Fatalf("%s exited before it was ready (%v):\n%s", n.Name, n.exitErr, tail(n.Log(), 40))
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s not ready after %v:\n%s", n.Name, d, tail(n.Log(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Client returns an HTTP client of this node.
func (n *node) Client(t testing.TB) *servertest.Client { return servertest.NewClient(t, n.URL) }

// getStatus fetches url and returns its status code.
func getStatus(url string) (int, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cluster is several nodes on one PostgreSQL database with one key and one
// SMTP server.
type cluster struct {
	t       testing.TB
	DBURL   string
	KeyFile string
	SMTP    *smtptest.Server
	Nodes   []*node
	DB      *sql.DB // the test's own connection, to arrange and inspect
}

// clusterConfig says how to start a cluster.
type clusterConfig struct {
	nodes int    // how many nodes newCluster prepares
	dbURL string // empty: a fresh database on the shared test server
	smtp  []smtptest.Option
	flags []string // extra flags of every node
}

// startCluster starts the nodes at once and waits until each is ready.
func startCluster(t testing.TB, cfg clusterConfig) *cluster {
	t.Helper()
	c := newCluster(t, cfg)
	for _, n := range c.Nodes {
		n.Start()
	}
	for _, n := range c.Nodes {
		n.WaitReady(60 * time.Second)
	}
	return c
}

// newCluster prepares the database, key, SMTP server and nodes without
// starting the nodes.
func newCluster(t testing.TB, cfg clusterConfig) *cluster {
	t.Helper()
	if cfg.dbURL == "" {
		cfg.dbURL = testenv.Postgres(t)
	}
	c := &cluster{t: t, DBURL: cfg.dbURL, KeyFile: testenv.WriteKeyFile(t, t.TempDir()), SMTP: smtptest.Start(t, cfg.smtp...)}
	db, err := sql.Open("pgx", cfg.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c.DB = db
	for i := range cfg.nodes {
		c.Nodes = append(c.Nodes, c.newNode(fmt.Sprintf("node%d", i+1), cfg.flags...))
	}
	return c
}

// newNode prepares one more node of the cluster.
func (c *cluster) newNode(name string, flags ...string) *node {
	return newNode(c.t, name, append([]string{"--database-url", c.DBURL, "--secret-key-file", c.KeyFile,
		"--smtp-url", c.SMTP.URL()}, flags...)...)
}

// Exec runs SQL on the cluster's database.
func (c *cluster) Exec(query string, args ...any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.DB.ExecContext(ctx, query, args...); err != nil {
		c.t.Fatalf("%s: %v", query, err)
	}
}

// Int runs a query that returns one integer.
func (c *cluster) Int(query string, args ...any) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int
	if err := c.DB.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// CreateUser creates a company whose admin has the email and the test
// password, with `gatehouse company create` on the cluster's database, and
// returns the admin's email.
func (c *cluster) CreateUser(email string) string {
	c.t.Helper()
	c.CreateUsers(email)
	return email
}

// CreateUsers creates one company per email, two commands at a time.
func (c *cluster) CreateUsers(emails ...string) {
	c.t.Helper()
	sem := make(chan struct{}, 2)
	errs := make([]error, len(emails))
	var wg sync.WaitGroup
	for i, email := range emails {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, errs[i] = c.Command(password+"\n", "company", "create", "--name", "Company of "+strings.Split(email, "@")[0],
				"--admin-email", email, "--password-stdin")
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.t.Fatal(err)
	}
}

// Command runs a gatehouse command on the cluster's database and returns
// its standard output.
func (c *cluster) Command(stdin string, args ...string) (string, error) {
	args = append(args, "--database-url", c.DBURL, "--secret-key-file", c.KeyFile, "--data", c.t.TempDir())
	return runCommand(stdin, nil, args...)
}

// runCommand runs the gatehouse binary and returns its standard output, or
// an error with its standard error.
func runCommand(stdin string, env []string, args ...string) (string, error) {
	bin, err := gatehouseBinary()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("gatehouse %s: %w\n%s", strings.Join(args[:min(len(args), 2)], " "), err, errOut.String())
	}
	return out.String(), nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// postJSON posts body as JSON and returns the status code, or 0 when the
// request failed; unlike servertest.Client it may be called from any goroutine.
func postJSON(url string, body any) int {
	status, _, _ := postJSONHeader(url, body, nil)
	return status
}

// postJSONHeader posts body as JSON with extra headers and returns the
// status, the response's headers and its body.
func postJSONHeader(url string, body any, header map[string]string) (int, http.Header, []byte) {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, []byte(err.Error())
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, rb
}

// httpClient is shared by the goroutines of a test; its timeout is long
// enough for a login on a busy two-core machine.
var httpClient = &http.Client{Timeout: 30 * time.Second}
