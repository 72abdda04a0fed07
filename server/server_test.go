package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

func TestHealthAndReadiness(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		c := s.Client(t)
		if r := c.Get("/healthz"); r.StatusCode != 200 || strings.TrimSpace(string(r.Body)) != "ok" {
			t.Errorf("healthz: got %d %q, want 200 ok", r.StatusCode, r.Body)
		}
		if r := c.Get("/readyz"); r.StatusCode != 200 || string(r.Body) != "ready\nmail: ok\n" {
			t.Errorf("readyz: got %d %q, want 200 ready, mail ok", r.StatusCode, r.Body)
		}
		s.App.DB.Close()
		if r := c.Get("/readyz"); r.StatusCode != 503 {
			t.Errorf("readyz with the database closed: got %d %q, want 503", r.StatusCode, r.Body)
		}
		if r := c.Get("/healthz"); r.StatusCode != 200 {
			t.Errorf("healthz with the database closed: got %d, want 200 (alive)", r.StatusCode)
		}
	})
}

// metricLine matches a sample of the Prometheus text format.
var metricLine = regexp.MustCompile(`^([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.]+(e[+-][0-9]+)?$|^[a-z_]+ (NaN|\+Inf|-Inf)$`)

func TestMetrics(t *testing.T) {
	s := servertest.Start(t, servertest.WithSMTP(smtptest.WithRejectedRecipients("bounce@example.com")))
	s.Company(t, "Acme", "ada@example.com", testenv.GoodPassword)
	s.Company(t, "Bounce", "bounce@example.com", testenv.GoodPassword)
	c := s.Client(t)
	c.Login("ada@example.com", testenv.GoodPassword)
	c.Do("POST", "/api/v1/login", map[string]string{"email": "ada@example.com", "password": "wrong wrong wrong"})
	for _, to := range []string{"ada@example.com", "bounce@example.com"} {
		c.Do("POST", "/api/v1/password-reset", map[string]string{"email": to})
	}
	s.WaitQuiet(t)
	// The worker counts a message after it records its outcome, so the
	// queue can be quiet a moment before the counters move.
	r := c.Get("/metrics")
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); r = c.Get("/metrics") {
		body := string(r.Body)
		if strings.Contains(body, `gatehouse_mail_delivered_total{outcome="sent"} `) &&
			strings.Contains(body, `gatehouse_mail_delivered_total{outcome="failed"} `) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: got %d %s, want 200 Prometheus text", r.StatusCode, r.Header.Get("Content-Type"))
	}
	samples := map[string]string{}
	typed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(r.Body)), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			typed[strings.Fields(line)[2]] = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		if !metricLine.MatchString(line) {
			t.Errorf("not a sample: %q", line)
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		samples[line[:i]] = line[i+1:]
		name, _, _ := strings.Cut(line[:i], "{")
		name = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !typed[name] {
			t.Errorf("sample %q has no # TYPE before it", line)
		}
	}
	for _, want := range []string{
		`gatehouse_http_requests_total{code="200"}`,
		`gatehouse_http_requests_total{code="401"}`,
		`gatehouse_logins_total{result="authenticated"}`,
		`gatehouse_logins_total{result="invalid_credentials"}`,
		`gatehouse_mail_queued_total{template="password_reset"}`,
		`gatehouse_mail_delivered_total{outcome="sent"}`,
		`gatehouse_mail_delivered_total{outcome="failed"}`,
		`gatehouse_mail_pending`,
		`gatehouse_mail_failed`,
		`gatehouse_hash_running`,
		`gatehouse_hash_waiting`,
		`gatehouse_hash_rejected_total`,
		`gatehouse_hash_total`,
		`gatehouse_hash_throughput`,
		`gatehouse_hash_estimated_wait_seconds`,
		`gatehouse_sqlite_log_pages`,
		`gatehouse_sqlite_checkpoint_failures_total`,
		`gatehouse_sqlite_write_transactions_total`,
		`gatehouse_sqlite_commits_total`,
		// The Go runtime's and the process's collectors.
		`go_goroutines`,
		`go_gc_duration_seconds_count`,
		`go_memstats_heap_alloc_bytes`,
		`process_cpu_seconds_total`,
		`process_resident_memory_bytes`,
		`process_open_fds`,
	} {
		v, ok := samples[want]
		if !ok {
			t.Errorf("no sample %s", want)
			continue
		}
		switch want {
		case `gatehouse_hash_throughput`, `go_gc_duration_seconds_count`, `gatehouse_sqlite_log_pages`: // any value
		case `gatehouse_mail_pending`, `gatehouse_hash_running`, `gatehouse_hash_waiting`, `gatehouse_hash_rejected_total`,
			`gatehouse_hash_estimated_wait_seconds`, `gatehouse_sqlite_checkpoint_failures_total`:
			if v != "0" {
				t.Errorf("%s: got %s, want 0", want, v)
			}
		default:
			if v == "0" {
				t.Errorf("%s: got 0, want more", want)
			}
		}
	}
	if !strings.Contains(string(r.Body), `gatehouse_http_request_duration_seconds_bucket{route="POST /api/v1/login",le="+Inf"}`) {
		t.Errorf("no request duration by route in:\n%s", r.Body)
	}
}

// TestShutdownFinishesRequestsInFlight stops the server while a login's
// body is still arriving: the login completes, then the server stops.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	s := servertest.Open(t)
	// Go's server drops a connection whose request it reads only after
	// shutdown began (nothing was in flight then), so the test stops the
	// server once the request is read: its connection turned active.
	active := make(chan struct{}, 1)
	var ours atomic.Value
	s.App.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateActive && c.RemoteAddr().String() == ours.Load() {
			select {
			case active <- struct{}{}:
			default:
			}
		}
	}
	s.Start()
	s.Company(t, "Acme", "ada@example.com", testenv.GoodPassword)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ours.Store(conn.LocalAddr().String())
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	body := fmt.Sprintf(`{"email": "ada@example.com", "password": %q}`, testenv.GoodPassword)
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:half])
	select {
	case <-active:
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not read the request")
	}

	stopped := make(chan struct{})
	go func() {
		s.Stop()
		close(stopped)
	}()
	// Draining has begun once new connections are refused.
	testenv.WaitUntil(t, "the server to refuse new connections", func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.URL, "http://"), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case <-stopped:
		t.Fatal("the server stopped with a request in flight")
	default:
	}

	conn.Write([]byte(body[half:]))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the request in flight: got %d, want 200", resp.StatusCode)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop after the request finished")
	}
}
