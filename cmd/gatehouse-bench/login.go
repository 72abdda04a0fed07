package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
	"github.com/gatehouse/gatehouse/password"
)

// measureHashing times n single argon2id hashes with the default
// parameters, one at a time, and returns the median; then it runs
// NumCPU goroutines hashing at once for d and returns their rate.
func measureHashing(ctx context.Context, n int, d time.Duration) (single time.Duration, perSecond float64, err error) {
	defer debug.FreeOSMemory() // give the hashes' memory back before the servers run
	hs := password.NewHasher(password.DefaultParams, runtime.NumCPU(), time.Minute)
	if _, err := hs.Hash(ctx, benchPassword); err != nil { // warm-up
		return 0, 0, err
	}
	var times []time.Duration
	for range n {
		start := time.Now()
		if _, err := hs.Hash(ctx, benchPassword); err != nil {
			return 0, 0, err
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	single = times[len(times)/2]

	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var done atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for pctx.Err() == nil {
				if _, err := hs.Hash(context.Background(), benchPassword); err == nil {
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return single, float64(done.Load()) / time.Since(start).Seconds(), nil
}

// login: throughput against the hash-bound limit at each concurrency, on
// SQLite and PostgreSQL.
func (h *harness) login(ctx context.Context) error {
	fmt.Fprintln(h.out, "POST /api/v1/login, each client an account of its own, against the hash-bound limit measured now")
	limit, err := h.hashRate(ctx)
	if err != nil {
		return err
	}
	for _, db := range []string{"SQLite", "PostgreSQL"} {
		what := "logins/s ÷ hash-bound limit, worst of " + levelsText(h.opts.loginLevels) + " clients, " + db
		errWhat := "errors other than 503, " + db
		dir, err := h.dir("login-" + db)
		if err != nil {
			return err
		}
		cfg := gatehouseConfig{name: "login-" + db, dataDir: dir}
		if db == "PostgreSQL" {
			u, drop, why := h.postgres(ctx)
			if why != "" {
				fmt.Fprintf(h.out, "\n%s: skipped (%s)\n", db, why)
				h.add(loadgen.Target{Scenario: "login", What: what, Op: ">=", Bound: 0.95, Unit: "×", Skipped: why})
				h.add(loadgen.Target{Scenario: "login", What: errWhat, Op: "<=", Bound: 0, Skipped: why})
				continue
			}
			defer drop()
			cfg.databaseURL = u
		}
		if err := seed(ctx, dir, cfg.databaseURL, standard, h.out); err != nil {
			return err
		}
		g, err := h.start(ctx, cfg, standard)
		if err != nil {
			return err
		}
		c := g.client(512)
		email := func(client int) string { return standard.account(client) }
		loadgen.Run(ctx, loadgen.Config{Clients: 2, Duration: h.opts.warmup}, logins(c, email))
		var rows []loadgen.Row
		worst, worstAt, others := math.Inf(1), 0, 0
		for _, level := range h.opts.loginLevels {
			rep, peak := h.measureFor(ctx, h.opts.loginDuration, g.node, level, logins(c, email))
			st := rep.Get("login")
			busy := st.Count("503 ")
			others += st.Errors - busy
			r := st.PerSecond / limit
			if r < worst || math.IsNaN(r) {
				worst, worstAt = r, level
			}
			rows = append(rows, loadgen.Row{Label: db, Clients: level, Stats: st, PeakRSS: peak,
				Note: fmt.Sprintf("  %.2f× limit, %d×503", r, busy)})
			// Let the refused clients' queue drain before the next level.
			loadgen.Sleep(ctx, 500*time.Millisecond)
		}
		g.stop()
		fmt.Fprintln(h.out)
		loadgen.WriteRows(h.out, rows)
		h.add(loadgen.Target{Scenario: "login", What: what, Value: worst, Op: ">=", Bound: 0.95, Unit: "×",
			Detail: fmt.Sprintf("worst at %d clients; limit %.1f/s (cores hashing at once: %.1f/s)", worstAt, limit, h.parallelHash)})
		h.add(loadgen.Target{Scenario: "login", What: errWhat, Value: float64(others), Op: "<=", Bound: 0})
	}
	return nil
}

func levelsText(levels []int) string {
	if len(levels) == 0 {
		return "no"
	}
	return fmt.Sprintf("%d–%d", slices.Min(levels), slices.Max(levels))
}

// flood: session checks beside a flood of logins at ten times what the
// hashing can take.
func (h *harness) flood(ctx context.Context) error {
	fmt.Fprintln(h.out, "16 clients of session checks, alone and beside an open-loop flood of logins at 10× the hash-bound limit")
	limit, err := h.hashRate(ctx)
	if err != nil {
		return err
	}
	dir, err := h.seeded(ctx, "flood", standard)
	if err != nil {
		return err
	}
	g, err := h.start(ctx, gatehouseConfig{name: "flood", dataDir: dir}, standard)
	if err != nil {
		return err
	}
	defer g.stop()
	var emails []string
	for i := range 16 {
		emails = append(emails, standard.account(i))
	}
	tokens, err := loginAll(ctx, g.client(8), emails)
	if err != nil {
		return err
	}
	mc := g.client(16)
	loadgen.Run(ctx, loadgen.Config{Clients: 16, Duration: h.opts.warmup}, checks(mc, tokens))
	alone, ap := h.measure(ctx, g.node, 16, checks(mc, tokens))

	rate := 10 * limit
	fc := g.client(4096)
	var floodRep *loadgen.Report
	floodDone := make(chan struct{})
	go func() {
		defer close(floodDone)
		floodRep = loadgen.RunRate(ctx, rate, h.opts.settle+h.opts.duration, 4096, func(ctx context.Context, i int, rec *loadgen.Recorder) {
			e := standard.account(16 + i%(standard.Users()-16))
			rec.Time(ctx, "login", func() error { _, err := fc.Login(ctx, e, benchPassword); return err })
		})
	}()
	loadgen.Sleep(ctx, h.opts.settle) // the hashing queue fills
	during, dp := h.measure(ctx, g.node, 16, checks(mc, tokens))
	<-floodDone
	fl := floodRep.Get("login")
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, []loadgen.Row{
		{Label: "session checks alone", Clients: 16, Stats: alone.Get("me"), PeakRSS: ap},
		{Label: "session checks during flood", Clients: 16, Stats: during.Get("me"), PeakRSS: dp},
		{Label: fmt.Sprintf("flood logins (offered %.0f/s)", rate), Stats: fl,
			Note: fmt.Sprintf("  %d×503, %.2f× limit served", fl.Count("503 "), fl.PerSecond/limit)},
	})
	d := during.Get("me")
	p99 := loadgen.Millis(d.P99)
	if d.OK == 0 {
		p99 = math.NaN()
	}
	h.add(loadgen.Target{Scenario: "flood", What: "session-check p99 during a 10× login flood", Value: p99,
		Op: "<", Bound: 20, Unit: " ms", Detail: fmt.Sprintf("alone %.1f ms; flood served %.1f logins/s", loadgen.Millis(alone.Get("me").P99), fl.PerSecond)})
	if d.Errors > 0 {
		h.add(loadgen.Target{Scenario: "flood", What: "session-check errors during the flood", Value: float64(d.Errors), Op: "<=", Bound: 0})
	}
	return nil
}

// memory: idle resident set after start, and the peak during 256
// concurrent logins.
func (h *harness) memory(ctx context.Context) error {
	fmt.Fprintln(h.out, "resident set (VmRSS) after start and settling, and its peak (VmHWM) during 256 concurrent logins")
	dir, err := h.seeded(ctx, "memory", standard)
	if err != nil {
		return err
	}
	g, err := h.start(ctx, gatehouseConfig{name: "memory", dataDir: dir}, standard)
	if err != nil {
		return err
	}
	defer g.stop()
	loadgen.Sleep(ctx, h.opts.settle)
	idle, err := loadgen.ReadMemory(g.pid())
	if err != nil {
		return err
	}
	fmt.Fprintf(h.out, "idle after %s: VmRSS %s\n", h.opts.settle, loadgen.MB(idle.RSS))
	c := g.client(256)
	w := loadgen.WatchPeak(g.pid(), 50*time.Millisecond)
	rep := loadgen.Run(ctx, loadgen.Config{Clients: 256, Duration: h.opts.loginDuration},
		logins(c, func(client int) string { return standard.account(client) }))
	peak, exact := w.Stop()
	how := "VmHWM"
	if !exact {
		how = "largest VmRSS sampled every 50 ms (VmHWM could not be reset)"
	}
	st := rep.Get("login")
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, []loadgen.Row{{Label: "logins", Clients: 256, Stats: st, PeakRSS: peak,
		Note: fmt.Sprintf("  %d×503", st.Count("503 "))}})
	mb := func(b uint64) float64 { return float64(b) / (1 << 20) }
	h.add(loadgen.Target{Scenario: "memory", What: "idle RSS", Value: mb(idle.RSS), Op: "<", Bound: 30, Unit: " MB",
		Detail: fmt.Sprintf("%s after start", h.opts.settle)})
	h.add(loadgen.Target{Scenario: "memory", What: "peak RSS, 256 concurrent logins", Value: mb(peak), Op: "<", Bound: 200, Unit: " MB",
		Detail: how})
	return nil
}
