package server_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/mail"
)

// The tests here run mail workers of their own on a server's outbox (the
// server itself not started, so its worker does not run): several workers
// on one database stand for several nodes.

// newWorker returns a worker on the outbox of s, delivering to its SMTP
// server, that retries quickly.
func newWorker(t *testing.T, s *servertest.Server) *mail.Worker {
	t.Helper()
	sender, err := mail.NewSender(s.SMTP.URL(), mail.Options{TLS: s.SMTP.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	return &mail.Worker{Queue: s.Service().Outbox(), Sender: sender, Log: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Poll: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 20 * time.Millisecond }}
}

// run runs w until the returned stop is called (or the test ends); stop
// returns once Run has.
func run(t *testing.T, w *mail.Worker) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	stop = sync.OnceFunc(func() {
		cancel()
		<-done
	})
	t.Cleanup(stop)
	return stop
}

// waitSent waits until no more than left messages wait in the outbox.
func waitSent(t *testing.T, s *servertest.Server, left int) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); mailCounts(t, s) > left; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute %d messages wait in the outbox, want %d", mailCounts(t, s), left)
		}
	}
}

// wantDeliveredOnce checks that the SMTP server holds n messages, each once,
// and that the outbox kept no body of a sent message.
func wantDeliveredOnce(t *testing.T, s *servertest.Server, n int) {
	t.Helper()
	msgs := s.SMTP.Messages()
	ids := map[string]int{}
	for _, m := range msgs {
		ids[m.Header.Get("Message-ID")]++
	}
	if len(msgs) != n || len(ids) != n {
		t.Errorf("the SMTP server received %d messages, %d distinct; want %d, each once", len(msgs), len(ids), n)
	}
	var bodies int
	if err := s.SQL(t).QueryRow("SELECT count(*) FROM outbox WHERE body IS NOT NULL").Scan(&bodies); err != nil {
		t.Fatal(err)
	}
	if bodies != 0 {
		t.Errorf("%d sent messages still have their bodies, want none", bodies)
	}
}

// Three workers on one outbox, each claiming batches and sending over
// connections it keeps, deliver every message exactly once.
func TestOutboxDeliveredOnceByManyWorkers(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Open(t, db)
		const n = 300
		queueResetMail(t, s, n)
		for range 3 {
			w := newWorker(t, s)
			w.Batch, w.Concurrency = 20, 3
			run(t, w)
		}
		waitSent(t, s, 0)
		wantDeliveredOnce(t, s, n)
	})
}

// A server that hangs up at the end of every seventh message, before it
// answers, costs a retry of that message and a new connection, not the
// message, nor the others of the batch.
func TestOutboxSurvivesHangUps(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Open(t, db, servertest.WithSMTP(smtptest.WithHangUpEvery(7)))
		const n = 100
		queueResetMail(t, s, n)
		run(t, newWorker(t, s))
		waitSent(t, s, 0)
		wantDeliveredOnce(t, s, n)
		// Each message hung up on was tried again, and no other: the
		// messages of its batch were not. Counted by message, since a
		// message's retry can be the seventh again.
		hungUp := map[string]bool{}
		for _, id := range s.SMTP.HungUpOn() {
			hungUp[id] = true
		}
		var retried int
		if err := s.SQL(t).QueryRow("SELECT count(*) FROM outbox WHERE attempts > 1").Scan(&retried); err != nil {
			t.Fatal(err)
		}
		if len(hungUp) < n/8 || retried != len(hungUp) {
			t.Errorf("%d messages were tried more than once, want the %d hung up on (%d hang-ups)",
				retried, len(hungUp), len(s.SMTP.HungUpOn()))
		}
	})
}

// A worker stopped in the middle of a batch finishes the messages it was
// sending and leaves the rest of its claim leased; another worker takes
// the messages no one claimed at once, and the leased ones when the lease
// ends. Nothing is lost, nothing sent twice.
func TestOutboxLeaseReturnsMailOfAStoppedWorker(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Open(t, db, servertest.WithSMTP(smtptest.WithSlowData(50*time.Millisecond)))
		const n = 70
		queueResetMail(t, s, n)
		first := newWorker(t, s)
		first.Batch, first.Concurrency = 50, 2
		stopFirst := run(t, first)
		testenv.WaitUntil(t, "the first worker to send some", func() bool { return len(s.SMTP.Messages()) >= 4 })
		stopFirst()
		var leased int
		if err := s.SQL(t).QueryRow("SELECT count(*) FROM outbox WHERE sent_at = 0 AND lease_until > $1",
			s.Clock.Now().UnixMilli()).Scan(&leased); err != nil {
			t.Fatal(err)
		}
		if leased == 0 || leased >= n-len(s.SMTP.Messages()) {
			t.Fatalf("the stopped worker holds %d leased messages with %d sent; want some, and fewer than those left", leased, len(s.SMTP.Messages()))
		}

		second := newWorker(t, s)
		run(t, second)
		waitSent(t, s, leased)
		if got := len(s.SMTP.Messages()); got != n-leased {
			t.Fatalf("before the lease ends: %d messages arrived, want %d (all but the %d leased)", got, n-leased, leased)
		}
		s.Clock.Advance(mail.DefaultLease + time.Second)
		second.Notify()
		waitSent(t, s, 0)
		wantDeliveredOnce(t, s, n)
	})
}
