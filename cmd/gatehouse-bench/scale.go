package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
)

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
		{"login", 2 * runtime.NumCPU(), func(s *scaleSide) loadgen.Scenario {
			return func(ctx context.Context, client int, rec *loadgen.Recorder) {
				e := s.g.pop.member(client * (s.g.pop.Users() / (2 * runtime.NumCPU())))
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
		// A 503 is the intended answer of a full hashing queue.
		if e := st[0].Errors - st[0].Count("503 ") + st[1].Errors - st[1].Count("503 "); e > 0 {
			h.add(loadgen.Target{Scenario: "scale", What: op.name + ": errors other than 503", Value: float64(e), Op: "<=", Bound: 0})
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
