package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
)

// crowdQueueWait is the --hash-queue-wait the crowd scenario starts
// Gatehouse with (serve's default), which its targets are measured against.
const crowdQueueWait = 2 * time.Second

// crowdLevels are the crowd scenario's closed-loop login clients: the
// first is the rate the others are compared with, the last is beyond
// what the queue wait holds (2 s × about 90 logins a second on 2 cores).
var crowdLevels = []int{2, 32, 128, 512}

// crowd: logins under a crowd (issue 14). Closed-loop logins at each of
// crowdLevels on one node, each client an account of its own that waits
// Retry-After when refused, then session checks at 64 connections against
// the bare handler, in the same run.
func (h *harness) crowd(ctx context.Context) error {
	fmt.Fprintf(h.out, "POST /api/v1/login in a closed loop at %v clients, queue wait %s; then GET /api/v1/me at 64 connections against a bare net/http handler\n",
		crowdLevels, crowdQueueWait)
	if _, err := h.hashRate(ctx); err != nil {
		return err
	}
	dir, err := h.seeded(ctx, "crowd", standard)
	if err != nil {
		return err
	}
	g, err := h.start(ctx, gatehouseConfig{name: "crowd", dataDir: dir,
		args: []string{"--hash-queue-wait", crowdQueueWait.String()}}, standard)
	if err != nil {
		return err
	}
	defer g.stop()
	loadgen.Run(ctx, loadgen.Config{Clients: 2, Duration: h.opts.warmup},
		crowdLogins(g.client(2), func(client int) string { return standard.account(client) }, nil, crowdQueueWait))

	runs := map[int]crowdRun{}
	var rows []loadgen.Row
	for _, level := range crowdLevels {
		if err := waitIdle(ctx, g.node); err != nil {
			return err
		}
		r := h.crowdRun(ctx, g, level)
		runs[level] = r
		rows = append(rows, r.row())
	}
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, rows)
	for _, level := range crowdLevels {
		if r := runs[level]; r.queueSamples > 0 {
			perLogin := "-"
			if r.login.OK > 0 {
				perLogin = fmt.Sprintf("%.1f ms", loadgen.Millis(r.cpu.node)/float64(r.login.OK))
			}
			fmt.Fprintf(h.out, "%d clients: hashing queue %.0f on average (gatehouse_hash_waiting, %d samples), the server's throughput %.1f hashes/s; %d refused, %d of them after waiting; processor time %s, gatehouse's %s a login served\n",
				level, r.meanWaiting, r.queueSamples, r.throughput, r.login.Count("503 "), r.late, r.cpu, perLogin)
		}
	}

	// Session checks in the same run, once the crowd has gone.
	if err := waitIdle(ctx, g.node); err != nil {
		return err
	}
	var emails []string
	for i := range 64 {
		emails = append(emails, standard.account(i))
	}
	tokens, err := loginAll(ctx, g.client(8), emails)
	if err != nil {
		return err
	}
	bare, err := h.startBaseline(ctx, g, tokens[0])
	if err != nil {
		return err
	}
	defer bare.stop()
	checks := h.compareChecks(ctx, g, bare, 64, tokens)
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, checks.rows())

	base := runs[crowdLevels[0]].login
	hashBound := loadgen.Millis(crowdQueueWait + h.singleHash)
	refusedSmall, worstP99, worstAt := 0, 0.0, 0
	for _, level := range crowdLevels[:len(crowdLevels)-1] {
		st := runs[level].login
		refusedSmall += st.Count("503 ")
		if p := p99Millis(st); p > worstP99 || math.IsNaN(p) {
			worstP99, worstAt = p, level
		}
	}
	small := levelsText(crowdLevels[:len(crowdLevels)-1])
	h.add(loadgen.Target{Scenario: "crowd", What: "logins refused (503), " + small + " clients", Value: float64(refusedSmall), Op: "<=", Bound: 0})
	for _, level := range crowdLevels[1 : len(crowdLevels)-1] {
		st := runs[level].login
		h.add(loadgen.Target{Scenario: "crowd", What: fmt.Sprintf("logins/s at %d clients ÷ at %d", level, crowdLevels[0]),
			Value: ratioOf(st, base, func(s loadgen.Stats) float64 { return s.PerSecond }), Op: ">=", Bound: 0.9, Unit: "×",
			Detail: fmt.Sprintf("%.1f/s vs %.1f/s", st.PerSecond, base.PerSecond)})
	}
	h.add(loadgen.Target{Scenario: "crowd", What: "p99 of served logins, worst of " + small + " clients", Value: worstP99,
		Op: "<=", Bound: hashBound, Unit: " ms",
		Detail: fmt.Sprintf("at %d clients; bound: queue wait %s + one hash %s", worstAt, crowdQueueWait, h.singleHash.Round(100*time.Microsecond))})

	last := crowdLevels[len(crowdLevels)-1]
	over := runs[last]
	h.add(loadgen.Target{Scenario: "crowd", What: fmt.Sprintf("served logins/s at %d clients ÷ at %d", last, crowdLevels[0]),
		Value: ratioOf(over.login, base, func(s loadgen.Stats) float64 { return s.PerSecond }), Op: ">=", Bound: 0.9, Unit: "×",
		Detail: fmt.Sprintf("%.1f/s vs %.1f/s; %d refused", over.login.PerSecond, base.PerSecond, over.login.Count("503 "))})
	// Refusals only for the overflow: nobody refused after waiting (the
	// estimate let in only whom the queue could serve), and the queue
	// held what the queue wait allows (it refused nobody it could serve).
	h.add(loadgen.Target{Scenario: "crowd", What: fmt.Sprintf("refused after waiting out the queue, %d clients", last),
		Value: float64(over.late), Op: "<=", Bound: 0,
		Detail: fmt.Sprintf("of %d refused; refusals' p99 %.1f ms", over.login.Count("503 "), p99Millis(over.refused))})
	held := math.NaN()
	if over.queueSamples > 0 && over.login.PerSecond > 0 {
		held = over.meanWaiting / (over.login.PerSecond * crowdQueueWait.Seconds())
	}
	h.add(loadgen.Target{Scenario: "crowd", What: fmt.Sprintf("queue held ÷ what the queue wait allows, %d clients", last),
		Value: held, Op: ">=", Bound: 0.9, Unit: "×",
		Detail: fmt.Sprintf("%.0f waiting on average vs %.1f/s × %s", over.meanWaiting, over.login.PerSecond, crowdQueueWait)})
	h.add(checks.rateTarget("crowd"))
	h.add(checks.p99Target("crowd"))
	if t, ok := checks.errorTarget("crowd"); ok {
		h.add(t)
	}
	return nil
}

// crowdRun is what one level of the crowd measured.
type crowdRun struct {
	clients      int
	login        loadgen.Stats // served logins (errors: refusals and others)
	refused      loadgen.Stats // the latencies of the 503 answers
	late         int64         // 503s that came after the queue wait
	peak         uint64
	meanWaiting  float64 // gatehouse_hash_waiting, sampled
	queueSamples int
	throughput   float64 // gatehouse_hash_throughput at the end
	cpu          cpuUse
}

func (r crowdRun) row() loadgen.Row {
	return loadgen.Row{Label: "logins", Clients: r.clients, Stats: r.login, PeakRSS: r.peak,
		Note: fmt.Sprintf("  %d×503 (%d after waiting)", r.login.Count("503 "), r.late)}
}

// crowdRun runs level clients of logins for the login duration, sampling
// the node's hashing queue meanwhile.
func (h *harness) crowdRun(ctx context.Context, g *instance, level int) crowdRun {
	var late atomic.Int64
	sctx, stop := context.WithCancel(ctx)
	var samples []float64
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-tick.C:
			}
			if v, ok, _ := g.metric(sctx, "gatehouse_hash_waiting"); ok {
				samples = append(samples, v)
			}
		}
	})
	cpu := measureCPU(g.node)
	rep, peak := h.measureFor(ctx, h.opts.loginDuration, g.node, level,
		crowdLogins(g.client(level), func(client int) string { return standard.account(client) }, &late, crowdQueueWait))
	use := cpu()
	stop()
	wg.Wait()
	r := crowdRun{clients: level, login: rep.Get("login"), refused: rep.Get("refused"), late: late.Load(), peak: peak,
		queueSamples: len(samples), cpu: use}
	for _, v := range samples {
		r.meanWaiting += v / float64(len(samples))
	}
	r.throughput, _, _ = g.metric(ctx, "gatehouse_hash_throughput")
	return r
}

// crowdLogins is a login client that times its refusals apart (as
// "refused"), counts in late those that came after queueWait, and waits
// Retry-After before trying again.
func crowdLogins(c loadgen.Client, email func(client int) string, late *atomic.Int64, queueWait time.Duration) loadgen.Scenario {
	return func(ctx context.Context, client int, rec *loadgen.Recorder) {
		e := email(client)
		for ctx.Err() == nil {
			start := time.Now()
			err := rec.Time(ctx, "login", func() error { _, err := c.Login(ctx, e, benchPassword); return err })
			if err == nil {
				continue
			}
			var se *loadgen.StatusError
			if errors.As(err, &se) && se.Status == 503 && ctx.Err() == nil {
				took := time.Since(start)
				rec.Observe("refused", took, nil)
				if late != nil && took >= queueWait {
					late.Add(1)
				}
			}
			backoff(ctx, err)
		}
	}
}

// waitIdle waits until the node hashes nothing and nobody waits to: the
// requests of the run before, cut off by its end, have gone.
func waitIdle(ctx context.Context, n *node) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		running, ok1, err1 := n.metric(ctx, "gatehouse_hash_running")
		waiting, ok2, err2 := n.metric(ctx, "gatehouse_hash_waiting")
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if !ok1 || !ok2 {
			return errors.New("/metrics has no gatehouse_hash_running or gatehouse_hash_waiting")
		}
		if running == 0 && waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the hashing queue did not empty in 30s: %v running, %v waiting", running, waiting)
		}
		loadgen.Sleep(ctx, 50*time.Millisecond)
	}
}

// p99Millis is the p99 of a run's successes in milliseconds, NaN when
// there were none.
func p99Millis(s loadgen.Stats) float64 {
	if s.OK == 0 {
		return math.NaN()
	}
	return loadgen.Millis(s.P99)
}
