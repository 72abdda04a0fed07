package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
	"unicode/utf8"
)

// Queue is the outbox as the worker sees it. The store implements it over
// the outbox table, where the service writes each message in the same
// transaction as the token it carries.
type Queue interface {
	// Claim leases up to n messages that are due (next attempt at or before
	// now, and not leased, or leased longer ago than their lease) for lease,
	// so that a crashed worker's messages return to the queue. Bodies are the
	// composed RFC 5322 bytes, already decrypted.
	Claim(ctx context.Context, n int, lease time.Duration) ([]Queued, error)
	// Delivered marks a message sent and erases its body.
	Delivered(ctx context.Context, id string) error
	// Retry counts a failed attempt and makes the message due again at at.
	Retry(ctx context.Context, id string, at time.Time, lastErr string) error
	// Fail gives up on a message: a permanent failure, or too many attempts.
	Fail(ctx context.Context, id string, lastErr string) error
}

// Queued is one claimed message.
type Queued struct {
	ID, From, To string
	Body         []byte
	Attempts     int // attempts before this one
}

// Defaults for the Worker's zero fields.
const (
	DefaultBatch       = 50
	DefaultConcurrency = 4
	DefaultLease       = 5 * time.Minute
	DefaultPoll        = 10 * time.Second
	DefaultMaxAttempts = 20 // about half a day with DefaultBackoff
	// DefaultShutdownGrace is how long a message being sent may go on once
	// Run's context ends.
	DefaultShutdownGrace = 10 * time.Second
)

// bookkeepingTimeout bounds each Delivered, Retry or Fail, which run on a
// context of their own so that a shutdown does not lose their outcome.
const bookkeepingTimeout = 10 * time.Second

// lastErrLimit keeps one bad server answer from bloating the outbox row.
const lastErrLimit = 1000

// Worker delivers the outbox: it claims a batch, sends it over a few
// connections at once, and records each outcome. Set the fields, then call
// Run once; Notify may be called from anywhere at any time.
type Worker struct {
	Queue  Queue
	Sender Sender
	Log    *slog.Logger // nil discards

	Batch       int           // messages claimed at once
	Concurrency int           // messages sent at once, each goroutine over its own connection
	Lease       time.Duration // how long a claim lasts
	Poll        time.Duration // how often to look for due messages when not notified
	MaxAttempts int           // attempts before a message fails for good

	// Backoff is the wait before attempt+1, after attempt (1, 2, ...) failed.
	Backoff func(attempt int) time.Duration
	// ShutdownGrace is how long a send in flight may go on after Run's
	// context ends.
	ShutdownGrace time.Duration

	// Metrics hooks, each may be nil. They are called from several
	// goroutines at once.
	OnSent, OnFailed, OnRetry func()

	wakeOnce sync.Once
	wake     chan struct{}
}

// DefaultBackoff waits between ¾ and all of 10 s × 2^(attempt-1), at most an
// hour. The jitter keeps a batch that failed together from retrying together.
func DefaultBackoff(attempt int) time.Duration {
	d := min(10*time.Second<<min(max(attempt-1, 0), 10), time.Hour)
	return d*3/4 + rand.N(d/4+1)
}

// settings are the Worker's fields with defaults filled in, read once by Run.
type settings struct {
	batch, concurrency, maxAttempts int
	lease, poll, grace, sendTimeout time.Duration
	backoff                         func(int) time.Duration
	log                             *slog.Logger
}

func (w *Worker) settings() settings {
	s := settings{
		batch: w.Batch, concurrency: w.Concurrency, maxAttempts: w.MaxAttempts,
		lease: w.Lease, poll: w.Poll, grace: w.ShutdownGrace, backoff: w.Backoff, log: w.Log,
	}
	s.batch = orDefault(s.batch, DefaultBatch)
	s.concurrency = orDefault(s.concurrency, DefaultConcurrency)
	s.maxAttempts = orDefault(s.maxAttempts, DefaultMaxAttempts)
	s.lease = orDefault(s.lease, DefaultLease)
	s.poll = orDefault(s.poll, DefaultPoll)
	s.grace = orDefault(s.grace, DefaultShutdownGrace)
	if s.backoff == nil {
		s.backoff = DefaultBackoff
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// A message started in the first half of a lease, with a quarter of it to
	// finish, is done before another worker may claim it again.
	s.sendTimeout = min(2*time.Minute, s.lease/4)
	return s
}

// orDefault returns v, or def when v is not positive.
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Notify wakes the worker to look for mail now; the service calls it after
// committing a transaction that queued mail. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.wakeChan() <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (w *Worker) wakeChan() chan struct{} {
	w.wakeOnce.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Run delivers mail until ctx ends, then returns nil once the messages being
// sent are done (or ShutdownGrace has passed). Claimed messages it had not
// started stay leased and return to the queue when the lease ends. Errors
// from the queue are logged and retried at the next poll; Run returns an
// error only when the Worker lacks a Queue or a Sender.
func (w *Worker) Run(ctx context.Context) error {
	if w.Queue == nil || w.Sender == nil {
		return errors.New("mail: Worker needs a Queue and a Sender")
	}
	s := w.settings()
	wake := w.wakeChan()
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		n, err := w.deliverBatch(ctx, s)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.log.Error("mail: cannot claim mail from the outbox", "err", err)
		}
		if err == nil && n == s.batch {
			continue // a full batch: there may be more due
		}
		poll.Reset(s.poll)
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-poll.C:
		}
	}
}

// deliverBatch claims one batch and sends it, Concurrency messages at a
// time; it returns how many it claimed.
func (w *Worker) deliverBatch(ctx context.Context, s settings) (int, error) {
	batch, err := w.Queue.Claim(ctx, s.batch, s.lease)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	stopStarting := time.Now().Add(s.lease / 2)

	jobs := make(chan Queued)
	var wg sync.WaitGroup
	for range min(s.concurrency, len(batch)) {
		wg.Go(func() {
			ss := openSession(w.Sender)
			defer ss.Close()
			for q := range jobs {
				w.deliver(ctx, ss, q, s)
			}
		})
	}
feed:
	for _, q := range batch {
		if ctx.Err() != nil || time.Now().After(stopStarting) {
			break
		}
		select {
		case jobs <- q:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return len(batch), nil
}

// deliver sends one message and records the outcome.
func (w *Worker) deliver(ctx context.Context, ss session, q Queued, s settings) {
	sendCtx, cancel := sendContext(ctx, s.sendTimeout, s.grace)
	err := ss.Send(sendCtx, q.From, q.To, q.Body)
	cancel()

	ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	attempt := q.Attempts + 1
	switch {
	case err == nil:
		if err := w.Queue.Delivered(ctx, q.ID); err != nil {
			s.log.Error("mail: sent, but not marked delivered; it will be sent again", "id", q.ID, "err", err)
		} else {
			s.log.Info("mail delivered", "id", q.ID, "attempt", attempt)
		}
		call(w.OnSent)

	case IsPermanent(err) || attempt >= s.maxAttempts:
		reason := err.Error()
		if !IsPermanent(err) {
			reason = fmt.Sprintf("gave up after %d attempts: %v", attempt, err)
		}
		if err := w.Queue.Fail(ctx, q.ID, truncate(reason)); err != nil {
			s.log.Error("mail: cannot mark mail failed", "id", q.ID, "err", err)
		}
		s.log.Error("mail not delivered", "id", q.ID, "to", q.To, "attempt", attempt, "err", reason)
		call(w.OnFailed)

	default:
		at := time.Now().Add(s.backoff(attempt))
		if err := w.Queue.Retry(ctx, q.ID, at, truncate(err.Error())); err != nil {
			s.log.Error("mail: cannot schedule a retry", "id", q.ID, "err", err)
		}
		s.log.Warn("mail delivery failed; will retry", "id", q.ID, "to", q.To,
			"attempt", attempt, "retry_at", at.UTC().Format(time.RFC3339), "err", err)
		call(w.OnRetry)
	}
}

// sendContext bounds one send by timeout and lets it outlive ctx by grace at
// most: on shutdown the message being sent finishes, but not forever.
func sendContext(ctx context.Context, timeout, grace time.Duration) (context.Context, context.CancelFunc) {
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return sendCtx, func() { stop(); cancel() }
}

// truncate cuts s at a rune boundary: PostgreSQL refuses invalid UTF-8.
func truncate(s string) string {
	if len(s) <= lastErrLimit {
		return s
	}
	cut := lastErrLimit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func call(f func()) {
	if f != nil {
		f()
	}
}
