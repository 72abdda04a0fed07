package mail_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/mail"
)

// memQueue is the outbox table in memory, with the same rules as the store's:
// due and unleased messages are claimed, leases expire, Retry counts an attempt.
type memQueue struct {
	mu       sync.Mutex
	items    []*memItem
	claimErr func() error  // nil, or the error for a Claim
	claimed  chan struct{} // receives after each Claim, if not nil and not full

	deliveredCalls int
	deliveredWait  time.Duration // how long each Delivered takes, as a database write would
}

type memItem struct {
	mail.Queued
	due, leasedUntil time.Time
	state            string // queued, delivered, failed
	lastErr          string
	failure          mail.Failure
}

func (q *memQueue) add(to string, body []byte) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	id := fmt.Sprintf("m%d", len(q.items)+1)
	q.items = append(q.items, &memItem{Queued: mail.Queued{ID: id, From: mailFrom, To: to, Body: body}, state: "queued"})
	return id
}

func (q *memQueue) Claim(ctx context.Context, n int, lease time.Duration) ([]mail.Queued, error) {
	if q.claimErr != nil {
		if err := q.claimErr(); err != nil {
			return nil, err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	defer func() {
		select {
		case q.claimed <- struct{}{}:
		default:
		}
	}()
	// The longest due first, as the store claims them.
	now := time.Now()
	byDue := slices.Clone(q.items)
	slices.SortStableFunc(byDue, func(a, b *memItem) int { return a.due.Compare(b.due) })
	var out []mail.Queued
	for _, it := range byDue {
		if len(out) == n {
			break
		}
		if it.state == "queued" && !it.due.After(now) && !it.leasedUntil.After(now) {
			it.leasedUntil = now.Add(lease)
			out = append(out, it.Queued)
		}
	}
	return out, nil
}

func (q *memQueue) update(id string, f func(*memItem)) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.items {
		if it.ID == id {
			f(it)
			return nil
		}
	}
	return errors.New("no such message")
}

func (q *memQueue) Delivered(_ context.Context, ids ...string) error {
	q.mu.Lock()
	q.deliveredCalls++
	wait := q.deliveredWait
	q.mu.Unlock()
	time.Sleep(wait)
	for _, id := range ids {
		if err := q.update(id, func(it *memItem) { it.state, it.Body = "delivered", nil }); err != nil {
			return err
		}
	}
	return nil
}

func (q *memQueue) Retry(_ context.Context, id string, at time.Time, lastErr string) error {
	return q.update(id, func(it *memItem) {
		it.Attempts++
		it.due, it.leasedUntil, it.lastErr = at, time.Time{}, lastErr
	})
}

func (q *memQueue) Fail(_ context.Context, id string, f mail.Failure) error {
	return q.update(id, func(it *memItem) {
		it.Attempts++
		it.state, it.lastErr, it.failure, it.Body = "failed", f.Err, f, nil
	})
}

func (q *memQueue) Release(_ context.Context, lastErr string, ids ...string) error {
	for _, id := range ids {
		err := q.update(id, func(it *memItem) {
			it.due, it.leasedUntil = time.Now(), time.Time{}
			if lastErr != "" {
				it.lastErr = lastErr
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (q *memQueue) RetryNow(context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.items {
		if it.state == "queued" && it.due.After(time.Now()) {
			it.due = time.Now()
		}
	}
	return nil
}

func (q *memQueue) get(id string) memItem {
	var c memItem
	q.update(id, func(it *memItem) { c = *it })
	return c
}

func (q *memQueue) count(state string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, it := range q.items {
		if it.state == state {
			n++
		}
	}
	return n
}

// waitUntil polls cond for up to ten seconds.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// runWorker runs w until the test ends, and returns a func that stops it
// and waits for Run to return.
func runWorker(t testing.TB, w *mail.Worker) (stop func()) {
	t.Helper()
	if w.Log == nil {
		w.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	t.Cleanup(stop)
	return stop
}

type counters struct{ sent, failed, retried atomic.Int32 }

func (c *counters) hook(w *mail.Worker) *mail.Worker {
	w.OnSent = func() { c.sent.Add(1) }
	w.OnFailed = func() { c.failed.Add(1) }
	w.OnRetry = func() { c.retried.Add(1) }
	return w
}

func TestWorkerDeliversTheQueue(t *testing.T) {
	srv := smtptest.Start(t)
	q := &memQueue{}
	for i := range 20 {
		to := fmt.Sprintf("user%d@example.com", i)
		q.add(to, composed(t, to, fmt.Sprintf("message %d", i)))
	}
	var c counters
	runWorker(t, c.hook(&mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Batch: 8}))

	waitUntil(t, "all are delivered", func() bool { return q.count("delivered") == 20 })
	for i := range 20 {
		srv.WaitFor(t, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("message %d", i))
	}
	if it := q.get("m1"); it.Body != nil {
		t.Error("the body of a delivered message is still there")
	}
	if c.sent.Load() != 20 || c.failed.Load() != 0 || c.retried.Load() != 0 {
		t.Errorf("hooks: got sent %d failed %d retried %d, want 20 0 0", c.sent.Load(), c.failed.Load(), c.retried.Load())
	}
}

func TestWorkerRetriesWithBackoff(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithFailures(2))
	q := &memQueue{}
	id := q.add("bob@example.com", composed(t, "bob@example.com", "eventually"))
	var mu sync.Mutex
	var attempts []int
	var c counters
	runWorker(t, c.hook(&mail.Worker{
		Queue: q, Sender: newSender(t, srv.URL(), srv), Poll: 10 * time.Millisecond,
		Backoff: func(attempt int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, attempt)
			return 50 * time.Millisecond
		},
	}))

	waitUntil(t, "it is delivered", func() bool { return q.get(id).state == "delivered" })
	srv.WaitFor(t, "bob@example.com", "eventually")
	it := q.get(id)
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(attempts) != "[1 2]" || it.Attempts != 2 || !strings.Contains(it.lastErr, "451") {
		t.Errorf("got backoff for attempts %v, %d attempts recorded, last error %q; want [1 2], 2 and a 451",
			attempts, it.Attempts, it.lastErr)
	}
	if c.retried.Load() != 2 || c.sent.Load() != 1 {
		t.Errorf("hooks: got retried %d sent %d, want 2 and 1", c.retried.Load(), c.sent.Load())
	}
}

func TestWorkerFailsRejectedMailWithoutRetry(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithRejectedRecipients("nobody@example.com"))
	q := &memQueue{}
	id := q.add("nobody@example.com", composed(t, "nobody@example.com", "rejected"))
	var c counters
	runWorker(t, c.hook(&mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv)}))

	waitUntil(t, "it fails", func() bool { return q.get(id).state == "failed" })
	if it := q.get(id); !strings.Contains(it.lastErr, "550") || it.Attempts != 1 {
		t.Errorf("got %d attempts and last error %q, want 1 and a 550", it.Attempts, it.lastErr)
	}
	if f := q.get(id).failure; f.Reason != mail.FailRejected || f.Answer != "550 5.1.1 No such user here" {
		t.Errorf("failure: got %+v, want rejected with the server's answer alone", f)
	}
	if c.failed.Load() != 1 || c.retried.Load() != 0 {
		t.Errorf("hooks: got failed %d retried %d, want 1 and 0", c.failed.Load(), c.retried.Load())
	}
}

func TestWorkerGivesUpAfterMaxAttempts(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithFailures(100))
	q := &memQueue{}
	id := q.add("bob@example.com", composed(t, "bob@example.com", "never"))
	runWorker(t, &mail.Worker{
		Queue: q, Sender: newSender(t, srv.URL(), srv), MaxAttempts: 3, Poll: 10 * time.Millisecond,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond },
	})

	waitUntil(t, "it fails", func() bool { return q.get(id).state == "failed" })
	if it := q.get(id); it.Attempts != 3 || !strings.Contains(it.lastErr, "gave up after 3 attempts") {
		t.Errorf("got %d attempts and last error %q, want 3 and giving up", it.Attempts, it.lastErr)
	}
	if n := strings.Count(strings.Join(srv.Commands(), "\n"), "DATA"); n != 3 {
		t.Errorf("the server saw %d DATA commands, want 3", n)
	}
}

func TestWorkerFinishesTheMessageBeingSentOnShutdown(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSlowData(500*time.Millisecond))
	q := &memQueue{}
	id := q.add("bob@example.com", composed(t, "bob@example.com", "in flight"))
	stop := runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv)})

	waitUntil(t, "the message is being sent", func() bool {
		cmds := srv.Commands()
		return len(cmds) > 0 && cmds[len(cmds)-1] == "DATA"
	})
	stop()
	if it := q.get(id); it.state != "delivered" {
		t.Errorf("after shutdown: got state %q (%s), want delivered", it.state, it.lastErr)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("the server got %d messages, want 1", n)
	}
}

func TestWorkerShutdownGraceIsBounded(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSlowData(time.Minute))
	q := &memQueue{}
	id := q.add("bob@example.com", composed(t, "bob@example.com", "stuck"))
	stop := runWorker(t, &mail.Worker{
		Queue: q, Sender: newSender(t, srv.URL(), srv), ShutdownGrace: 100 * time.Millisecond,
		Backoff: func(int) time.Duration { return time.Hour },
	})
	waitUntil(t, "the message is being sent", func() bool {
		cmds := srv.Commands()
		return len(cmds) > 0 && cmds[len(cmds)-1] == "DATA"
	})
	start := time.Now()
	stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v to return, want about the grace", d)
	}
	if it := q.get(id); it.state != "queued" || it.Attempts != 1 {
		t.Errorf("got state %q with %d attempts, want queued for a retry after 1", it.state, it.Attempts)
	}
}

func TestWorkerWakesOnNotify(t *testing.T) {
	srv := smtptest.Start(t)
	q := &memQueue{claimed: make(chan struct{}, 1)}
	w := &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Poll: time.Hour}
	w.Notify() // before Run: harmless, and no block
	w.Notify()
	runWorker(t, w)
	<-q.claimed // the first, empty look

	id := q.add("bob@example.com", composed(t, "bob@example.com", "notified"))
	w.Notify()
	waitUntil(t, "it is delivered", func() bool { return q.get(id).state == "delivered" })
}

func TestWorkerSurvivesQueueErrors(t *testing.T) {
	srv := smtptest.Start(t)
	var failures atomic.Int32
	q := &memQueue{claimErr: func() error {
		if failures.Add(1) <= 2 {
			return errors.New("database is locked")
		}
		return nil
	}}
	id := q.add("bob@example.com", composed(t, "bob@example.com", "after errors"))
	runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Poll: 10 * time.Millisecond})
	waitUntil(t, "it is delivered", func() bool { return q.get(id).state == "delivered" })
}

func TestWorkerReusesConnections(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithRejectedRecipients("nobody@example.com"))
	q := &memQueue{}
	for i := range 10 {
		to := fmt.Sprintf("user%d@example.com", i)
		if i == 4 {
			to = "nobody@example.com" // a refusal must not cost the connection
		}
		q.add(to, composed(t, to, "batch"))
	}
	runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Concurrency: 1, Batch: 10})
	waitUntil(t, "all are done", func() bool { return q.count("delivered") == 9 && q.count("failed") == 1 })

	cmds := strings.Join(srv.Commands(), "\n")
	if n := strings.Count(cmds, "STARTTLS"); n != 2 {
		t.Errorf("got %d connections for the check at start and one batch, want 2:\n%s", n, cmds)
	}
}

// Connections outlive a batch: a worker sending one message at a time
// uses one connection for many batches.
func TestWorkerKeepsConnectionsAcrossBatches(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	q := &memQueue{}
	for i := range 20 {
		to := fmt.Sprintf("user%d@example.com", i)
		q.add(to, composed(t, to, "batches"))
	}
	runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Concurrency: 1, Batch: 3})
	waitUntil(t, "all are delivered", func() bool { return q.count("delivered") == 20 })
	if n := strings.Count(strings.Join(srv.Commands(), "\n"), "STARTTLS"); n != 2 {
		t.Errorf("got %d connections for the check at start and seven batches, want 2", n)
	}
}

// Deliveries are recorded in groups: while one write runs, the messages
// the other senders sent meanwhile wait for the next, which records them
// all. The worker runs in a synctest bubble (the SMTP server outside it),
// so a write's 20 ms pass only once every sender has sent and waits: the
// groups do not depend on how fast the machine is.
func TestWorkerMarksDeliveriesInGroups(t *testing.T) {
	srv := smtptest.Start(t)
	synctest.Test(t, func(t *testing.T) {
		q := &memQueue{deliveredWait: 20 * time.Millisecond}
		const n = 100
		for i := range n {
			to := fmt.Sprintf("user%d@example.com", i)
			q.add(to, composed(t, to, "grouped"))
		}
		var c counters
		stop := runWorker(t, c.hook(&mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Concurrency: 8}))
		waitUntil(t, "all are delivered", func() bool { return q.count("delivered") == n })
		q.mu.Lock()
		calls := q.deliveredCalls
		q.mu.Unlock()
		if calls > n/2 {
			t.Errorf("%d messages were marked in %d calls, want groups (at most %d calls)", n, calls, n/2)
		}
		waitUntil(t, "every send is counted", func() bool { return c.sent.Load() == n })
		stop()
	})
}

// Amazon SES refuses an unverified sender only after the message: "554
// Message rejected: Email address is not verified". That is about every
// message: the queue is held, and nothing is erased.
func TestWorkerHoldsTheQueueForAnUnverifiedSender(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithUnverifiedIdentities("no-reply@example.com"))
	q := &memQueue{}
	for i := range 20 {
		to := fmt.Sprintf("user%d@example.com", i)
		q.add(to, composed(t, to, "unverified"))
	}
	w, _, f := heldWorker(t, q, newSender(t, srv.URL(), srv), time.Hour)
	h := waitHeld(t, w)
	if h.Fault != mail.FaultSender || !strings.Contains(h.Err, "Email address is not verified") {
		t.Errorf("hold: got %+v, want a sender fault with SES's answer", h)
	}
	waitUntil(t, "every message is given back", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		for _, it := range q.items {
			if it.leasedUntil.After(time.Now()) {
				return false
			}
		}
		return true
	})
	wantKept(t, q)
	// The senders that were sending when the first refusal came may finish.
	if n := strings.Count(strings.Join(srv.Commands(), "\n"), "DATA"); n < 1 || n > mail.DefaultConcurrency {
		t.Errorf("the server saw %d messages, want at most one per sender (%d)", n, mail.DefaultConcurrency)
	}
	if got := f.list(); len(got) != 1 {
		t.Errorf("OnHold: got %v, want one call", got)
	}
}

// In its sandbox SES refuses unverified recipients with the same words,
// naming the recipient alone: that message fails, the others go.
func TestWorkerFailsAnUnverifiedRecipientAlone(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithUnverifiedIdentities("stranger@example.com"))
	q := &memQueue{}
	bad := q.add("stranger@example.com", composed(t, "stranger@example.com", "sandbox"))
	good := q.add("bob@example.com", composed(t, "bob@example.com", "sandbox"))
	w, _, _ := heldWorker(t, q, newSender(t, srv.URL(), srv), time.Hour)
	waitUntil(t, "both are done", func() bool { return q.get(bad).state == "failed" && q.get(good).state == "delivered" })
	if f := q.get(bad).failure; f.Reason != mail.FailRejected || !strings.HasPrefix(f.Answer, "554 Message rejected") {
		t.Errorf("failure: got %+v, want rejected with SES's answer", f)
	}
	if _, held := w.Held(); held {
		t.Error("the queue is held for one recipient's refusal")
	}
}

// Mail backing off when the worker starts is retried at once: the restart
// may be the fix of what made it fail.
func TestWorkerRetriesTheQueueAtStart(t *testing.T) {
	srv := smtptest.Start(t)
	q := &memQueue{}
	id := q.add("bob@example.com", composed(t, "bob@example.com", "after the restart"))
	q.update(id, func(it *memItem) { it.due, it.Attempts = time.Now().Add(time.Hour), 5 })
	runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv)})
	waitUntil(t, "it is delivered", func() bool { return q.get(id).state == "delivered" })
}

func TestWorkerNeedsAQueueAndASender(t *testing.T) {
	if err := (&mail.Worker{}).Run(context.Background()); err == nil {
		t.Error("Run without a Queue and Sender: got no error")
	}
}

// The retry and probe schedules: each wait between ¾ and all of its step.
func TestDefaultBackoffs(t *testing.T) {
	for _, tt := range []struct {
		name     string
		backoff  func(int) time.Duration
		n        int
		min, max time.Duration
	}{
		{"DefaultBackoff", mail.DefaultBackoff, 1, 7500 * time.Millisecond, 10 * time.Second},
		{"DefaultBackoff", mail.DefaultBackoff, 2, 15 * time.Second, 20 * time.Second},
		{"DefaultBackoff", mail.DefaultBackoff, 5, 120 * time.Second, 160 * time.Second},
		{"DefaultBackoff", mail.DefaultBackoff, 10, 45 * time.Minute, time.Hour},
		{"DefaultBackoff", mail.DefaultBackoff, 100, 45 * time.Minute, time.Hour},
		{"DefaultProbeBackoff", mail.DefaultProbeBackoff, 0, 11250 * time.Millisecond, 15 * time.Second},
		{"DefaultProbeBackoff", mail.DefaultProbeBackoff, 1, 22500 * time.Millisecond, 30 * time.Second},
		{"DefaultProbeBackoff", mail.DefaultProbeBackoff, 3, 90 * time.Second, 2 * time.Minute},
		{"DefaultProbeBackoff", mail.DefaultProbeBackoff, 6, 675 * time.Second, 15 * time.Minute},
		{"DefaultProbeBackoff", mail.DefaultProbeBackoff, 100, 675 * time.Second, 15 * time.Minute},
	} {
		for range 100 {
			if d := tt.backoff(tt.n); d < tt.min || d > tt.max {
				t.Fatalf("%s(%d): got %v, want %v to %v", tt.name, tt.n, d, tt.min, tt.max)
			}
		}
	}
}

// BenchmarkWorkerDelivery measures mail per second from the queue to the
// test SMTP server over loopback, with the default batch and concurrency.
func BenchmarkWorkerDelivery(b *testing.B) {
	for _, tc := range []struct {
		name  string
		opts  []smtptest.Option
		reuse bool
	}{
		{"plain", nil, true},
		{"starttls", []smtptest.Option{smtptest.WithSTARTTLS()}, true},
		{"starttls-connection-per-mail", []smtptest.Option{smtptest.WithSTARTTLS()}, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := smtptest.Start(b, tc.opts...)
			q := &memQueue{}
			body := composed(b, "bob@example.com", "benchmark")
			for range b.N {
				q.add("bob@example.com", body)
			}
			b.ResetTimer()
			start := time.Now()
			sender := newSender(b, srv.URL(), srv)
			if !tc.reuse {
				sender = struct{ mail.Sender }{sender} // hides the connection reuse
			}
			runWorker(b, &mail.Worker{Queue: q, Sender: sender, Log: slog.New(slog.DiscardHandler)})
			waitUntil(b, "all are delivered", func() bool { return q.count("delivered") == b.N })
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "mails/s")
		})
	}
}
