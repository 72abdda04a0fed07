package main

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestMain lets the test binary stand in for gatehouse-bench when the
// harness re-executes itself as the bare baseline or the bare auth
// handler.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "baseline" || os.Args[1] == "bare-auth") {
		if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestPopulation(t *testing.T) {
	p := population{Companies: 3, PerCompany: 4}
	seen := map[string]bool{}
	for i := range p.Users() {
		e := p.account(i)
		if seen[e] {
			t.Fatalf("account %d: %s again", i, e)
		}
		seen[e] = true
	}
	if got, want := p.admin(1), p.email(1, 0); got != want {
		t.Errorf("admin of company 1: got %s, want %s", got, want)
	}
	for i := range 9 {
		if m := p.member(i); strings.Contains(m, ".u0000@") {
			t.Errorf("member %d: got the admin %s", i, m)
		}
	}
	if got, want := p.account(p.Users()), p.account(0); got != want {
		t.Errorf("accounts wrap: got %s, want %s", got, want)
	}
}

// The baseline answers with the captured bytes and headers.
func TestCaptureAndBareHandler(t *testing.T) {
	dir := t.TempDir()
	h := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}, "Date": {"x"}, "Content-Length": {"9"}}
	body := []byte(`{"id":"1"}`)
	bp, hp := filepath.Join(dir, "b"), filepath.Join(dir, "h")
	if err := writeCapture(bp, hp, h, body); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(hp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := readHeaders(f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("Cache-Control") != "no-store" || got.Get("Date") != "" || got.Get("Content-Length") != "" {
		t.Errorf("headers: got %v, want Cache-Control and Content-Type only", got)
	}
	rec := httptest.NewRecorder()
	bareHandler(got, body).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/me", nil))
	if rec.Body.String() != string(body) || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("answer: got %q %v", rec.Body.String(), rec.Header())
	}
}

// The sink takes mail from Go's SMTP client, and a held sink takes none
// until released.
// The bare auth handler nginx asks instead of Gatehouse: 200 with the
// identity headers for a session of its map, 401 for any other cookie or
// none.
func TestBareAuthHandler(t *testing.T) {
	srv := httptest.NewServer(bareAuthHandler(map[string]string{"tok": "ada@example.com"}))
	defer srv.Close()
	ask := func(cookie string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/auth", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := ask("other=1; gatehouse_session=tok")
	if resp.StatusCode != 200 || resp.Header.Get("Remote-User") != "ada@example.com" || resp.Header.Get("Remote-Email") != "ada@example.com" ||
		resp.Header.Get("Remote-Groups") == "" || len(resp.Header.Values("Remote-Company-Id")) != 1 {
		t.Errorf("a known session: got %d %v", resp.StatusCode, resp.Header)
	}
	for _, c := range []string{"", "gatehouse_session=nope", "gatehouse_session=", "session=tok"} {
		if resp := ask(c); resp.StatusCode != 401 || resp.Header.Get("Remote-User") != "" {
			t.Errorf("cookie %q: got %d %v, want 401 without identity", c, resp.StatusCode, resp.Header)
		}
	}
}

func TestSink(t *testing.T) {
	s, err := startSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	addr := strings.TrimPrefix(s.url(), "smtp://")
	send := func() error {
		return smtp.SendMail(addr, nil, "a@example.com", []string{"b@example.com"}, []byte("Subject: hi\r\n\r\n.dot\r\nbody\r\n"))
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	if got := s.count(); got != 1 {
		t.Fatalf("count: got %d, want 1", got)
	}
	s.hold()
	done := make(chan error, 1)
	go func() { done <- send() }()
	testenv.WaitUntil(t, "the sink to hold the message's MAIL", func() bool { return s.held() == 1 })
	select {
	case err := <-done:
		t.Fatalf("a held sink took mail (err %v)", err)
	default:
	}
	s.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := len(s.since(1)); got != 1 {
		t.Errorf("arrivals after the first: got %d, want 1", got)
	}
}

// TestQuickRun runs the whole harness, briefly and small, end to end:
// it builds Gatehouse, starts it, and every scenario must run (whether
// the targets are met is the machine's business, never asserted). It
// takes about a minute, so it runs only with GATEHOUSE_BENCH_SMOKE=1.
func TestQuickRun(t *testing.T) {
	if os.Getenv("GATEHOUSE_BENCH_SMOKE") != "1" {
		t.Skip("set GATEHOUSE_BENCH_SMOKE=1 to run the harness end to end")
	}
	var out, errOut strings.Builder
	err := run(context.Background(), []string{"--quick", "--duration", "500ms", "--large-users", "2000",
		"--login-clients", "2,16", "--mail-count", "100", "--burst", "200", "--starts", "2", "--postgres", "off"}, &out, &errOut)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	for _, s := range allScenarios {
		if !strings.Contains(out.String(), "== "+s+" ==") {
			t.Errorf("output lacks scenario %s", s)
		}
	}
	if strings.Contains(out.String(), "FAILED") {
		t.Errorf("a scenario failed")
	}
	if !strings.Contains(out.String(), "== summary ==") {
		t.Errorf("output lacks the summary")
	}
}

// A run with no successful request makes no ratio, however it compares.
func TestRatioOfEmptyRun(t *testing.T) {
	ok := loadgen.Stats{OK: 10, PerSecond: 5}
	none := loadgen.Stats{}
	rate := func(s loadgen.Stats) float64 { return s.PerSecond }
	if got := ratioOf(ok, none, rate); !math.IsNaN(got) {
		t.Errorf("ok ÷ none: got %v, want NaN", got)
	}
	if got := ratioOf(none, ok, rate); !math.IsNaN(got) {
		t.Errorf("none ÷ ok: got %v, want NaN", got)
	}
	if got := ratioOf(ok, loadgen.Stats{OK: 1, PerSecond: 10}, rate); got != 0.5 {
		t.Errorf("5/s ÷ 10/s: got %v, want 0.5", got)
	}
}

// The crowd's clients time their refusals apart and count those that
// came after the queue wait. The server refuses the first login, at once
// or after 60 ms, and ends the run at the second.
func TestCrowdLoginsTellLateRefusals(t *testing.T) {
	for _, tt := range []struct {
		delay time.Duration
		late  int64
	}{{0, 0}, {60 * time.Millisecond, 1}} {
		ctx, cancel := context.WithCancel(context.Background())
		requests := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests++                  // one client, one request at a time
			io.Copy(io.Discard, r.Body) // so that the server notices the client leave
			if requests > 1 {
				cancel()
				<-r.Context().Done()
				return
			}
			time.Sleep(tt.delay) // the request's own latency, not the test's synchronisation
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(503)
			w.Write([]byte(`{"code":"unavailable"}`))
		}))
		var late atomic.Int64
		c := loadgen.Client{Base: srv.URL, HTTP: srv.Client()}
		rep := loadgen.Run(ctx, loadgen.Config{Clients: 1, Duration: time.Minute},
			crowdLogins(c, func(int) string { return "a@example.com" }, &late, 50*time.Millisecond))
		srv.Close()
		if got := rep.Get("login").Count("503 "); got != 1 {
			t.Errorf("delay %v: 503s counted: got %d, want 1", tt.delay, got)
		}
		if got := rep.Get("refused").OK; got != 1 {
			t.Errorf("delay %v: refusals timed: got %d, want 1", tt.delay, got)
		}
		if got := late.Load(); got != tt.late {
			t.Errorf("delay %v: late refusals: got %d, want %d", tt.delay, got, tt.late)
		}
	}
}
