package webhook

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/outbox"
)

// Queue is the webhook outbox as the worker sees it; package auth
// implements it over the store, where deliveries are written in the
// transaction of the change they report.
type Queue interface {
	// Claim leases up to n due deliveries for lease, except those of the
	// endpoints in skip, and returns them ready to send (URL and keys
	// opened). Each claim counts an attempt.
	Claim(ctx context.Context, n int, lease time.Duration, skip []string) ([]Delivery, error)
	// Record writes the outcomes of attempts: the worker passes every
	// outcome that arrived since its previous call, for one transaction.
	Record(ctx context.Context, results []Result) error
	// Release gives claimed deliveries back, unattempted.
	Release(ctx context.Context, ids []string) error
}

// Delivery is one claimed delivery.
type Delivery struct {
	ID, EndpointID string
	Message
	Attempt int // this attempt's number, from 1
}

// Result is the outcome of one attempt.
type Result struct {
	DeliveryID, EndpointID string
	Attempt                int
	At                     time.Time
	Answer
}

// Defaults for the Worker's zero fields.
const (
	DefaultBatch = 100
	// DefaultPerEndpoint is how many attempts go to one endpoint at once
	// from one node: a receiver that hangs holds that many, and no more,
	// while every other endpoint goes on.
	DefaultPerEndpoint = 4
	DefaultMaxInFlight = 256
	DefaultLease       = 5 * time.Minute
	DefaultPoll        = 5 * time.Second
	// DefaultShutdownGrace is how long attempts in flight may go on once
	// Run's context ends.
	DefaultShutdownGrace = 10 * time.Second
)

// bookkeepingTimeout bounds each Record and Release, which run on a
// context of their own so that a shutdown does not lose them.
const bookkeepingTimeout = 10 * time.Second

// Retry schedule: the wait after failed attempt n is between ¾ and all of
// FirstRetry × 5^(n-1), at most MaxRetryWait: about 5 s, 25 s, 2 min,
// 10 min, 50 min, 4 h, then every 6 h. auth gives up once a delivery has
// failed for a day (auth.WebhookRetryFor), after about 11 attempts.
const (
	FirstRetry   = 5 * time.Second
	MaxRetryWait = 6 * time.Hour
)

// Backoff is the wait after failed attempt n (1, 2, ...); the jitter keeps
// deliveries that failed together from retrying together.
func Backoff(n int) time.Duration {
	d := FirstRetry
	for i := 1; i < n && d < MaxRetryWait; i++ {
		d *= 5
	}
	return outbox.Jitter(min(d, MaxRetryWait))
}

// RetryWait is the wait after failed attempt n when the receiver asked
// for retryAfter: the longer of the two, the receiver's at most
// MaxRetryWait.
func RetryWait(n int, retryAfter time.Duration) time.Duration {
	return max(Backoff(n), min(retryAfter, MaxRetryWait))
}

// Worker delivers the webhook outbox. It claims due deliveries in batches
// and gives each endpoint a lane of its own: at most PerEndpoint attempts
// to one endpoint at once, the rest of its deliveries waiting in its lane,
// and while a lane is full its endpoint's deliveries are left unclaimed
// (Claim's skip), so that a slow or dead receiver holds PerEndpoint
// attempts and nothing else. One recorder writes the outcomes in groups.
// Set the fields, then call Run once.
type Worker struct {
	Queue  Queue
	Client *Client
	Log    *slog.Logger // nil discards
	// Wake, when it receives, makes the worker look for deliveries now:
	// the service signals it after committing a transaction that queued
	// some. Other nodes' deliveries are found by polling.
	Wake <-chan struct{}

	Batch         int           // deliveries claimed at once
	PerEndpoint   int           // attempts to one endpoint at once
	MaxInFlight   int           // attempts at once in all
	Lease         time.Duration // how long a claim lasts
	Poll          time.Duration // how often to look for due deliveries when not woken
	ShutdownGrace time.Duration

	// OnDelivered and OnFailed are called for each attempt (metrics), from
	// several goroutines at once; each may be nil.
	OnDelivered, OnFailed func()
	// Background, when set, is called first by each goroutine Run starts.
	Background func()
}

type settings struct {
	batch, perEndpoint, maxInFlight int
	lease, poll, grace              time.Duration
	log                             *slog.Logger
}

func (w *Worker) settings() settings {
	s := settings{
		batch:       outbox.OrDefault(w.Batch, DefaultBatch),
		perEndpoint: outbox.OrDefault(w.PerEndpoint, DefaultPerEndpoint),
		maxInFlight: outbox.OrDefault(w.MaxInFlight, DefaultMaxInFlight),
		lease:       outbox.OrDefault(w.Lease, DefaultLease),
		poll:        outbox.OrDefault(w.Poll, DefaultPoll),
		grace:       outbox.OrDefault(w.ShutdownGrace, DefaultShutdownGrace),
		log:         w.Log,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

func (w *Worker) background() {
	if w.Background != nil {
		w.Background()
	}
}

// Run delivers until ctx ends, then gives back the deliveries it had not
// started, lets those in flight finish (ShutdownGrace at most) and records
// their outcomes. Errors from the queue are logged and retried at the
// next poll; Run returns an error only when the Worker lacks a Queue or a
// Client.
func (w *Worker) Run(ctx context.Context) error {
	if w.Queue == nil || w.Client == nil {
		return errors.New("webhook: Worker needs a Queue and a Client")
	}
	w.background()
	s := w.settings()
	results := make(chan Result, s.batch)
	room := make(chan struct{}, 1)
	l := &lanes{w: w, s: s, ctx: ctx, results: results, room: room, byEndpoint: map[string]*lane{}}
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		w.background()
		w.record(ctx, s, results)
	}()

	w.feed(ctx, s, l, room)

	l.stop()
	close(results)
	<-recorded
	return nil
}

// feed claims deliveries and hands them to the lanes until ctx ends: at
// once while batches come back full, else when woken, when a full lane
// makes room, or when Poll has passed.
func (w *Worker) feed(ctx context.Context, s settings, l *lanes, room <-chan struct{}) {
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		batch, err := w.Queue.Claim(ctx, s.batch, s.lease, l.busy())
		if ctx.Err() != nil {
			if len(batch) > 0 {
				l.release(batch)
			}
			return
		}
		if err != nil {
			s.log.Error("webhook: cannot claim deliveries", "err", err)
		}
		l.add(batch)
		if err == nil && len(batch) == s.batch {
			continue
		}
		poll.Reset(s.poll)
		select {
		case <-ctx.Done():
			return
		case <-w.Wake:
		case <-room:
		case <-poll.C:
		}
	}
}

// lanes are the endpoints' queues on this node.
type lanes struct {
	w       *Worker
	s       settings
	ctx     context.Context
	results chan<- Result
	room    chan<- struct{}

	mu         sync.Mutex
	byEndpoint map[string]*lane
	inFlight   int
	stopped    bool
	wg         sync.WaitGroup
}

type lane struct {
	waiting []waiting
	running int
}

type waiting struct {
	d       Delivery
	startBy time.Time
}

// full is the lane's limit: PerEndpoint attempts running and as many
// waiting, so that the next claim arrives before the lane runs dry.
func (l *lanes) full(ln *lane) bool { return len(ln.waiting)+ln.running >= 2*l.s.perEndpoint }

// busy lists the endpoints whose lanes are full.
func (l *lanes) busy() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, ln := range l.byEndpoint {
		if l.full(ln) {
			ids = append(ids, id)
		}
	}
	return ids
}

// add puts claimed deliveries in their lanes and starts what may start. A
// delivery not started within half its lease is given back instead, so
// that no delivery is sent while another node may hold it.
func (l *lanes) add(batch []Delivery) {
	startBy := time.Now().Add(l.s.lease / 2)
	l.mu.Lock()
	for _, d := range batch {
		ln := l.byEndpoint[d.EndpointID]
		if ln == nil {
			ln = &lane{}
			l.byEndpoint[d.EndpointID] = ln
		}
		ln.waiting = append(ln.waiting, waiting{d, startBy})
	}
	expired := l.startLocked()
	l.mu.Unlock()
	l.release(expired)
}

// startLocked starts attempts in every lane as far as the limits allow,
// and returns the deliveries whose time to start has passed.
func (l *lanes) startLocked() []Delivery {
	var expired []Delivery
	now := time.Now()
	for id, ln := range l.byEndpoint {
		for len(ln.waiting) > 0 && ln.running < l.s.perEndpoint && l.inFlight < l.s.maxInFlight && !l.stopped {
			next := ln.waiting[0]
			ln.waiting = ln.waiting[1:]
			if now.After(next.startBy) {
				expired = append(expired, next.d)
				continue
			}
			ln.running++
			l.inFlight++
			l.wg.Go(func() {
				l.w.background()
				l.attempt(next.d)
			})
		}
		if len(ln.waiting) == 0 && ln.running == 0 {
			delete(l.byEndpoint, id)
		}
	}
	return expired
}

// attempt sends one delivery, hands its outcome to the recorder and lets
// the lane go on.
func (l *lanes) attempt(d Delivery) {
	ctx, cancel := outbox.GraceContext(l.ctx, 0, l.s.grace)
	a := l.w.Client.Send(ctx, d.Message)
	cancel()
	if a.Err == nil {
		call(l.w.OnDelivered)
	} else {
		call(l.w.OnFailed)
	}
	l.results <- Result{DeliveryID: d.ID, EndpointID: d.EndpointID, Attempt: d.Attempt, At: time.Now(), Answer: a}

	l.mu.Lock()
	ln := l.byEndpoint[d.EndpointID]
	wasFull := l.full(ln)
	ln.running--
	l.inFlight--
	expired := l.startLocked()
	if wasFull && !l.stopped {
		select {
		case l.room <- struct{}{}:
		default:
		}
	}
	l.mu.Unlock()
	l.release(expired)
}

// stop starts nothing more, gives back what waits, and waits for the
// attempts in flight.
func (l *lanes) stop() {
	l.mu.Lock()
	l.stopped = true
	var waiting []Delivery
	for _, ln := range l.byEndpoint {
		for _, w := range ln.waiting {
			waiting = append(waiting, w.d)
		}
		ln.waiting = nil
	}
	l.mu.Unlock()
	l.release(waiting)
	l.wg.Wait()
}

// release gives deliveries back to the queue.
func (l *lanes) release(ds []Delivery) {
	if len(ds) == 0 {
		return
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	ctx, cancel := outbox.Bookkeeping(l.ctx, bookkeepingTimeout)
	defer cancel()
	if err := l.w.Queue.Release(ctx, ids); err != nil {
		l.s.log.Error("webhook: cannot give deliveries back; they return when their lease ends", "ids", ids, "err", err)
	}
}

// record writes outcomes until the lanes are done: each time, all that
// have arrived (up to a batch), in one call.
func (w *Worker) record(ctx context.Context, s settings, results <-chan Result) {
	var group []Result
	for r := range results {
		group = outbox.Gather(group, r, results, s.batch)
		rctx, cancel := outbox.Bookkeeping(ctx, bookkeepingTimeout)
		if err := w.Queue.Record(rctx, group); err != nil {
			s.log.Error("webhook: attempts made but not recorded; they are made again when their lease ends",
				"count", len(group), "err", err)
		}
		cancel()
	}
}

func call(f func()) {
	if f != nil {
		f()
	}
}
