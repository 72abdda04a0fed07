package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/clip"
	"github.com/gatehouse/gatehouse/internal/outbox"
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
	// Delivered marks messages sent and erases their bodies. The worker
	// passes every message sent since its previous call, so that one
	// transaction records many.
	Delivered(ctx context.Context, ids ...string) error
	// Retry counts a failed attempt and makes the message due again at at.
	Retry(ctx context.Context, id string, at time.Time, lastErr string) error
	// Fail gives up on a message: a permanent failure, or too many
	// attempts. Its body is erased; f says why, for the admins and the
	// operator.
	Fail(ctx context.Context, id string, f Failure) error
	// Release gives claimed messages back, due now, without counting the
	// attempt: the queue is held for a fault of the relay, which is no
	// message's. lastErr, when not empty, replaces their last error.
	Release(ctx context.Context, lastErr string, ids ...string) error
	// RetryNow makes every waiting message due now, whatever its backoff:
	// the relay, or its configuration, has just been found working.
	RetryNow(ctx context.Context) error
}

// Failure is why a message was given up.
type Failure struct {
	Reason string // FailRejected or FailGaveUp
	// Answer is the server's answer that refused the message or its
	// recipient ("550 5.1.1 <a@example.com>: Recipient address rejected:
	// User unknown"), when there was one: company admins see it. Never an
	// answer about the relay or our account, which is the operator's.
	Answer string
	Err    string // the whole error, for the operator
}

// Reasons of a Failure.
const (
	FailRejected = "rejected" // the server refused the recipient or the message
	FailGaveUp   = "gave_up"  // temporary failures, MaxAttempts times
)

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
	// DefaultIdle is how long an SMTP connection waits for the next
	// message. RFC 5321 asks servers to wait five minutes for a command,
	// but many close sooner; a connection found closed is replaced before
	// the message starts, at no cost to the message.
	DefaultIdle = 5 * time.Second
	// DefaultShutdownGrace is how long a message being sent may go on once
	// Run's context ends.
	DefaultShutdownGrace = 10 * time.Second
	// CheckTimeout bounds a check of the relay (at start, and the probe of
	// a held queue with no mail due): longer than a connection's own
	// limits (10 s to connect, 30 s to greet, upgrade and log in), so that
	// those say what failed.
	CheckTimeout = 45 * time.Second
)

// bookkeepingTimeout bounds each Delivered, Retry or Fail, which run on a
// context of their own so that a shutdown does not lose their outcome.
const bookkeepingTimeout = 10 * time.Second

// lastErrLimit keeps one bad server answer from bloating the outbox row.
const lastErrLimit = 1000

// Worker delivers the outbox. It claims a batch and hands its messages to
// Concurrency senders, each of which keeps its SMTP connection open from
// message to message (and from batch to batch) until it has been idle for
// Idle; as soon as the last message of a batch is handed out it claims the
// next, so the senders never wait for the database between batches. One
// recorder writes the outcomes: every message sent since its last write
// is marked delivered in one transaction (a group commit, which adds no
// wait: it writes what has arrived while the previous write ran). Set the
// fields, then call Run once; Notify may be called from anywhere at any
// time.
type Worker struct {
	Queue  Queue
	Sender Sender
	Log    *slog.Logger // nil discards

	Batch       int           // messages claimed at once
	Concurrency int           // messages sent at once, each goroutine over its own connection
	Lease       time.Duration // how long a claim lasts
	Poll        time.Duration // how often to look for due messages when not notified
	MaxAttempts int           // attempts before a message fails for good
	Idle        time.Duration // how long an unused SMTP connection stays open

	// Backoff is the wait before attempt+1, after attempt (1, 2, ...) failed.
	Backoff func(attempt int) time.Duration
	// ShutdownGrace is how long a send in flight may go on after Run's
	// context ends.
	ShutdownGrace time.Duration
	// ProbeBackoff is the wait before probe n+1, after probe n (1, 2, ...)
	// of a held queue failed; the first probe is ProbeBackoff(0) after the
	// hold began. DefaultProbeBackoff when nil.
	ProbeBackoff func(n int) time.Duration

	// Metrics hooks, each may be nil. They are called from several
	// goroutines at once.
	OnSent, OnFailed, OnRetry func()
	// OnHold is called when the queue becomes held, with the fault.
	OnHold func(Fault)

	// Background, when set, is called first by each goroutine Run starts
	// (the claimer, the senders, the recorder), on that goroutine: the
	// server passes priority.Lower at priority.Background, so that a burst
	// of mail leaves the processor to logins and requests.
	Background func()

	wakeOnce sync.Once
	wake     chan struct{}

	mu    sync.Mutex
	held  *Hold // nil while mail flows
	holds int   // how many times the queue was held: see sendLoop
}

// Hold describes a held queue: the relay turns away every message alike
// (a RelayError), so the worker sends nothing until a probe passes. A probe
// is one message (the one due longest), or, with none due, Check; one
// probe per ProbeBackoff, whatever the backlog: a wrong password costs one
// failed login per probe, not one per message. Held messages count no
// attempt and keep their bodies; when a probe passes, every waiting
// message is retried at once.
type Hold struct {
	Fault     Fault
	Err       string    // the last error: the relay's answer, or the connection's
	Fix       string    // what the operator should do
	Since     time.Time // when the queue was held
	NextProbe time.Time
	probes    int
}

// Held reports whether the queue is held, and why.
func (w *Worker) Held() (Hold, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held == nil {
		return Hold{}, false
	}
	return *w.held, true
}

func (w *Worker) isHeld() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.held != nil
}

func (w *Worker) holdCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.holds
}

// DefaultProbeBackoff waits between ¾ and all of 15 s × 2^n, at most
// 15 minutes: a held queue is probed after about 15 s, 30 s, 1 min, ...,
// then every 15 minutes, about a hundred probes a day.
func DefaultProbeBackoff(n int) time.Duration {
	return outbox.Jitter(min(15*time.Second<<min(max(n, 0), 10), 15*time.Minute))
}

// DefaultBackoff waits between ¾ and all of 10 s × 2^(attempt-1), at most an
// hour. The jitter keeps a batch that failed together from retrying together.
func DefaultBackoff(attempt int) time.Duration {
	return outbox.Jitter(min(10*time.Second<<min(max(attempt-1, 0), 10), time.Hour))
}

func (w *Worker) background() {
	if w.Background != nil {
		w.Background()
	}
}

// settings are the Worker's fields with defaults filled in, read once by Run.
type settings struct {
	batch, concurrency, maxAttempts       int
	lease, poll, grace, sendTimeout, idle time.Duration
	backoff, probeBackoff                 func(int) time.Duration
	log                                   *slog.Logger
}

func (w *Worker) settings() settings {
	s := settings{
		batch:        outbox.OrDefault(w.Batch, DefaultBatch),
		concurrency:  outbox.OrDefault(w.Concurrency, DefaultConcurrency),
		maxAttempts:  outbox.OrDefault(w.MaxAttempts, DefaultMaxAttempts),
		lease:        outbox.OrDefault(w.Lease, DefaultLease),
		poll:         outbox.OrDefault(w.Poll, DefaultPoll),
		grace:        outbox.OrDefault(w.ShutdownGrace, DefaultShutdownGrace),
		idle:         outbox.OrDefault(w.Idle, DefaultIdle),
		backoff:      w.Backoff,
		probeBackoff: w.ProbeBackoff,
		log:          w.Log,
	}
	if s.backoff == nil {
		s.backoff = DefaultBackoff
	}
	if s.probeBackoff == nil {
		s.probeBackoff = DefaultProbeBackoff
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// A message started in the first half of a lease, with a quarter of it to
	// finish, is done before another worker may claim it again.
	s.sendTimeout = min(2*time.Minute, s.lease/4)
	return s
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
// sent are done (or ShutdownGrace has passed) and every outcome is
// recorded. It starts with a check of the relay (Check): a RelayError
// holds the queue from the start, and otherwise every waiting message is
// made due at once, so that mail held back by a fault fixed by a restart
// does not wait out its backoff. Claimed messages it had not started stay leased and return to
// the queue when the lease ends. Errors from the queue are logged and
// retried at the next poll; Run returns an error only when the Worker lacks
// a Queue or a Sender.
func (w *Worker) Run(ctx context.Context) error {
	if w.Queue == nil || w.Sender == nil {
		return errors.New("mail: Worker needs a Queue and a Sender")
	}
	s := w.settings()
	jobs := make(chan Queued) // unbuffered: a message handed out is a message started
	outcomes := make(chan outcome, s.batch)
	var senders sync.WaitGroup
	for range s.concurrency {
		senders.Go(func() {
			w.background()
			w.sendLoop(ctx, s, jobs, outcomes)
		})
	}
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		w.background()
		w.record(ctx, s, outcomes)
	}()
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		w.background()
		w.feed(ctx, s, jobs)
	}()

	<-fed
	close(jobs)
	senders.Wait()
	close(outcomes)
	<-recorded
	return nil
}

// feed claims batches and hands their messages to the senders until ctx
// ends: at once while batches come back full, else when notified or when
// Poll has passed. While the queue is held it claims nothing, and probes.
func (w *Worker) feed(ctx context.Context, s settings, jobs chan<- Queued) {
	w.start(ctx, s)
	wake := w.wakeChan()
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		if h, held := w.Held(); held {
			// Wake-ups are for mail just queued, which waits like the rest.
			poll.Reset(time.Until(h.NextProbe))
			select {
			case <-ctx.Done():
				return
			case <-poll.C:
				w.probe(ctx, s)
			}
			continue
		}
		n, err := w.handOut(ctx, s, jobs)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Error("mail: cannot claim mail from the outbox", "err", err)
		}
		if w.isHeld() || err == nil && n == s.batch {
			continue // held: probe; or a full batch: there may be more due
		}
		poll.Reset(s.poll)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		}
	}
}

// start checks the relay; if it works, every waiting message is due now.
func (w *Worker) start(ctx context.Context, s settings) {
	if rerr := w.check(ctx); rerr != nil {
		if ctx.Err() == nil {
			w.hold(s, rerr, false)
		}
		return
	}
	if err := w.Queue.RetryNow(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("mail: cannot make the waiting mail due", "err", err)
	}
}

// check runs Check; any failure is the relay's: one that Check could not
// name (it took too long) is FaultConnect.
func (w *Worker) check(ctx context.Context) *RelayError {
	checkCtx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	err := Check(checkCtx, w.Sender)
	if err == nil {
		return nil
	}
	if rerr := AsRelayError(err); rerr != nil {
		return rerr
	}
	return &RelayError{FaultConnect, fixConnect, err}
}

// hold holds the queue for e, or, when it is held already, records e
// and, after a failed probe, schedules the next one.
func (w *Worker) hold(s settings, e *RelayError, probe bool) {
	now := time.Now()
	w.mu.Lock()
	first := w.held == nil
	if first {
		w.held = &Hold{Since: now, NextProbe: now.Add(s.probeBackoff(0))}
		w.holds++
	}
	h := w.held
	h.Fault, h.Err, h.Fix = e.Fault, e.Error(), e.Fix
	if probe {
		h.probes++
		h.NextProbe = now.Add(s.probeBackoff(h.probes))
	}
	next := h.NextProbe
	w.mu.Unlock()
	if first {
		w.Notify() // the claimer may be waiting for its next poll: it probes instead
	}
	switch {
	case first:
		s.log.Error("mail: queue held: "+e.Fault.Summary()+"; no mail is sent, and none is lost, until a probe passes",
			"fault", e.Fault, "err", e.Err, "fix", e.Fix, "next_probe", next.UTC().Format(time.RFC3339))
		if w.OnHold != nil {
			w.OnHold(e.Fault)
		}
	case probe:
		s.log.Error("mail: queue still held: "+e.Fault.Summary(),
			"fault", e.Fault, "err", e.Err, "fix", e.Fix, "next_probe", next.UTC().Format(time.RFC3339))
	}
}

// resume lets mail flow again after a probe passed, and retries every
// waiting message at once.
func (w *Worker) resume(ctx context.Context, s settings) {
	w.mu.Lock()
	h := w.held
	w.held = nil
	w.mu.Unlock()
	if h == nil {
		return
	}
	s.log.Info("mail: the SMTP relay takes mail again; retrying the whole queue now",
		"held_for", time.Since(h.Since).Round(time.Second), "fault", h.Fault)
	if err := w.Queue.RetryNow(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("mail: cannot make the waiting mail due", "err", err)
	}
}

// probe tries the held queue once: one message (the one due longest) over
// a connection of its own, or Check when none is due. Anything but a
// RelayError means that the relay works again: the message failed or was
// refused for reasons of its own.
func (w *Worker) probe(ctx context.Context, s settings) {
	batch, err := w.Queue.Claim(ctx, 1, s.lease)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("mail: cannot claim mail from the outbox", "err", err)
			w.mu.Lock()
			if w.held != nil {
				w.held.NextProbe = time.Now().Add(s.poll)
			}
			w.mu.Unlock()
		}
		return
	}
	if len(batch) == 0 {
		if rerr := w.check(ctx); rerr != nil {
			if ctx.Err() == nil {
				w.hold(s, rerr, true)
			}
			return
		}
	} else {
		q := batch[0]
		sendCtx, cancel := outbox.GraceContext(ctx, s.sendTimeout, s.grace)
		ss := openSession(w.Sender)
		err = ss.Send(sendCtx, q.From, q.To, q.Body)
		ss.Close()
		cancel()
		w.recordGroup(ctx, s, []outcome{{Queued: q, err: err, probe: true, recorded: make(chan struct{}, 1)}})
		if AsRelayError(err) != nil {
			return
		}
	}
	if ctx.Err() == nil {
		w.resume(ctx, s)
	}
}

// handOut claims one batch and gives its messages to the senders; it
// returns how many it claimed. A message not started within half the lease
// (a slow server) is left to return to the queue when the lease ends, so
// that no message is sent while another worker may hold it. When the
// queue becomes held, the messages not handed out yet are released.
func (w *Worker) handOut(ctx context.Context, s settings, jobs chan<- Queued) (int, error) {
	batch, err := w.Queue.Claim(ctx, s.batch, s.lease)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	stopStarting := time.Now().Add(s.lease / 2)
	for i, q := range batch {
		if time.Now().After(stopStarting) {
			break
		}
		if w.isHeld() {
			w.release(ctx, s, "", batch[i:])
			break
		}
		select {
		case jobs <- q:
		case <-ctx.Done():
			return len(batch), nil
		}
	}
	return len(batch), nil
}

// release gives claimed messages back uncounted (Queue.Release).
func (w *Worker) release(ctx context.Context, s settings, lastErr string, msgs []Queued) {
	ids := make([]string, len(msgs))
	for i, q := range msgs {
		ids[i] = q.ID
	}
	ctx, cancel := outbox.Bookkeeping(ctx, bookkeepingTimeout)
	defer cancel()
	if err := w.Queue.Release(ctx, truncate(lastErr), ids...); err != nil {
		s.log.Error("mail: cannot give held mail back to the queue; it returns when its lease ends", "ids", ids, "err", err)
	}
}

// outcome is the result of one attempt, for the recorder, which signals
// recorded once it is written.
type outcome struct {
	Queued
	err      error
	probe    bool // the probe of a held queue
	recorded chan<- struct{}
}

// errHeld is the outcome of a message not sent because the queue became
// held after it was handed out.
var errHeld = errors.New("not sent: the queue is held")

// sendLoop sends the messages it is handed over one session, which it
// closes after Idle without a message and at the end. It takes the next
// message only once the outcome of the last is recorded: a sender has at
// most one message sent and not yet marked, or being sent, so a crash
// sends again at most Concurrency messages, as it did when each sender
// wrote its own outcomes. The senders' outcomes still share transactions.
//
// A session opened before the queue was last held is closed before its
// next message: the relay may have been fixed since, and a connection
// kept from before can still speak to its old configuration (a Postfix
// process that read the old sender map, say).
func (w *Worker) sendLoop(ctx context.Context, s settings, jobs <-chan Queued, outcomes chan<- outcome) {
	ss := openSession(w.Sender)
	defer ss.Close()
	gen := w.holdCount()
	recorded := make(chan struct{}, 1)
	idle := time.NewTimer(s.idle)
	defer idle.Stop()
	for {
		select {
		case q, ok := <-jobs:
			if !ok {
				return
			}
			if g := w.holdCount(); g != gen {
				ss.Close()
				gen = g
			}
			err := errHeld
			if !w.isHeld() {
				sendCtx, cancel := outbox.GraceContext(ctx, s.sendTimeout, s.grace)
				err = ss.Send(sendCtx, q.From, q.To, q.Body)
				cancel()
			}
			outcomes <- outcome{Queued: q, err: err, recorded: recorded}
			<-recorded
			idle.Reset(s.idle)
		case <-idle.C:
			ss.Close() // the next message opens a new connection
		}
	}
}

// record writes outcomes until the senders are done: each time, all that
// have arrived (up to a batch), the deliveries in one call.
func (w *Worker) record(ctx context.Context, s settings, outcomes <-chan outcome) {
	group := make([]outcome, 0, s.batch)
	for o := range outcomes {
		group = outbox.Gather(group, o, outcomes, s.batch)
		w.recordGroup(ctx, s, group)
	}
}

// recordGroup records one group of outcomes on a context of its own, so
// that a shutdown does not lose them.
func (w *Worker) recordGroup(ctx context.Context, s settings, group []outcome) {
	ctx, cancel := outbox.Bookkeeping(ctx, bookkeepingTimeout)
	defer cancel()
	defer func() {
		for _, o := range group {
			o.recorded <- struct{}{}
		}
	}()
	var sent []string
	for _, o := range group {
		if o.err == nil {
			sent = append(sent, o.ID)
		} else {
			w.recordFailure(ctx, s, o)
		}
	}
	if len(sent) == 0 {
		return
	}
	if err := w.Queue.Delivered(ctx, sent...); err != nil {
		s.log.Error("mail: sent, but not marked delivered; it will be sent again", "ids", sent, "err", err)
	}
	for _, o := range group {
		if o.err == nil {
			s.log.Info("mail delivered", "id", o.ID, "attempt", o.Attempts+1)
			call(w.OnSent)
		}
	}
}

// recordFailure schedules a retry, or gives up on a permanent failure or
// after MaxAttempts; a RelayError holds the queue and gives the message
// back uncounted.
func (w *Worker) recordFailure(ctx context.Context, s settings, o outcome) {
	if o.err == errHeld {
		w.release(ctx, s, "", []Queued{o.Queued})
		return
	}
	if rerr := AsRelayError(o.err); rerr != nil {
		w.hold(s, rerr, o.probe)
		w.release(ctx, s, o.err.Error(), []Queued{o.Queued})
		return
	}
	attempt := o.Attempts + 1
	if IsPermanent(o.err) || attempt >= s.maxAttempts {
		f := Failure{Reason: FailRejected, Answer: answerOf(o.err), Err: o.err.Error()}
		if !IsPermanent(o.err) {
			f.Reason, f.Err = FailGaveUp, fmt.Sprintf("gave up after %d attempts: %v", attempt, o.err)
		}
		f.Answer, f.Err = truncate(f.Answer), truncate(f.Err)
		if err := w.Queue.Fail(ctx, o.ID, f); err != nil {
			s.log.Error("mail: cannot mark mail failed", "id", o.ID, "err", err)
		}
		s.log.Error("mail not delivered", "id", o.ID, "to", o.To, "attempt", attempt, "reason", f.Reason, "err", f.Err)
		call(w.OnFailed)
		return
	}
	at := time.Now().Add(s.backoff(attempt))
	if err := w.Queue.Retry(ctx, o.ID, at, truncate(o.err.Error())); err != nil {
		s.log.Error("mail: cannot schedule a retry", "id", o.ID, "err", err)
	}
	s.log.Warn("mail delivery failed; will retry", "id", o.ID, "to", o.To,
		"attempt", attempt, "retry_at", at.UTC().Format(time.RFC3339), "err", o.err)
	call(w.OnRetry)
}

// truncate cuts s to lastErrLimit bytes at a character boundary
// (PostgreSQL refuses invalid UTF-8), marking the cut.
func truncate(s string) string {
	if len(s) <= lastErrLimit {
		return s
	}
	return clip.Prefix(s, lastErrLimit) + "…"
}

func call(f func()) {
	if f != nil {
		f()
	}
}
