package mail_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/sqldb"
)

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
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t)
		q := newOutbox(t, kind, mailFrom, nil)
		var first string
		for i := range 20 {
			to := fmt.Sprintf("user%d@example.com", i)
			id := q.add(t, to, composed(t, to, fmt.Sprintf("message %d", i)))
			if i == 0 {
				first = id
			}
		}
		var c counters
		runWorker(t, c.hook(&mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Batch: 8}))

		testenv.WaitUntil(t, "all are delivered", func() bool { return q.count(t, "delivered") == 20 })
		for i := range 20 {
			srv.WaitFor(t, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("message %d", i))
		}
		if r := q.row(t, first); r.BodyKept || r.Attempts != 1 {
			t.Errorf("a delivered message: body kept %v, %d attempts; want erased after one", r.BodyKept, r.Attempts)
		}
		// The hooks run after the rows are marked: wait for the count.
		testenv.WaitUntil(t, "every send is counted", func() bool { return c.sent.Load() == 20 })
		if c.sent.Load() != 20 || c.failed.Load() != 0 || c.retried.Load() != 0 {
			t.Errorf("hooks: got sent %d failed %d retried %d, want 20 0 0", c.sent.Load(), c.failed.Load(), c.retried.Load())
		}
	})
}

// A temporary failure is retried after Backoff(attempt), counted and
// kept with the server's answer; the message goes once the server takes it.
func TestWorkerRetriesWithBackoff(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t, smtptest.WithFailures(2))
		q := newOutbox(t, kind, mailFrom, nil)
		id := q.add(t, "bob@example.com", composed(t, "bob@example.com", "eventually"))
		var mu sync.Mutex
		var attempts []int
		var c counters
		// The second failure waits an hour, so that the retry it schedules
		// can be seen in the outbox.
		stop := runWorker(t, c.hook(&mail.Worker{
			Queue: q, Sender: newSender(t, srv.URL(), srv), Poll: 10 * time.Millisecond,
			Backoff: func(attempt int) time.Duration {
				mu.Lock()
				defer mu.Unlock()
				attempts = append(attempts, attempt)
				if attempt == 2 {
					return time.Hour
				}
				return 50 * time.Millisecond
			},
		}))
		testenv.WaitUntil(t, "the second retry is scheduled", func() bool { return c.retried.Load() == 2 })
		stop()
		r := q.row(t, id)
		if r.State != "queued" || r.Attempts != 2 || !strings.Contains(r.LastErr, "451") ||
			r.Next.Before(time.Now().Add(50*time.Minute)) || r.LeaseUntil.After(time.Now()) {
			t.Errorf("after two failures: got %+v; want queued, 2 attempts, a 451, due in an hour, not leased", r)
		}
		mu.Lock()
		if fmt.Sprint(attempts) != "[1 2]" {
			t.Errorf("got backoff for attempts %v, want [1 2]", attempts)
		}
		mu.Unlock()

		runWorker(t, c.hook(&mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv)}))
		testenv.WaitUntil(t, "it is delivered", func() bool { return q.row(t, id).State == "delivered" })
		srv.WaitFor(t, "bob@example.com", "eventually")
		if r := q.row(t, id); r.Attempts != 3 || r.BodyKept {
			t.Errorf("delivered: got %d attempts, body kept %v; want 3, erased", r.Attempts, r.BodyKept)
		}
		testenv.WaitUntil(t, "the send is counted", func() bool { return c.sent.Load() == 1 })
		if c.retried.Load() != 2 || c.sent.Load() != 1 {
			t.Errorf("hooks: got retried %d sent %d, want 2 and 1", c.retried.Load(), c.sent.Load())
		}
	})
}

func TestWorkerFailsRejectedMailWithoutRetry(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t, smtptest.WithRejectedRecipients("nobody@example.com"))
		q := newOutbox(t, kind, mailFrom, nil)
		id := q.add(t, "nobody@example.com", composed(t, "nobody@example.com", "rejected"))
		var c counters
		runWorker(t, c.hook(&mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv)}))

		testenv.WaitUntil(t, "it fails", func() bool { return q.row(t, id).State == "failed" })
		r := q.row(t, id)
		if !strings.Contains(r.LastErr, "550") || r.Attempts != 1 || r.BodyKept {
			t.Errorf("got %d attempts, last error %q, body kept %v; want 1, a 550, erased", r.Attempts, r.LastErr, r.BodyKept)
		}
		if r.Failure != mail.FailRejected || r.Answer != "550 5.1.1 No such user here" {
			t.Errorf("failure: got %q, %q; want rejected with the server's answer alone", r.Failure, r.Answer)
		}
		testenv.WaitUntil(t, "the failure is counted", func() bool { return c.failed.Load() == 1 })
		if c.failed.Load() != 1 || c.retried.Load() != 0 {
			t.Errorf("hooks: got failed %d retried %d, want 1 and 0", c.failed.Load(), c.retried.Load())
		}
	})
}

func TestWorkerGivesUpAfterMaxAttempts(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t, smtptest.WithFailures(100))
		q := newOutbox(t, kind, mailFrom, nil)
		id := q.add(t, "bob@example.com", composed(t, "bob@example.com", "never"))
		runWorker(t, &mail.Worker{
			Queue: q, Sender: newSender(t, srv.URL(), srv), MaxAttempts: 3, Poll: 10 * time.Millisecond,
			Backoff: func(int) time.Duration { return 10 * time.Millisecond },
		})

		testenv.WaitUntil(t, "it fails", func() bool { return q.row(t, id).State == "failed" })
		r := q.row(t, id)
		if r.Attempts != 3 || r.Failure != mail.FailGaveUp || !strings.Contains(r.LastErr, "gave up after 3 attempts") {
			t.Errorf("got %d attempts, failure %q, last error %q; want 3 and giving up", r.Attempts, r.Failure, r.LastErr)
		}
		if n := strings.Count(strings.Join(srv.Commands(), "\n"), "DATA"); n != 3 {
			t.Errorf("the server saw %d DATA commands, want 3", n)
		}
	})
}

func TestWorkerFinishesTheMessageBeingSentOnShutdown(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t, smtptest.WithSlowData(500*time.Millisecond))
		q := newOutbox(t, kind, mailFrom, nil)
		id := q.add(t, "bob@example.com", composed(t, "bob@example.com", "in flight"))
		stop := runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv)})

		waitSending(t, srv)
		stop()
		if r := q.row(t, id); r.State != "delivered" {
			t.Errorf("after shutdown: got state %q (%s), want delivered", r.State, r.LastErr)
		}
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("the server got %d messages, want 1", n)
		}
	})
}

// waitSending waits until the server has been sent a message's DATA.
func waitSending(t *testing.T, srv *smtptest.Server) {
	t.Helper()
	testenv.WaitUntil(t, "the message is being sent", func() bool {
		cmds := srv.Commands()
		return len(cmds) > 0 && cmds[len(cmds)-1] == "DATA"
	})
}

func TestWorkerShutdownGraceIsBounded(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t, smtptest.WithSlowData(time.Minute))
		q := newOutbox(t, kind, mailFrom, nil)
		id := q.add(t, "bob@example.com", composed(t, "bob@example.com", "stuck"))
		stop := runWorker(t, &mail.Worker{
			Queue: q, Sender: newSender(t, srv.URL(), srv), ShutdownGrace: 100 * time.Millisecond,
			Backoff: func(int) time.Duration { return time.Hour },
		})
		waitSending(t, srv)
		start := time.Now()
		stop()
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Run took %v to return, want about the grace", d)
		}
		if r := q.row(t, id); r.State != "queued" || r.Attempts != 1 || !r.BodyKept || r.LeaseUntil.After(time.Now()) ||
			r.Next.Before(time.Now().Add(50*time.Minute)) {
			t.Errorf("got %+v, want queued for a retry in an hour after 1 attempt, body kept", r)
		}
	})
}

// Notify makes the worker look at once, long before its poll; before Run
// it is harmless and does not block.
func TestWorkerWakesOnNotify(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t)
		q := newOutbox(t, kind, mailFrom, nil)
		w := &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Poll: time.Hour}
		w.Notify()
		w.Notify()
		first := q.add(t, "bob@example.com", composed(t, "bob@example.com", "at start"))
		runWorker(t, w)
		testenv.WaitUntil(t, "the first is delivered", func() bool { return q.row(t, first).State == "delivered" })
		// The wake-up given before Run may still be pending for the
		// second; the third has only its own.
		for _, subject := range []string{"notified", "notified again"} {
			id := q.add(t, "bob@example.com", composed(t, "bob@example.com", subject))
			w.Notify()
			testenv.WaitUntil(t, subject+" is delivered", func() bool { return q.row(t, id).State == "delivered" })
		}
	})
}

// The database failing (here the outbox table gone for a while) is
// logged and retried at the next poll.
func TestWorkerSurvivesQueueErrors(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t)
		q := newOutbox(t, kind, mailFrom, nil)
		id := q.add(t, "bob@example.com", composed(t, "bob@example.com", "after errors"))
		q.exec(t, "ALTER TABLE outbox RENAME TO outbox_away")
		log := &testenv.Buffer{}
		runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Poll: 10 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(io.MultiWriter(log, t.Output()), nil))})
		testenv.WaitUntil(t, "claims fail twice", func() bool { return strings.Count(log.String(), "cannot claim mail from the outbox") >= 2 })
		q.exec(t, "ALTER TABLE outbox_away RENAME TO outbox")
		testenv.WaitUntil(t, "it is delivered", func() bool { return q.row(t, id).State == "delivered" })
		srv.WaitFor(t, "bob@example.com", "after errors")
	})
}

func TestWorkerReusesConnections(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithRejectedRecipients("nobody@example.com"))
		q := newOutbox(t, kind, mailFrom, nil)
		for i := range 10 {
			to := fmt.Sprintf("user%d@example.com", i)
			if i == 4 {
				to = "nobody@example.com" // a refusal must not cost the connection
			}
			q.add(t, to, composed(t, to, "batch"))
		}
		runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Concurrency: 1, Batch: 10})
		testenv.WaitUntil(t, "all are done", func() bool { return q.count(t, "delivered") == 9 && q.count(t, "failed") == 1 })

		cmds := strings.Join(srv.Commands(), "\n")
		if n := strings.Count(cmds, "STARTTLS"); n != 2 {
			t.Errorf("got %d connections for the check at start and one batch, want 2:\n%s", n, cmds)
		}
	})
}

// Connections outlive a batch: a worker sending one message at a time
// uses one connection for many batches.
func TestWorkerKeepsConnectionsAcrossBatches(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t, smtptest.WithSTARTTLS())
		q := newOutbox(t, kind, mailFrom, nil)
		for i := range 20 {
			to := fmt.Sprintf("user%d@example.com", i)
			q.add(t, to, composed(t, to, "batches"))
		}
		runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Concurrency: 1, Batch: 3})
		testenv.WaitUntil(t, "all are delivered", func() bool { return q.count(t, "delivered") == 20 })
		if n := strings.Count(strings.Join(srv.Commands(), "\n"), "STARTTLS"); n != 2 {
			t.Errorf("got %d connections for the check at start and seven batches, want 2", n)
		}
	})
}

// Deliveries are recorded in groups: while one write waits or runs, the
// messages the other senders sent meanwhile wait for the next, which
// records them all. Here another connection keeps the outbox from being
// written until all eight senders have sent: the first write takes what
// had arrived, the next all the rest. Each transaction has a time of its
// own (tickingClock), so the distinct sent_at times count the writes.
func TestWorkerMarksDeliveriesInGroups(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		const n = 8
		// Slow enough that every sender has started its message before the
		// first is taken, even on a busy machine.
		srv := smtptest.Start(t, smtptest.WithSlowData(2*time.Second))
		q := newOutbox(t, kind, mailFrom, &tickingClock{})
		for i := range n {
			to := fmt.Sprintf("user%d@example.com", i)
			q.add(t, to, composed(t, to, "grouped"))
		}
		var c counters
		runWorker(t, c.hook(&mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Concurrency: n, Batch: n}))
		testenv.WaitUntil(t, "every sender is sending", func() bool {
			return strings.Count(strings.Join(srv.Commands(), "\n"), "DATA") == n
		})
		unlock := q.lockWrites(t)
		testenv.WaitUntil(t, "every message is sent", func() bool { return len(srv.Messages()) == n })
		time.Sleep(500 * time.Millisecond) // for the senders to hand their outcomes over
		unlock()
		testenv.WaitUntil(t, "all are marked delivered", func() bool { return q.count(t, "delivered") == n })
		writes := map[int64]bool{}
		for _, r := range q.rows(t) {
			writes[r.SentAt] = true
		}
		if len(writes) > 2 {
			t.Errorf("%d messages were marked in %d transactions, want at most 2", n, len(writes))
		}
		testenv.WaitUntil(t, "every send is counted", func() bool { return c.sent.Load() == n })
	})
}

// Amazon SES refuses an unverified sender only after the message: "554
// Message rejected: Email address is not verified". That is about every
// message: the queue is held, and nothing is erased.
func TestWorkerHoldsTheQueueForAnUnverifiedSender(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t, smtptest.WithUnverifiedIdentities("no-reply@example.com"))
		q := newOutbox(t, kind, mailFrom, nil)
		for i := range 20 {
			to := fmt.Sprintf("user%d@example.com", i)
			q.add(t, to, composed(t, to, "unverified"))
		}
		w, _, f := heldWorker(t, q, newSender(t, srv.URL(), srv), time.Hour)
		h := waitHeld(t, w)
		if h.Fault != mail.FaultSender || !strings.Contains(h.Err, "Email address is not verified") {
			t.Errorf("hold: got %+v, want a sender fault with SES's answer", h)
		}
		testenv.WaitUntil(t, "every message is given back", func() bool {
			for _, r := range q.rows(t) {
				if r.LeaseUntil.After(time.Now()) {
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
	})
}

// In its sandbox SES refuses unverified recipients with the same words,
// naming the recipient alone: that message fails, the others go.
func TestWorkerFailsAnUnverifiedRecipientAlone(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t, smtptest.WithUnverifiedIdentities("stranger@example.com"))
		q := newOutbox(t, kind, mailFrom, nil)
		bad := q.add(t, "stranger@example.com", composed(t, "stranger@example.com", "sandbox"))
		good := q.add(t, "bob@example.com", composed(t, "bob@example.com", "sandbox"))
		w, _, _ := heldWorker(t, q, newSender(t, srv.URL(), srv), time.Hour)
		testenv.WaitUntil(t, "both are done", func() bool {
			return q.row(t, bad).State == "failed" && q.row(t, good).State == "delivered"
		})
		if r := q.row(t, bad); r.Failure != mail.FailRejected || !strings.HasPrefix(r.Answer, "554 Message rejected") {
			t.Errorf("failure: got %q, %q; want rejected with SES's answer", r.Failure, r.Answer)
		}
		if _, held := w.Held(); held {
			t.Error("the queue is held for one recipient's refusal")
		}
	})
}

// Mail backing off when the worker starts is retried at once: the restart
// may be the fix of what made it fail.
func TestWorkerRetriesTheQueueAtStart(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, kind string) {
		srv := smtptest.Start(t)
		q := newOutbox(t, kind, mailFrom, nil)
		id := q.addDue(t, "bob@example.com", composed(t, "bob@example.com", "after the restart"), time.Now().Add(time.Hour))
		runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Poll: 10 * time.Millisecond})
		testenv.WaitUntil(t, "it is delivered", func() bool { return q.row(t, id).State == "delivered" })
	})
}

// A message accepted for sending is delivered even when the worker that
// claimed it dies in the middle of sending it: a worker in another
// process is killed (SIGKILL) while a relay that never answers reads its
// message, and once the dead worker's lease ends a worker here sends the
// message again, to a relay that works, and marks it delivered.
func TestWorkerDeliversAcrossACrash(t *testing.T) {
	if os.Getenv("GATEHOUSE_MAIL_CRASH_SMTP") != "" {
		crashingWorker(t)
		return
	}
	forEachDatabase(t, func(t *testing.T, kind string) {
		stuck := smtptest.Start(t, smtptest.WithSlowData(time.Hour))
		q := newOutbox(t, kind, mailFrom, nil)
		id := q.add(t, "bob@example.com", composed(t, "bob@example.com", "across a crash"))

		cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerDeliversAcrossACrash$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GATEHOUSE_MAIL_CRASH_SMTP="+stuck.URL(),
			"GATEHOUSE_MAIL_CRASH_URL="+q.cfg.URL, "GATEHOUSE_MAIL_CRASH_DIR="+q.cfg.DataDir,
			"GATEHOUSE_MAIL_CRASH_KEY="+base64.StdEncoding.EncodeToString(q.key[:]))
		cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitSending(t, stuck)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if r := q.row(t, id); r.State != "queued" || !r.LeaseUntil.After(time.Now()) || r.Attempts != 1 {
			t.Fatalf("after the crash: got %+v, want queued, leased by the dead worker", r)
		}

		srv := smtptest.Start(t)
		runWorker(t, &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Poll: 50 * time.Millisecond})
		testenv.WaitUntil(t, "it is delivered", func() bool { return q.row(t, id).State == "delivered" })
		if r := q.row(t, id); r.Attempts != 2 || r.BodyKept {
			t.Errorf("delivered: got %d attempts, body kept %v; want 2 (the dead worker's and ours), erased", r.Attempts, r.BodyKept)
		}
		srv.WaitFor(t, "bob@example.com", "across a crash")
	})
}

// crashingWorker is the worker TestWorkerDeliversAcrossACrash kills: it
// delivers the outbox the environment names, with a lease of eight seconds
// (a send may take a quarter of it, time enough to be killed first), until
// it is killed.
func crashingWorker(t *testing.T) {
	key, err := seal.ParseKey(os.Getenv("GATEHOUSE_MAIL_CRASH_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := sqldb.Config{URL: os.Getenv("GATEHOUSE_MAIL_CRASH_URL"), DataDir: os.Getenv("GATEHOUSE_MAIL_CRASH_DIR")}
	q := openOutbox(t, cfg, key, mailFrom)
	s, err := mail.NewSender(os.Getenv("GATEHOUSE_MAIL_CRASH_SMTP"), mail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	(&mail.Worker{Queue: q, Sender: s, Lease: 8 * time.Second}).Run(context.Background())
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

// BenchmarkWorkerDelivery measures mail per second from the outbox (the
// store on a SQLite file) to the test SMTP server over loopback, with the default batch and concurrency.
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
			q := newOutbox(b, "sqlite", mailFrom, nil)
			body := composed(b, "bob@example.com", "benchmark")
			for range b.N {
				q.add(b, "bob@example.com", body)
			}
			b.ResetTimer()
			start := time.Now()
			sender := newSender(b, srv.URL(), srv)
			if !tc.reuse {
				sender = struct{ mail.Sender }{sender} // hides the connection reuse
			}
			runWorker(b, &mail.Worker{Queue: q, Sender: sender, Log: slog.New(slog.DiscardHandler)})
			testenv.WaitUntil(b, "all are delivered", func() bool { return q.count(b, "delivered") == b.N })
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "mails/s")
		})
	}
}
