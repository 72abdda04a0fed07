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
