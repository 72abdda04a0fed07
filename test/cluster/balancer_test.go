package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// The deployment of docs/DEPLOYMENT.md, with a real HAProxy in front of
// two nodes: requests are spread over both, a session made through the
// balancer works whichever node answers, the audit log records the real
// client's address (the nodes trust the balancer's X-Forwarded-For, and the
// balancer drops what the client wrote), and when a node stops, its failing
// /readyz takes it out of the rotation.
func TestBehindHAProxy(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		testenv.Need(t, "haproxy is not installed (apt-get install haproxy)")
	}
	c := startCluster(t, clusterConfig{nodes: 2, flags: []string{"--trusted-proxies", "127.0.0.1"}})
	email := c.CreateUser("balanced@example.com")
	lb, lbLog := startHAProxy(t, haproxy, c.Nodes)

	// The client comes from 127.0.0.2, the balancer talks to the nodes from
	// 127.0.0.1 (all of 127.0.0.0/8 is loopback on Linux).
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext,
	}}
	do := func(method, path, token string, body any, header map[string]string) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, lb+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s through the balancer: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	status, body := do("POST", "/api/v1/login", "", map[string]string{"email": email, "password": "not the password"},
		map[string]string{"X-Forwarded-For": "203.0.113.1"})
	if status != http.StatusUnauthorized {
		t.Fatalf("wrong password through the balancer: got %d %s, want 401", status, body)
	}
	if n := c.Int(`SELECT count(*) FROM audit_events WHERE type = 'login.failed' AND ip = '127.0.0.2'`); n != 1 {
		t.Errorf("login.failed events from the client's address 127.0.0.2: got %d, want 1", n)
	}
	if n := c.Int(`SELECT count(*) FROM audit_events WHERE ip IN ('203.0.113.1', '127.0.0.1')`); n != 0 {
		t.Errorf("events from the address the client claimed or from the balancer: got %d, want 0", n)
	}

	status, body = do("POST", "/api/v1/login", "", map[string]string{"email": email, "password": password}, nil)
	var login struct {
		SessionToken string `json:"session_token"`
	}
	json.Unmarshal(body, &login)
	if status != http.StatusOK || login.SessionToken == "" {
		t.Fatalf("login through the balancer: got %d %s, want 200 with a session", status, body)
	}
	before := requestsServed(t, c.Nodes)
	for range 10 {
		if status, body := do("GET", "/api/v1/me", login.SessionToken, nil, nil); status != http.StatusOK {
			t.Fatalf("GET /api/v1/me through the balancer: got %d %s, want 200", status, body)
		}
	}
	after := requestsServed(t, c.Nodes)
	for i, n := range c.Nodes {
		if after[i]-before[i] < 3 {
			t.Errorf("%s answered %d of 10 session checks; want the balancer to spread them", n.Name, after[i]-before[i])
		}
	}

	// node1 goes away: the balancer's /readyz checks take it out, and the
	// session keeps working on node2.
	c.Nodes[0].Stop()
	testenv.WaitUntil(t, "the balancer to take "+c.Nodes[0].Name+" out", func() bool {
		return strings.Contains(lbLog(), "gatehouse/"+c.Nodes[0].Name+" is DOWN")
	})
	for range 10 {
		if status, body := do("GET", "/api/v1/me", login.SessionToken, nil, nil); status != http.StatusOK {
			t.Errorf("GET /api/v1/me with node1 stopped: got %d %s, want 200", status, body)
		}
	}
}

// requestsServed reads from each node's /metrics how many session checks
// (GET /api/v1/me) it answered; the balancer's health checks do not count.
func requestsServed(t *testing.T, nodes []*node) []int {
	t.Helper()
	var out []int
	for _, n := range nodes {
		resp, err := http.Get(n.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		total := 0
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, `gatehouse_http_request_duration_seconds_count{route="GET /api/v1/me"} `); ok {
				total, _ = strconv.Atoi(v)
			}
		}
		out = append(out, total)
	}
	return out
}

// startHAProxy runs HAProxy in front of the nodes with the settings of
// docs/DEPLOYMENT.md (plain HTTP: TLS is not what is tested) and returns
// its URL, and its log so far.
func startHAProxy(t *testing.T, haproxy string, nodes []*node) (url string, log func() string) {
	t.Helper()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`global
    log stderr format raw local0 warning
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend http
    bind %s
    http-request del-header X-Forwarded-For
    option forwardfor
    default_backend gatehouse
backend gatehouse
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2
`, addr)
	for _, n := range nodes {
		cfg += fmt.Sprintf("    server %s %s check\n", n.Name, n.Addr)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, haproxy, "-db", "-f", path)
	logPath := filepath.Join(dir, "haproxy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	log = func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		cancel()
		logFile.Close()
		t.Fatalf("start haproxy: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		logFile.Close()
		if t.Failed() {
			t.Logf("haproxy:\n%s", log())
		}
	})
	url = "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		if status, _ := getStatus(url + "/readyz"); status == http.StatusOK {
			return url, log
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy does not answer at %s", url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
