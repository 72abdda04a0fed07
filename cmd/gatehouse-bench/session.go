package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
)

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
	res := map[int]checkPair{}
	for _, conns := range []int{64, 16} {
		p := h.compareChecks(ctx, g, bare, conns, tokens)
		res[conns] = p
		rows = append(rows, p.rows()...)
	}
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, rows)
	for _, conns := range []int{64, 16} {
		h.add(res[conns].rateTarget("session-check"))
	}
	h.add(res[64].p99Target("session-check"))
	for _, conns := range []int{64, 16} {
		if t, ok := res[conns].errorTarget("session-check"); ok {
			h.add(t)
		}
	}
	return nil
}

// checkPair is a run of session checks against the bare handler and one
// against Gatehouse, with the same connections, one after the other.
type checkPair struct {
	conns          int
	bare, gh       loadgen.Stats
	bareRSS, ghRSS uint64
}

// compareChecks warms up and measures conns connections of GET
// /api/v1/me against the bare handler, then against Gatehouse.
func (h *harness) compareChecks(ctx context.Context, g *instance, bare *node, conns int, tokens []string) checkPair {
	bc := loadgen.Client{Base: bare.base, HTTP: loadgen.NewHTTPClient(conns)}
	gc := g.client(conns)
	loadgen.Run(ctx, loadgen.Config{Clients: conns, Duration: h.opts.warmup}, checks(bc, tokens))
	loadgen.Run(ctx, loadgen.Config{Clients: conns, Duration: h.opts.warmup}, checks(gc, tokens))
	br, bp := h.measure(ctx, bare, conns, checks(bc, tokens))
	gr, gp := h.measure(ctx, g.node, conns, checks(gc, tokens))
	return checkPair{conns: conns, bare: br.Get("me"), gh: gr.Get("me"), bareRSS: bp, ghRSS: gp}
}

func (p checkPair) rows() []loadgen.Row {
	return []loadgen.Row{
		{Label: "bare handler", Clients: p.conns, Stats: p.bare, PeakRSS: p.bareRSS},
		{Label: "gatehouse", Clients: p.conns, Stats: p.gh, PeakRSS: p.ghRSS,
			Note: fmt.Sprintf("  %.2f× the req/s, %.2f× the p99", loadgen.Ratio(p.gh.PerSecond, p.bare.PerSecond),
				loadgen.Ratio(loadgen.Millis(p.gh.P99), loadgen.Millis(p.bare.P99)))},
	}
}

// rateTarget: Gatehouse's session checks a second, at least half the bare
// handler's.
func (p checkPair) rateTarget(scenario string) loadgen.Target {
	return loadgen.Target{Scenario: scenario, What: fmt.Sprintf("req/s ÷ bare handler, %d conns", p.conns),
		Value: ratioOf(p.gh, p.bare, func(s loadgen.Stats) float64 { return s.PerSecond }), Op: ">=", Bound: 0.5, Unit: "×",
		Detail: fmt.Sprintf("%.0f/s vs %.0f/s", p.gh.PerSecond, p.bare.PerSecond)}
}

// p99Target: Gatehouse's p99, at most twice the bare handler's.
func (p checkPair) p99Target(scenario string) loadgen.Target {
	return loadgen.Target{Scenario: scenario, What: fmt.Sprintf("p99 ÷ bare handler's, %d conns", p.conns),
		Value: ratioOf(p.gh, p.bare, func(s loadgen.Stats) float64 { return loadgen.Millis(s.P99) }), Op: "<=", Bound: 2, Unit: "×",
		Detail: fmt.Sprintf("%.1f ms vs %.1f ms", loadgen.Millis(p.gh.P99), loadgen.Millis(p.bare.P99))}
}

// errorTarget is a target of no errors, when there were some.
func (p checkPair) errorTarget(scenario string) (loadgen.Target, bool) {
	e := p.gh.Errors + p.bare.Errors
	return loadgen.Target{Scenario: scenario, What: fmt.Sprintf("errors, %d conns", p.conns),
		Value: float64(e), Op: "<=", Bound: 0}, e > 0
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
	return h.startHelper(ctx, "baseline", "baseline", "--body", bodyPath, "--headers", headerPath)
}

// startHelper starts a subcommand of this program (the baseline, the bare
// auth handler) as a process of its own, named name in the logs, on a free
// address, and returns once it answers /readyz.
func (h *harness) startHelper(ctx context.Context, name, subcommand string, args ...string) (*node, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	n, err := startNode(name, addr, filepath.Join(h.logs, name+".log"), h.self,
		append([]string{subcommand, "--addr", addr}, args...)...)
	if err != nil {
		return nil, err
	}
	if _, err := n.waitReady(ctx, "/readyz", 5*time.Millisecond, time.Minute); err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
}
