package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/server"
)

// queueResetMail fills the outbox of s, which must not be started yet, with
// one password-reset message to each of n seeded users, made as the reset
// worker makes them (token, audit event, rendered and sealed mail).
func queueResetMail(b testing.TB, s *servertest.Server, n int) {
	b.Helper()
	ctx := context.Background()
	companyID, _ := s.Company(b, "Acme", "admin@example.com", testenv.GoodPassword)
	servertest.SeedUsers(b, s, companyID, "reset", n)
	err := s.App.DB.Update(ctx, func(tx gatehouse.Tx) error {
		for i := range n {
			err := tx.EnqueueResetRequest(&gatehouse.ResetRequest{ID: gatehouse.NewID(tx.Now()), CreatedAt: tx.Now(),
				Email: fmt.Sprintf("reset%06d@example.com", i), IP: "192.0.2.1", Lang: "en"})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for {
		taken, err := s.Service().ProcessResetRequests(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if taken == 0 {
			break
		}
	}
	if pending := mailCounts(b, s); pending != n {
		b.Fatalf("queued %d messages, want %d", pending, n)
	}
}

// mailCounts returns how many messages wait in the outbox; it fails b when
// any failed.
func mailCounts(b testing.TB, s *servertest.Server) (pending int) {
	b.Helper()
	var failed int
	err := s.App.DB.View(context.Background(), func(tx gatehouse.Tx) (err error) {
		pending, failed, err = tx.MailCounts()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if failed != 0 {
		b.Fatalf("%d messages failed", failed)
	}
	return pending
}

// BenchmarkOutboxDelivery measures the outbox end to end: b.N sealed reset
// messages wait in a real database, then the server starts and its mail
// worker claims, opens, sends (to the in-process SMTP server, over
// loopback) and marks them; the clock runs from the start until the last
// is marked sent. Run it with a fixed count, which is the size of the
// backlog: -benchtime 5000x.
func BenchmarkOutboxDelivery(b *testing.B) {
	servertest.BenchEachDatabase(b, func(b *testing.B, db servertest.Option) {
		s := servertest.Open(b, db)
		queueResetMail(b, s, b.N)

		b.ResetTimer()
		start := time.Now()
		s.Start()
		// Watching the SMTP server first keeps the benchmark's own
		// queries from competing with the worker's.
		for len(s.SMTP.Messages()) < b.N {
			time.Sleep(5 * time.Millisecond)
		}
		for mailCounts(b, s) > 0 {
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "mails/s")

		msgs := s.SMTP.Messages()
		ids := map[string]bool{}
		for _, m := range msgs {
			ids[m.Header.Get("Message-ID")] = true
		}
		if len(msgs) != b.N || len(ids) != b.N {
			b.Errorf("the SMTP server received %d messages, %d distinct; want %d, each once", len(msgs), len(ids), b.N)
		}
	})
}

// loginLatencies logs in as email in a closed loop from clients goroutines
// until stop is closed, and returns each login's duration.
func loginLatencies(b *testing.B, base, email string, clients int, stop <-chan struct{}) []time.Duration {
	body := fmt.Sprintf(`{"email": %q, "password": %q}`, email, testenv.GoodPassword)
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				status, err := post(base+"/api/v1/login", body, nil)
				d := time.Since(start)
				if err != nil || status != http.StatusOK {
					b.Errorf("login: got %d %v, want 200", status, err)
					return
				}
				mu.Lock()
				all = append(all, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return all
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

func post(url, body string, header map[string]string) (int, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := benchClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// percentile returns the p-th percentile (0 < p ≤ 100) of ds in milliseconds.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, int(float64(len(s))*p/100))
	return float64(s[i].Microseconds()) / 1000
}

// BenchmarkLoginDuringResetBurst measures what a burst of forgot-password
// requests does to logins: two clients log in in a closed loop, first
// alone for two seconds, then while 32 clients post resetBurst reset
// requests (each from its own address, for accounts that exist, so that
// every one becomes a mail) and the server turns them into mail and
// delivers it. It reports the logins' median and 99th percentile in both
// phases, how fast the requests were accepted and how fast the mail went
// out. Hashing uses the test parameters, so a login is mostly its database
// work, the part a burst could delay. Run it once: -benchtime 1x.
func BenchmarkLoginDuringResetBurst(b *testing.B) {
	const resetBurst, posters = 10000, 32
	servertest.BenchEachDatabase(b, func(b *testing.B, db servertest.Option) {
		proxies, _ := httpx.ParseProxies("127.0.0.1")
		s := servertest.Start(b, db, servertest.WithOptions(func(o *server.Options) { o.TrustedProxies = proxies }))
		companyID, _ := s.Company(b, "Acme", "admin@example.com", testenv.GoodPassword)
		servertest.SeedUsers(b, s, companyID, "reset", resetBurst)

		for range b.N {
			stop := make(chan struct{})
			time.AfterFunc(2*time.Second, func() { close(stop) })
			quiet := loginLatencies(b, s.URL, "admin@example.com", 2, stop)

			stop = make(chan struct{})
			var burst []time.Duration
			loggedIn := make(chan struct{})
			go func() {
				defer close(loggedIn)
				burst = loginLatencies(b, s.URL, "admin@example.com", 2, stop)
			}()
			start := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range posters {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < resetBurst; i = next.Add(1) - 1 {
						body := fmt.Sprintf(`{"email": "reset%06d@example.com"}`, i)
						xff := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
						status, err := post(s.URL+"/api/v1/password-reset", body, map[string]string{"X-Forwarded-For": xff})
						if err != nil || status != http.StatusAccepted {
							b.Errorf("reset: got %d %v, want 202", status, err)
							return
						}
					}
				})
			}
			wg.Wait()
			accepted := time.Since(start)
			for len(s.SMTP.Messages()) < resetBurst && !b.Failed() {
				time.Sleep(10 * time.Millisecond)
			}
			delivered := time.Since(start)
			close(stop)
			<-loggedIn

			b.ReportMetric(percentile(quiet, 50), "quiet-login-p50-ms")
			b.ReportMetric(percentile(quiet, 99), "quiet-login-p99-ms")
			b.ReportMetric(percentile(burst, 50), "burst-login-p50-ms")
			b.ReportMetric(percentile(burst, 99), "burst-login-p99-ms")
			b.ReportMetric(float64(resetBurst)/accepted.Seconds(), "resets/s")
			b.ReportMetric(float64(resetBurst)/delivered.Seconds(), "mails/s")
			b.Logf("%d logins alone, %d during the burst; %d requests accepted in %v, their mail delivered in %v",
				len(quiet), len(burst), resetBurst, accepted.Round(time.Millisecond), delivered.Round(time.Millisecond))
		}
	})
}
