package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
)

// waitMailIdle waits until the node's outbox is empty and its reset
// requests are all turned into mail (the queued count stands still).
func waitMailIdle(ctx context.Context, g *instance, limit time.Duration) {
	deadline := time.Now().Add(limit)
	lastQueued, still := -1.0, 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pending, ok1, _ := g.metric(ctx, "gatehouse_mail_pending")
		queued, ok2, _ := g.metric(ctx, `gatehouse_mail_queued_total{template="password_reset"}`)
		if !ok1 {
			return // nothing to watch
		}
		if pending == 0 && (!ok2 || queued == lastQueued) {
			if still++; still >= 2 {
				return
			}
		} else {
			still = 0
		}
		lastQueued = queued
		loadgen.Sleep(ctx, 200*time.Millisecond)
	}
}

// mail: the outbox's delivery rate to a local SMTP server, and logins
// during a burst of reset requests.
func (h *harness) mail(ctx context.Context) error {
	fmt.Fprintln(h.out, "reset mail through the outbox to an SMTP sink in the harness; logins at a steady rate with and without a burst of reset requests")
	limit, err := h.hashRate(ctx)
	if err != nil {
		return err
	}
	n, burst := h.opts.mailCount, h.opts.burstCount
	const loginAccounts = 256
	first := 1000 // accounts below this log in; those above get mail
	p := population{Companies: (first+n+burst)/100 + 1, PerCompany: 100}
	dir, err := h.seeded(ctx, "mail", p)
	if err != nil {
		return err
	}
	sk, err := h.sink()
	if err != nil {
		return err
	}
	g, err := h.start(ctx, gatehouseConfig{name: "mail", dataDir: dir, smtp: true}, p)
	if err != nil {
		return err
	}
	defer g.stop()

	// Delivery: fill the outbox while the sink holds every MAIL command,
	// then let go and time the deliveries.
	base := sk.count()
	sk.hold()
	c := g.client(32)
	start := time.Now()
	errs := sendResets(ctx, c, 32, n, func(i int) string { return p.account(first + i) })
	sent := time.Since(start)
	fmt.Fprintf(h.out, "%d reset requests answered in %s (%.0f/s), %d errors\n", n, sent.Round(time.Millisecond), float64(n)/sent.Seconds(), errs)
	queuedBy := time.Now().Add(max(0, 25*time.Second-sent))
	for time.Now().Before(queuedBy) && ctx.Err() == nil {
		q, ok, _ := g.metric(ctx, `gatehouse_mail_queued_total{template="password_reset"}`)
		if !ok || q >= float64(n) {
			break
		}
		loadgen.Sleep(ctx, 100*time.Millisecond)
	}
	queued, ok, _ := g.metric(ctx, `gatehouse_mail_queued_total{template="password_reset"}`)
	early := sk.count() - base
	if ok {
		fmt.Fprintf(h.out, "outbox filled: %.0f reset mails queued, %d delivered past the hold; releasing the sink\n", queued, early)
	} else {
		fmt.Fprintf(h.out, "no gatehouse_mail_queued_total in /metrics: releasing the sink without knowing the outbox is full\n")
	}
	sk.release()
	deadline := time.Now().Add(60*time.Second + time.Duration(n)*10*time.Millisecond)
	for sk.count()-base < n && time.Now().Before(deadline) && ctx.Err() == nil {
		loadgen.Sleep(ctx, 20*time.Millisecond)
	}
	arr := sk.since(base)
	rate, detail := math.NaN(), fmt.Sprintf("%d of %d mails arrived", len(arr), n)
	if len(arr) > 1 {
		span := arr[len(arr)-1].Sub(arr[0])
		rate = loadgen.Ratio(float64(len(arr)-1), span.Seconds())
		detail += fmt.Sprintf(", first to last in %s", span.Round(time.Millisecond))
	}
	fmt.Fprintf(h.out, "delivered: %s: %.0f mails/s\n", detail, rate)
	h.add(loadgen.Target{Scenario: "mail", What: "outbox delivery to a local SMTP server", Value: rate, Op: ">=", Bound: 500, Unit: "/s", Detail: detail})

	// Logins at half the hash-bound limit, open loop, without and then
	// with a burst of reset requests; the second run lasts until the
	// burst's mail has all arrived.
	rate = max(1, limit/2)
	lc := g.client(loginAccounts)
	loginAt := func(ctx context.Context, d time.Duration) *loadgen.Report {
		return loadgen.RunRate(ctx, rate, d, loginAccounts, func(ctx context.Context, i int, rec *loadgen.Recorder) {
			e := p.account(i % loginAccounts)
			rec.Time(ctx, "login", func() error { _, err := lc.Login(ctx, e, benchPassword); return err })
		})
	}
	waitMailIdle(ctx, g, 30*time.Second)
	quietCPU := measureCPU(g.node)
	quiet := loginAt(ctx, h.opts.loginDuration)
	quietUse := quietCPU()

	bctx, stopLogins := context.WithCancel(ctx)
	defer stopLogins()
	base = sk.count()
	var burstErrs int
	var burstTook time.Duration
	var sendingUse cpuUse
	done := make(chan struct{})
	go func() {
		defer close(done)
		began := time.Now()
		loadgen.Sleep(bctx, h.opts.duration/10) // logins first, then the burst lands on them
		t := time.Now()
		burstCPU := measureCPU(g.node)
		burstErrs = sendResets(ctx, c, 32, burst, func(i int) string { return p.account(first + n + i) })
		burstTook = time.Since(t)
		sendingUse = burstCPU()
		for sk.count()-base < burst && bctx.Err() == nil {
			loadgen.Sleep(bctx, 20*time.Millisecond)
		}
		// At least a full run of logins, and a moment after the last mail.
		loadgen.Sleep(bctx, max(h.opts.duration/10, time.Until(began.Add(h.opts.loginDuration))))
		stopLogins()
	}()
	busy := loginAt(bctx, max(h.opts.duration, 2*time.Minute))
	stopLogins()
	<-done
	fmt.Fprintf(h.out, "burst: %d reset requests answered in %s, %d errors; %d mails arrived while logins ran\n",
		burst, burstTook.Round(time.Millisecond), burstErrs, sk.count()-base)
	fmt.Fprintf(h.out, "processor time, %d cores: logins alone %s; while the burst was sent %s\n", runtime.NumCPU(), quietUse, sendingUse)
	q, b := quiet.Get("login"), busy.Get("login")
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, []loadgen.Row{
		{Label: fmt.Sprintf("logins at %.1f/s, quiet", rate), Stats: q},
		{Label: fmt.Sprintf("logins at %.1f/s, burst of %d", rate, burst), Stats: b},
	})
	h.add(loadgen.Target{Scenario: "mail", What: fmt.Sprintf("login p99 during a burst of %d resets ÷ quiet", burst),
		Value: ratioOf(b, q, func(s loadgen.Stats) float64 { return loadgen.Millis(s.P99) }), Op: "<=", Bound: 1.2, Unit: "×",
		Detail: fmt.Sprintf("p99 %.1f vs %.1f ms, p50 %.1f vs %.1f ms", loadgen.Millis(b.P99), loadgen.Millis(q.P99), loadgen.Millis(b.P50), loadgen.Millis(q.P50))})
	h.add(loadgen.Target{Scenario: "mail", What: "errors during the burst (logins and resets)",
		Value: float64(b.Errors + burstErrs), Op: "<=", Bound: 0, Detail: fmt.Sprintf("%d login, %d reset", b.Errors, burstErrs)})
	return nil
}

// sendResets sends count reset requests, workers at a time, and returns
// how many failed.
func sendResets(ctx context.Context, c loadgen.Client, workers, count int, email func(i int) string) int {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= count {
					return
				}
				if err := resetRequest(ctx, c, email(i)); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}
