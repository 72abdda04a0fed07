package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
	"github.com/gatehouse/gatehouse/password"
)

// standard is the population of the scenarios that need many distinct
// accounts but not a large database: every concurrent login client has an
// account of its own (the per-account throttle counts logins in flight).
var standard = population{Companies: 20, PerCompany: 250}

// measure runs scenario on clients for the run's duration and returns
// the report with the node's peak resident set during it.
func (h *harness) measure(ctx context.Context, n *node, clients int, sc loadgen.Scenario) (*loadgen.Report, uint64) {
	return h.measureFor(ctx, h.opts.duration, n, clients, sc)
}

// measureFor is measure for d.
func (h *harness) measureFor(ctx context.Context, d time.Duration, n *node, clients int, sc loadgen.Scenario) (*loadgen.Report, uint64) {
	w := loadgen.WatchPeak(n.pid(), 50*time.Millisecond)
	rep := loadgen.Run(ctx, loadgen.Config{Clients: clients, Duration: d}, sc)
	peak, _ := w.Stop()
	return rep, peak
}

func (g *instance) client(conns int) loadgen.Client {
	return loadgen.Client{Base: g.base, HTTP: loadgen.NewHTTPClient(conns)}
}

// backoff waits as a polite client does after a refusal: Retry-After
// when the answer had one, else a moment.
func backoff(ctx context.Context, err error) {
	d := 100 * time.Millisecond
	var se *loadgen.StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		d = se.RetryAfter
	}
	loadgen.Sleep(ctx, d)
}

// loginAll logs the accounts in, a few at a time, and returns their
// session tokens.
func loginAll(ctx context.Context, c loadgen.Client, emails []string) ([]string, error) {
	tokens := make([]string, len(emails))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := atomic.Int64{}
	for range min(len(emails), runtime.NumCPU()*2) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(emails) {
					return
				}
				var err error
				for try := 0; try < 20; try++ {
					if tokens[i], err = c.Login(ctx, emails[i], benchPassword); err == nil {
						break
					}
					backoff(ctx, err)
				}
				if err != nil {
					mu.Lock()
					firstErr = cmp(firstErr, fmt.Errorf("log in %s: %w", emails[i], err))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return tokens, firstErr
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// checks is a session-check client: GET /api/v1/me over and over with
// the client's token.
func checks(c loadgen.Client, tokens []string) loadgen.Scenario {
	return func(ctx context.Context, client int, rec *loadgen.Recorder) {
		token := tokens[client%len(tokens)]
		for ctx.Err() == nil {
			rec.Time(ctx, "me", func() error { return c.Me(ctx, token) })
		}
	}
}

// logins is a login client: each logs in as an account of its own over
// and over, honouring Retry-After when refused.
func logins(c loadgen.Client, email func(client int) string) loadgen.Scenario {
	return func(ctx context.Context, client int, rec *loadgen.Recorder) {
		e := email(client)
		for ctx.Err() == nil {
			err := rec.Time(ctx, "login", func() error { _, err := c.Login(ctx, e, benchPassword); return err })
			if err != nil {
				backoff(ctx, err)
			}
		}
	}
}

// ratioOf compares a figure of two runs, a's ÷ b's; NaN (never met) when
// either run had no successful request, so that a run that measured
// nothing cannot pass for a fast one.
func ratioOf(a, b loadgen.Stats, figure func(loadgen.Stats) float64) float64 {
	if a.OK == 0 || b.OK == 0 {
		return math.NaN()
	}
	return loadgen.Ratio(figure(a), figure(b))
}

// only returns the figures of a run that timed one kind of request.
func only(rep *loadgen.Report) loadgen.Stats {
	if all := rep.Stats(); len(all) > 0 {
		return all[0]
	}
	return loadgen.Stats{}
}

// forwarded numbers the reset requests' client addresses: each request
// comes from an address of its own, as from many people behind a proxy.
var forwarded atomic.Uint32

func nextAddress() string {
	n := forwarded.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)
}

// resetRequest asks for a reset mail for email from an address of its own.
func resetRequest(ctx context.Context, c loadgen.Client, email string) error {
	c.ForwardedFor = nextAddress()
	return c.RequestReset(ctx, email)
}

// session-check: the call every request of the SaaS makes, against a
// bare handler that returns the same bytes, in the same run.
func (h *harness) sessionCheck(ctx context.Context) error {
	fmt.Fprintln(h.out, "GET /api/v1/me with a bearer token, against a bare net/http handler returning the same bytes")
	dir, err := h.seeded(ctx, "session-check", standard)
	if err != nil {
		return err
	}
	g, err := h.start(ctx, gatehouseConfig{name: "session-check", dataDir: dir}, standard)
	if err != nil {
		return err
	}
	defer g.stop()
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

	var rows []loadgen.Row
	type pair struct{ bare, gh loadgen.Stats }
	res := map[int]pair{}
	for _, conns := range []int{64, 16} {
		bc := loadgen.Client{Base: bare.base, HTTP: loadgen.NewHTTPClient(conns)}
		gc := g.client(conns)
		loadgen.Run(ctx, loadgen.Config{Clients: conns, Duration: h.opts.warmup}, checks(bc, tokens))
		loadgen.Run(ctx, loadgen.Config{Clients: conns, Duration: h.opts.warmup}, checks(gc, tokens))
		br, bp := h.measure(ctx, bare, conns, checks(bc, tokens))
		gr, gp := h.measure(ctx, g.node, conns, checks(gc, tokens))
		p := pair{br.Get("me"), gr.Get("me")}
		res[conns] = p
		rows = append(rows,
			loadgen.Row{Label: "bare handler", Clients: conns, Stats: p.bare, PeakRSS: bp},
			loadgen.Row{Label: "gatehouse", Clients: conns, Stats: p.gh, PeakRSS: gp,
				Note: fmt.Sprintf("  %.2f× the req/s, %.2f× the p99", loadgen.Ratio(p.gh.PerSecond, p.bare.PerSecond),
					loadgen.Ratio(loadgen.Millis(p.gh.P99), loadgen.Millis(p.bare.P99)))})
	}
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, rows)
	for _, conns := range []int{64, 16} {
		p := res[conns]
		h.add(loadgen.Target{Scenario: "session-check", What: fmt.Sprintf("req/s ÷ bare handler, %d conns", conns),
			Value: ratioOf(p.gh, p.bare, func(s loadgen.Stats) float64 { return s.PerSecond }), Op: ">=", Bound: 0.5, Unit: "×",
			Detail: fmt.Sprintf("%.0f/s vs %.0f/s", p.gh.PerSecond, p.bare.PerSecond)})
	}
	p := res[64]
	h.add(loadgen.Target{Scenario: "session-check", What: "p99 ÷ bare handler's, 64 conns",
		Value: ratioOf(p.gh, p.bare, func(s loadgen.Stats) float64 { return loadgen.Millis(s.P99) }), Op: "<=", Bound: 2, Unit: "×",
		Detail: fmt.Sprintf("%.1f ms vs %.1f ms", loadgen.Millis(p.gh.P99), loadgen.Millis(p.bare.P99))})
	for _, conns := range []int{64, 16} {
		if e := res[conns].gh.Errors + res[conns].bare.Errors; e > 0 {
			h.add(loadgen.Target{Scenario: "session-check", What: fmt.Sprintf("errors, %d conns", conns),
				Value: float64(e), Op: "<=", Bound: 0})
		}
	}
	return nil
}

// startBaseline captures Gatehouse's answer to GET /api/v1/me and starts
// the bare handler with it, as a process of its own like Gatehouse.
func (h *harness) startBaseline(ctx context.Context, g *instance, token string) (*node, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", g.base+"/api/v1/me", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/me: %s", resp.Status)
	}
	bodyPath, headerPath := filepath.Join(h.tmp, "me.json"), filepath.Join(h.tmp, "me.headers")
	if err := writeCapture(bodyPath, headerPath, resp.Header, body); err != nil {
		return nil, err
	}
	fmt.Fprintf(h.out, "captured GET /api/v1/me: %d bytes, %d headers (%s)\n", len(body), len(resp.Header), headerPath)
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	n, err := startNode("baseline", addr, filepath.Join(h.logs, "baseline.log"), h.self,
		"baseline", "--addr", addr, "--body", bodyPath, "--headers", headerPath)
	if err != nil {
		return nil, err
	}
	if _, err := n.waitReady(ctx, "/readyz", 5*time.Millisecond, time.Minute); err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
}

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

// large returns the SQLite database of --large-users users, seeding it
// the first time.
func (h *harness) large(ctx context.Context) (string, population, error) {
	p := population{Companies: h.opts.largeUsers / 100, PerCompany: 100}
	if h.largeDir != "" {
		return h.largeDir, p, nil
	}
	fmt.Fprintf(h.out, "seeding the large database: %d users in %d companies\n", p.Users(), p.Companies)
	d, err := h.seeded(ctx, "large", p)
	if err != nil {
		return "", p, err
	}
	h.largeDir = d
	return d, p, nil
}

// startup: exec to the first 200 from /readyz on an existing database of
// --large-users users.
func (h *harness) startup(ctx context.Context) error {
	fmt.Fprintln(h.out, "time from exec to the first 200 from /readyz on an existing SQLite database, polled every millisecond")
	dir, p, err := h.large(ctx)
	if err != nil {
		return err
	}
	// One start first, untimed: it makes the key file, as the first start
	// of any installation does, and warms the page cache.
	g, err := h.start(ctx, gatehouseConfig{name: "startup", dataDir: dir}, p)
	if err != nil {
		return err
	}
	g.stop()
	var times []time.Duration
	for range h.opts.starts {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		n, err := startNode("gatehouse startup", addr, filepath.Join(h.logs, "startup.log"), h.bin,
			"serve", "--addr", addr, "--data", dir)
		if err != nil {
			return err
		}
		d, err := n.waitReady(ctx, "/readyz", time.Millisecond, time.Minute)
		n.stop()
		if err != nil {
			return err
		}
		times = append(times, d)
	}
	fmt.Fprintf(h.out, "%d users: starts of", p.Users())
	for _, t := range times {
		fmt.Fprintf(h.out, " %.1f ms", loadgen.Millis(t))
	}
	fmt.Fprintln(h.out)
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	med := sorted[len(sorted)/2]
	h.add(loadgen.Target{Scenario: "startup", What: fmt.Sprintf("exec to ready, %d users, median of %d", p.Users(), len(times)),
		Value: loadgen.Millis(med), Op: "<", Bound: 100, Unit: " ms",
		Detail: fmt.Sprintf("min %.1f ms, max %.1f ms", loadgen.Millis(sorted[0]), loadgen.Millis(sorted[len(sorted)-1]))})
	return nil
}

// scaleOp is one request of the scale scenario.
type scaleOp struct {
	name    string
	clients int
	run     func(g *scaleSide) loadgen.Scenario
}

// scaleSide is one size of the scale scenario, logged in and ready.
type scaleSide struct {
	label   string
	g       *instance
	c       loadgen.Client
	members []string // session tokens of members
	admins  []string // session tokens of admins of different companies
	cursors []string // the cursor of a deep page, one per admin
	resets  []string // the emails reset requests go to
}

// scale: the same requests at 1,000 users and at --large-users users.
func (h *harness) scale(ctx context.Context) error {
	small := population{Companies: 10, PerCompany: 100}
	fmt.Fprintf(h.out, "the same requests at %d users and at %d, interleaved; cost ratio = small's req/s ÷ large's\n", small.Users(), h.opts.largeUsers)
	smallDir, err := h.seeded(ctx, "scale-small", small)
	if err != nil {
		return err
	}
	largeDir, large, err := h.large(ctx)
	if err != nil {
		return err
	}
	var sides []*scaleSide
	for _, s := range []struct {
		label string
		dir   string
		p     population
	}{{"small", smallDir, small}, {"large", largeDir, large}} {
		g, err := h.start(ctx, gatehouseConfig{name: "scale-" + s.label, dataDir: s.dir, smtp: true}, s.p)
		if err != nil {
			return err
		}
		defer g.stop()
		side, err := prepareScale(ctx, s.label, g, small.Users())
		if err != nil {
			return err
		}
		sides = append(sides, side)
	}
	const pageSize, deepPages = 10, 5
	ops := []scaleOp{
		{"session check", 16, func(s *scaleSide) loadgen.Scenario { return checks(s.c, s.members) }},
		{"user list, first page", 16, func(s *scaleSide) loadgen.Scenario {
			return func(ctx context.Context, client int, rec *loadgen.Recorder) {
				tok := s.admins[client%len(s.admins)]
				for ctx.Err() == nil {
					rec.Time(ctx, "req", func() error { _, err := s.c.ListUsers(ctx, tok, pageSize, ""); return err })
				}
			}
		}},
		{fmt.Sprintf("user list, page %d", deepPages+1), 16, func(s *scaleSide) loadgen.Scenario {
			return func(ctx context.Context, client int, rec *loadgen.Recorder) {
				i := client % len(s.admins)
				for ctx.Err() == nil {
					rec.Time(ctx, "req", func() error { _, err := s.c.ListUsers(ctx, s.admins[i], pageSize, s.cursors[i]); return err })
				}
			}
		}},
		{"login", 8, func(s *scaleSide) loadgen.Scenario {
			return func(ctx context.Context, client int, rec *loadgen.Recorder) {
				e := s.g.pop.member(client * (s.g.pop.Users() / 8))
				for ctx.Err() == nil {
					if err := rec.Time(ctx, "req", func() error { _, err := s.c.Login(ctx, e, benchPassword); return err }); err != nil {
						backoff(ctx, err)
					}
				}
			}
		}},
		{"reset request", 16, func(s *scaleSide) loadgen.Scenario {
			return func(ctx context.Context, client int, rec *loadgen.Recorder) {
				rnd := rand.New(rand.NewPCG(uint64(client), 1))
				for ctx.Err() == nil {
					e := s.resets[rnd.IntN(len(s.resets))]
					rec.Time(ctx, "req", func() error { return resetRequest(ctx, s.c, e) })
				}
			}
		}},
	}
	var rows []loadgen.Row
	for _, op := range ops {
		var st [2]loadgen.Stats
		for i, s := range sides {
			sc := op.run(s)
			loadgen.Run(ctx, loadgen.Config{Clients: op.clients, Duration: h.opts.warmup}, sc)
			d := h.opts.duration
			if op.name == "login" {
				d = h.opts.loginDuration
			}
			rep, peak := h.measureFor(ctx, d, s.g.node, op.clients, sc)
			st[i] = only(rep)
			rows = append(rows, loadgen.Row{Label: fmt.Sprintf("%s, %d users", op.name, s.g.pop.Users()), Clients: op.clients, Stats: st[i], PeakRSS: peak})
			if op.name == "reset request" {
				// The mail the requests made is not the next run's work.
				waitMailIdle(ctx, s.g, 60*time.Second)
			}
		}
		h.add(loadgen.Target{Scenario: "scale", What: op.name + ": cost at large ÷ at small",
			Value: ratioOf(st[0], st[1], func(s loadgen.Stats) float64 { return s.PerSecond }), Op: "<=", Bound: 1.2, Unit: "×",
			Detail: fmt.Sprintf("%.0f/s p50 %.1f ms vs %.0f/s p50 %.1f ms", st[1].PerSecond, loadgen.Millis(st[1].P50),
				st[0].PerSecond, loadgen.Millis(st[0].P50))})
		if e := st[0].Errors + st[1].Errors; e > 0 {
			h.add(loadgen.Target{Scenario: "scale", What: op.name + ": errors", Value: float64(e), Op: "<=", Bound: 0})
		}
	}
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, rows)
	return nil
}

// prepareScale logs in 16 members and 16 admins (of different companies
// where there are enough), finds each admin a deep page's cursor, and
// picks resetUsers members for reset requests, spread over the database.
func prepareScale(ctx context.Context, label string, g *instance, resetUsers int) (*scaleSide, error) {
	const pageSize, deepPages = 10, 5
	s := &scaleSide{label: label, g: g, c: g.client(16)}
	p := g.pop
	var members, admins []string
	for i := range 16 {
		members = append(members, p.member(i*(p.Users()/16)))
		admins = append(admins, p.admin(i*max(1, p.Companies/16)))
	}
	var err error
	if s.members, err = loginAll(ctx, s.c, members); err != nil {
		return nil, err
	}
	if s.admins, err = loginAll(ctx, s.c, admins); err != nil {
		return nil, err
	}
	for _, tok := range s.admins {
		cursor := ""
		for range deepPages {
			if cursor, err = s.c.ListUsers(ctx, tok, pageSize, cursor); err != nil {
				return nil, err
			}
			if cursor == "" {
				return nil, fmt.Errorf("a company has fewer than %d users", pageSize*deepPages)
			}
		}
		s.cursors = append(s.cursors, cursor)
	}
	// As many reset addressees at both sizes, so that both hit the
	// per-recipient mail cap alike and do the same mail work.
	for i := range resetUsers {
		s.resets = append(s.resets, p.member(i*(p.Users()/resetUsers)))
	}
	return s, nil
}

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
	quiet := loginAt(ctx, h.opts.loginDuration)

	bctx, stopLogins := context.WithCancel(ctx)
	defer stopLogins()
	base = sk.count()
	var burstErrs int
	var burstTook time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		began := time.Now()
		loadgen.Sleep(bctx, h.opts.duration/10) // logins first, then the burst lands on them
		t := time.Now()
		burstErrs = sendResets(ctx, c, 32, burst, func(i int) string { return p.account(first + n + i) })
		burstTook = time.Since(t)
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
