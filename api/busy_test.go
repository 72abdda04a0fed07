package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/server"
)

// startBusy starts a server whose hashing is slow and has one slot with
// almost no queue, so that a few concurrent logins fill it.
func startBusy(t *testing.T) *servertest.Server {
	return startAcme(t, servertest.WithOptions(func(o *server.Options) {
		o.HashParams = password.Params{Memory: 32 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}
		o.HashSlots = 1
		o.HashQueueWait = 5 * time.Millisecond
		o.CapacityReportEvery = 100 * time.Millisecond
		o.TrustedProxies = mustProxies(t, "127.0.0.1")
	}))
}

// flood keeps the hashing slot busy until ctx ends: logins to ever new
// unknown accounts from ever new addresses (behind the trusted proxy), so
// that no throttle stops them before they hash.
func flood(ctx context.Context, s *servertest.Server) *sync.WaitGroup {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/api/v1/login",
					strings.NewReader(fmt.Sprintf(`{"email": "ghost%d-%d@example.com", "password": "wrong wrong wrong"}`, g, i)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", g, i/256%256, i%256))
				if resp, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	return &wg
}

// TestLoginFloodGets503 fills the hashing queue: excess logins get 503
// unavailable with Retry-After, never a 500, while cheap requests are
// served.
func TestLoginFloodGets503(t *testing.T) {
	s := startBusy(t)
	ctx, stop := context.WithCancel(context.Background())
	wg := flood(ctx, s)
	defer func() { stop(); wg.Wait() }()

	c := s.Client(t)
	busy := 0
	for range 20 {
		r := login(c, "ada@example.com", goodPW)
		switch r.StatusCode {
		case 200:
		case 503:
			busy++
			if r.Code(t) != "unavailable" || r.Header.Get("Retry-After") == "" {
				t.Errorf("503: got %s with Retry-After %q, want unavailable with Retry-After", r.Body, r.Header.Get("Retry-After"))
			}
		default:
			t.Errorf("login during the flood: got %d %s, want 200 or 503", r.StatusCode, r.Body)
		}
		if r := c.Get("/healthz"); r.StatusCode != 200 {
			t.Errorf("healthz during the flood: got %d, want 200", r.StatusCode)
		}
	}
	if busy == 0 {
		t.Errorf("no login was turned away")
	}
	if _, _, rejected := s.App.Hasher.Stats(); rejected == 0 {
		t.Errorf("rejected hashes: got 0, want the turned-away logins counted")
	}
	// The log says so once per period, not once per refusal.
	summary := regexp.MustCompile(`level=WARN msg="password hashing at capacity[^"]*" refused=[1-9]`)
	for deadline := time.Now().Add(5 * time.Second); !summary.MatchString(s.Log.String()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no summary of the refusals in the log:\n%s", s.Log.String())
		}
	}
	for _, line := range strings.Split(s.Log.String(), "\n") {
		if strings.Contains(line, "status=503") && !strings.Contains(line, "level=DEBUG") ||
			strings.Contains(line, "msg=unavailable") && !strings.Contains(line, "level=DEBUG") {
			t.Errorf("a refused login logged above debug: %s", line)
			break
		}
	}
}

// TestBusyAnswersDoNotCountAsFailures: a person whose requests were
// turned away while the service was busy never had a password checked,
// and must not be locked out for it.
func TestBusyAnswersDoNotCountAsFailures(t *testing.T) {
	s := startBusy(t)
	c := s.Client(t)
	c.Token = c.Login("ada@example.com", goodPW) // before the flood
	ctx, stop := context.WithCancel(context.Background())
	wg := flood(ctx, s)
	defer func() { stop(); wg.Wait() }()
	busy := 0
	for range 30 {
		r := login(s.Client(t), "ada@example.com", goodPW)
		switch r.StatusCode {
		case 503:
			busy++
		case 429:
			t.Fatalf("login with the right password after %d busy answers: got 429, want 200 or 503", busy)
		}
		// The right current password, given again as the new one.
		r = changePassword(c, goodPW, goodPW, goodPW)
		switch r.StatusCode {
		case 503:
			busy++
		case 429:
			t.Fatalf("password change with the right password after %d busy answers: got 429, want 422 or 503", busy)
		}
		// The password that starts 2FA enrollment is checked the same way.
		r = c.Do("POST", "/api/v1/me/totp", map[string]string{"password": goodPW})
		switch r.StatusCode {
		case 503:
			busy++
		case 429:
			t.Fatalf("2FA enrollment with the right password after %d busy answers: got 429, want 200 or 503", busy)
		}
	}
	if busy == 0 {
		t.Errorf("no request was turned away busy: the test proved nothing")
	}
}
