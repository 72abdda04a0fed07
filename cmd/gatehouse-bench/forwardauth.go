package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse/gatehouse/internal/loadgen"
	"github.com/gatehouse/gatehouse/internal/testenv/nginxtest"
)

// forward-auth: the check a reverse proxy makes before every request of a
// protected app (GET /authz/auth-request with the session cookie), against
// the session check (GET /api/v1/me) in the same run: it should cost no
// more than a session check.
func (h *harness) forwardAuth(ctx context.Context) error {
	fmt.Fprintln(h.out, "GET /authz/auth-request with the session cookie, against a bare net/http handler and GET /api/v1/me, 64 clients; then nginx asking each")
	dir, err := h.seeded(ctx, "forward-auth", standard)
	if err != nil {
		return err
	}
	g, err := h.start(ctx, gatehouseConfig{name: "forward-auth", dataDir: dir}, standard)
	if err != nil {
		return err
	}
	defer g.stop()
	// Company 0's users; its admin registers the app.
	var emails []string
	for j := range 64 {
		emails = append(emails, standard.email(0, j))
	}
	tokens, err := loginAll(ctx, g.client(8), emails)
	if err != nil {
		return err
	}
	if err := registerApp(ctx, g.base, tokens[0], "app.bench.example"); err != nil {
		return err
	}
	// The bare net/http handler (issue 15's yardstick): the same requests
	// answered with fixed bytes by a process of its own.
	bare, err := h.startBaseline(ctx, g, tokens[0])
	if err != nil {
		return err
	}
	defer bare.stop()
	const conns = 64
	gc := g.client(conns)
	bc := loadgen.Client{Base: bare.base, HTTP: loadgen.NewHTTPClient(conns)}
	loadgen.Run(ctx, loadgen.Config{Clients: conns, Duration: h.opts.warmup}, authRequests(bc, tokens))
	loadgen.Run(ctx, loadgen.Config{Clients: conns, Duration: h.opts.warmup}, checks(gc, tokens))
	loadgen.Run(ctx, loadgen.Config{Clients: conns, Duration: h.opts.warmup}, authRequests(gc, tokens))
	names := []string{"server", "harness"}
	bCPU := measureProcs(names, bare.pid(), os.Getpid())
	br, bp := h.measure(ctx, bare, conns, authRequests(bc, tokens))
	bUse := bCPU.perOp(br.Get("forward-auth").OK)
	mCPU := measureProcs(names, g.pid(), os.Getpid())
	mr, mp := h.measure(ctx, g.node, conns, checks(gc, tokens))
	mUse := mCPU.perOp(mr.Get("me").OK)
	fCPU := measureProcs(names, g.pid(), os.Getpid())
	fr, fp := h.measure(ctx, g.node, conns, authRequests(gc, tokens))
	fUse := fCPU.perOp(fr.Get("forward-auth").OK)
	ba, me, fa := br.Get("forward-auth"), mr.Get("me"), fr.Get("forward-auth")
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, []loadgen.Row{
		{Label: "bare handler", Clients: conns, Stats: ba, PeakRSS: bp},
		{Label: "session check", Clients: conns, Stats: me, PeakRSS: mp},
		{Label: "forward-auth check", Clients: conns, Stats: fa, PeakRSS: fp,
			Note: fmt.Sprintf("  %.2f× the bare req/s, %.2f× its p99; %.2f× the session check's req/s",
				loadgen.Ratio(fa.PerSecond, ba.PerSecond), loadgen.Ratio(loadgen.Millis(fa.P99), loadgen.Millis(ba.P99)),
				loadgen.Ratio(fa.PerSecond, me.PerSecond))},
	})
	fmt.Fprintf(h.out, "processor time a request: bare handler: %s; session check: %s; forward-auth check: %s\n", bUse, mUse, fUse)
	h.add(loadgen.Target{Scenario: "forward-auth", What: "req/s ÷ bare handler, 64 conns",
		Value: ratioOf(fa, ba, func(s loadgen.Stats) float64 { return s.PerSecond }), Op: ">=", Bound: 0.5, Unit: "×",
		Detail: fmt.Sprintf("%.0f/s vs %.0f/s", fa.PerSecond, ba.PerSecond)})
	h.add(loadgen.Target{Scenario: "forward-auth", What: "p99 ÷ bare handler's, 64 conns",
		Value: ratioOf(fa, ba, func(s loadgen.Stats) float64 { return loadgen.Millis(s.P99) }), Op: "<=", Bound: 2, Unit: "×",
		Detail: fmt.Sprintf("%.1f ms vs %.1f ms", loadgen.Millis(fa.P99), loadgen.Millis(ba.P99))})
	h.add(loadgen.Target{Scenario: "forward-auth", What: "req/s ÷ session check's, 64 conns",
		Value: ratioOf(fa, me, func(s loadgen.Stats) float64 { return s.PerSecond }), Op: ">=", Bound: 0.5, Unit: "×",
		Detail: fmt.Sprintf("%.0f/s vs %.0f/s", fa.PerSecond, me.PerSecond)})
	h.add(loadgen.Target{Scenario: "forward-auth", What: "p99 ÷ session check's, 64 conns",
		Value: ratioOf(fa, me, func(s loadgen.Stats) float64 { return loadgen.Millis(s.P99) }), Op: "<=", Bound: 2, Unit: "×",
		Detail: fmt.Sprintf("%.1f ms vs %.1f ms", loadgen.Millis(fa.P99), loadgen.Millis(me.P99))})
	if e := fa.Errors + me.Errors + ba.Errors; e > 0 {
		h.add(loadgen.Target{Scenario: "forward-auth", What: "errors, 64 conns", Value: float64(e), Op: "<=", Bound: 0})
	}
	return h.nginxAuthRequest(ctx, g, emails, tokens)
}

// nginxAuthRequest is issue 15's ceiling: the same nginx with auth_request
// (nginxtest, DEPLOYMENT.md's configuration with keepalive connections)
// before the same upstream answering tiny 200s, once asking Gatehouse and
// once a bare net/http handler that only looks the cookie up in a map, 64
// clients each, in this run. Without nginx it says so and skips.
func (h *harness) nginxAuthRequest(ctx context.Context, g *instance, emails, tokens []string) error {
	if _, err := nginxtest.Bin(); err != nil {
		fmt.Fprintf(h.out, "\nnginx with auth_request: skipped, %v\n", err)
		return nil
	}
	fmt.Fprintln(h.out, "\nnginx with auth_request before an upstream of tiny 200s: asking Gatehouse, and asking a bare handler that looks the cookie up in a map, 64 clients")
	tiny := filepath.Join(h.tmp, "tiny.txt")
	if err := os.WriteFile(tiny, []byte("ok\n"), 0o600); err != nil {
		return err
	}
	up, err := h.startHelper(ctx, "upstream", "baseline", "--body", tiny)
	if err != nil {
		return err
	}
	defer up.stop()
	var sessions strings.Builder
	for i, t := range tokens {
		fmt.Fprintf(&sessions, "%s %s\n", t, emails[i])
	}
	sessionsPath := filepath.Join(h.tmp, "sessions.txt")
	if err := os.WriteFile(sessionsPath, []byte(sessions.String()), 0o600); err != nil {
		return err
	}
	bare, err := h.startHelper(ctx, "bare-auth", "bare-auth", "--sessions", sessionsPath)
	if err != nil {
		return err
	}
	defer bare.stop()
	const conns = 64
	start := func(auth string) (*nginxtest.Nginx, loadgen.Client, error) {
		n, err := nginxtest.Start(h.tmp, nginxtest.Config{Auth: auth, Upstream: up.base, Keepalive: conns, Connections: 1024})
		if err != nil {
			return nil, loadgen.Client{}, err
		}
		return n, loadgen.Client{Base: "http://" + n.Addr, HTTP: loadgen.NewHTTPClient(conns)}, nil
	}
	ngBare, bc, err := start(bare.base + "/auth")
	if err != nil {
		return err
	}
	defer ngBare.Stop()
	ngGate, gc, err := start(g.base + "/authz/auth-request")
	if err != nil {
		return err
	}
	defer ngGate.Stop()
	loadgen.Run(ctx, loadgen.Config{Clients: conns, Duration: h.opts.warmup}, proxied(bc, tokens))
	loadgen.Run(ctx, loadgen.Config{Clients: conns, Duration: h.opts.warmup}, proxied(gc, tokens))
	names := []string{"auth", "nginx", "upstream", "harness"}
	bCPU := measureProcs(names, bare.pid(), ngBare.Pid(), up.pid(), os.Getpid())
	br, bp := h.measure(ctx, bare, conns, proxied(bc, tokens))
	bUse := bCPU.perOp(br.Get("proxied").OK)
	gCPU := measureProcs(names, g.pid(), ngGate.Pid(), up.pid(), os.Getpid())
	gr, gp := h.measure(ctx, g.node, conns, proxied(gc, tokens))
	gUse := gCPU.perOp(gr.Get("proxied").OK)
	nb, ng := br.Get("proxied"), gr.Get("proxied")
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, []loadgen.Row{
		{Label: "nginx → bare handler", Clients: conns, Stats: nb, PeakRSS: bp},
		{Label: "nginx → Gatehouse", Clients: conns, Stats: ng, PeakRSS: gp,
			Note: fmt.Sprintf("  %.2f× nginx → bare's req/s, %.2f× its p99", loadgen.Ratio(ng.PerSecond, nb.PerSecond),
				loadgen.Ratio(loadgen.Millis(ng.P99), loadgen.Millis(nb.P99)))},
	})
	fmt.Fprintf(h.out, "processor time a request: nginx → bare: %s; nginx → Gatehouse: %s\n", bUse, gUse)
	h.add(loadgen.Target{Scenario: "forward-auth", What: "nginx→Gatehouse req/s ÷ nginx→bare, 64 conns",
		Value: ratioOf(ng, nb, func(s loadgen.Stats) float64 { return s.PerSecond }), Op: ">=", Bound: 0.8, Unit: "×",
		Detail: fmt.Sprintf("%.0f/s vs %.0f/s", ng.PerSecond, nb.PerSecond)})
	if e := ng.Errors + nb.Errors; e > 0 {
		h.add(loadgen.Target{Scenario: "forward-auth", What: "errors through nginx, 64 conns", Value: float64(e), Op: "<=", Bound: 0})
		fmt.Fprintf(h.out, "nginx error logs: %s, %s\n", filepath.Join(ngBare.Dir, "error.log"), filepath.Join(ngGate.Dir, "error.log"))
	}
	return nil
}

// registerApp registers an app of the admin's company for host.
func registerApp(ctx context.Context, base, adminToken, host string) error {
	body, _ := json.Marshal(map[string]any{"name": "Bench app", "forward_auth_hosts": []string{host}})
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/company/apps", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("register the app: %d %s", resp.StatusCode, b)
	}
	return nil
}

// authRequests is nginx's side of forward auth: GET /authz/auth-request
// for a page of the app, with the client's session cookie.
func authRequests(c loadgen.Client, tokens []string) loadgen.Scenario {
	return cookieRequests(c, tokens, "forward-auth", "/authz/auth-request", func(req *http.Request) {
		req.Header.Set("X-Original-URL", "https://app.bench.example/page")
		req.Header.Set("X-Original-Method", "GET")
	})
}

// proxied is a browser's side of forward auth behind nginx: GET a page of
// the app through nginx, with the client's session cookie; nginx asks the
// auth handler and then the upstream.
func proxied(c loadgen.Client, tokens []string) loadgen.Scenario {
	return cookieRequests(c, tokens, "proxied", "/page", func(req *http.Request) { req.Host = "app.bench.example" })
}

// cookieRequests has each client GET path of c in a loop with its session
// cookie and what set adds, timed as label; anything but 200 is an error.
func cookieRequests(c loadgen.Client, tokens []string, label, path string, set func(*http.Request)) loadgen.Scenario {
	return func(ctx context.Context, client int, rec *loadgen.Recorder) {
		token := tokens[client%len(tokens)]
		for ctx.Err() == nil {
			rec.Time(ctx, label, func() error {
				req, err := http.NewRequestWithContext(ctx, "GET", c.Base+path, nil)
				if err != nil {
					return err
				}
				set(req)
				req.Header.Set("Cookie", "gatehouse_session="+token)
				resp, err := c.HTTP.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return &loadgen.StatusError{Status: resp.StatusCode}
				}
				return nil
			})
		}
	}
}
