package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
)

// webhooks: how fast deliveries reach local receivers, and that receivers
// which hang slow neither the others nor the mail (docs/WEBHOOKS.md, "A
// slow receiver delays nobody").
//
//  1. Throughput: 10 endpoints of one company; the receivers hold every
//     request while company changes fill the outbox (each change is a
//     delivery to each endpoint), then let go: deliveries/s from the
//     first to the last arrival.
//  2. Isolation: 100 endpoints (5 companies × 20), each company's changes
//     going to its 20. First all answer at once; then the same with 10 of
//     them hanging (2 a company), and reset mail sent meanwhile. The rate
//     of deliveries to the other 90, and how long the mail takes, are
//     compared between the two runs.
func (h *harness) webhooks(ctx context.Context) error {
	fmt.Fprintln(h.out, "webhook deliveries to receivers in the harness (Gatehouse on SQLite, --webhook-allow-private)")
	const companies = 5
	p := population{Companies: companies + 10, PerCompany: 20}
	dir, err := h.seeded(ctx, "webhooks", p)
	if err != nil {
		return err
	}
	sk, err := h.sink()
	if err != nil {
		return err
	}
	g, err := h.start(ctx, gatehouseConfig{name: "webhooks", dataDir: dir, smtp: true, args: []string{"--webhook-allow-private"}}, p)
	if err != nil {
		return err
	}
	defer g.stop()
	rcv, err := startReceiver()
	if err != nil {
		return err
	}
	defer rcv.close()
	c := g.client(32)
	tokens := make([]string, companies)
	for i := range tokens {
		if tokens[i], err = c.Login(ctx, p.admin(i), benchPassword); err != nil {
			return fmt.Errorf("log in as %s: %w", p.admin(i), err)
		}
	}
	api := benchAPI{base: g.base, http: loadgen.NewHTTPClient(32)}

	// 1. Throughput.
	changes := 1000
	if h.opts.quick {
		changes = 200
	}
	var paths []string
	for i := range 10 {
		path := fmt.Sprintf("/fast/%d", i)
		if err := api.register(ctx, tokens[0], rcv.url+path); err != nil {
			return err
		}
		paths = append(paths, path)
	}
	rcv.hold()
	t0 := time.Now()
	if errs := api.changeCompanies(ctx, tokens[:1], changes); errs > 0 {
		fmt.Fprintf(h.out, "%d company changes failed\n", errs)
	}
	fmt.Fprintf(h.out, "%d changes × 10 endpoints written in %s; releasing the receivers\n", changes, time.Since(t0).Round(time.Millisecond))
	want := changes * len(paths)
	rcv.release()
	arr := rcv.wait(ctx, paths, want, 2*time.Minute)
	rate, detail := spanRate(arr, want)
	fmt.Fprintf(h.out, "delivered: %s: %.0f deliveries/s\n", detail, rate)
	h.add(loadgen.Target{Scenario: "webhooks", What: "deliveries to local receivers", Value: rate, Op: ">=", Bound: 1000, Unit: "/s", Detail: detail})

	// 2. Isolation: 100 endpoints over 5 companies (the first company's
	// throughput endpoints are deleted first: they would get its events).
	if err := api.deleteAll(ctx, tokens[0]); err != nil {
		return err
	}
	var healthy, slow []string
	for ci := range companies {
		for j := range 20 {
			path := fmt.Sprintf("/c%d/%d", ci, j)
			if j < 2 {
				slow = append(slow, path)
			} else {
				healthy = append(healthy, path)
			}
			if err := api.register(ctx, tokens[ci], rcv.url+path); err != nil {
				return err
			}
		}
	}
	perCompany := 40
	if h.opts.quick {
		perCompany = 10
	}
	mails := 200
	run := func(name string, hang bool) (rate float64, detail string, mailTook time.Duration) {
		rcv.reset()
		if hang {
			rcv.hang(slow)
		}
		base := sk.count()
		start := time.Now()
		var wg sync.WaitGroup
		wg.Go(func() { api.changeCompanies(ctx, tokens, perCompany*companies) })
		wg.Go(func() {
			sendResets(ctx, c, 8, mails, func(i int) string { return p.member(1000*companies + i) })
		})
		wg.Wait()
		arr := rcv.wait(ctx, healthy, perCompany*len(healthy), 2*time.Minute)
		for sk.count()-base < mails && time.Since(start) < 2*time.Minute && ctx.Err() == nil {
			loadgen.Sleep(ctx, 20*time.Millisecond)
		}
		// When the last mail arrived, not when the waiting above ended.
		if got := sk.since(base); len(got) > 0 {
			mailTook = got[len(got)-1].Sub(start)
		}
		rate, detail = spanRate(arr, perCompany*len(healthy))
		fmt.Fprintf(h.out, "%s: to the 90: %s, %.0f deliveries/s; %d reset mails arrived within %s; %d requests held by the hanging receivers\n",
			name, detail, rate, sk.count()-base, mailTook.Round(time.Millisecond), rcv.holding())
		return rate, detail, mailTook
	}
	allRate, allDetail, allMail := run("all 100 answer", false)
	waitWebhooksIdle(ctx, g, time.Minute)
	hungRate, hungDetail, hungMail := run("10 of 100 hang", true)
	rcv.release()
	h.add(loadgen.Target{Scenario: "webhooks", What: "deliveries to 90 endpoints while 10 hang ÷ while none hangs",
		Value: loadgen.Ratio(hungRate, allRate), Op: ">=", Bound: 0.8, Unit: "×", Detail: hungDetail + " vs " + allDetail})
	h.add(loadgen.Target{Scenario: "webhooks", What: "reset mail while 10 endpoints hang: time to deliver ÷ while none hangs",
		Value: loadgen.Ratio(hungMail.Seconds(), allMail.Seconds()), Op: "<=", Bound: 1.25, Unit: "×",
		Detail: fmt.Sprintf("%d mails in %s vs %s", mails, hungMail.Round(time.Millisecond), allMail.Round(time.Millisecond))})
	return nil
}

// spanRate is the rate of arrivals from the first to the last.
func spanRate(arr []time.Time, want int) (float64, string) {
	detail := fmt.Sprintf("%d of %d arrived", len(arr), want)
	if len(arr) < 2 {
		return math.NaN(), detail
	}
	span := arr[len(arr)-1].Sub(arr[0])
	return loadgen.Ratio(float64(len(arr)-1), span.Seconds()), detail + fmt.Sprintf(" in %s", span.Round(time.Millisecond))
}

// waitWebhooksIdle waits until the node has no delivery waiting.
func waitWebhooksIdle(ctx context.Context, g *instance, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if v, ok, _ := g.metric(ctx, "gatehouse_webhook_pending"); !ok || v == 0 {
			return
		}
		loadgen.Sleep(ctx, 100*time.Millisecond)
	}
}

// benchAPI makes the webhook calls of the scenario.
type benchAPI struct {
	base string
	http *http.Client
}

func (a benchAPI) do(ctx context.Context, method, path, token string, body any, want int, v any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if v != nil {
		return json.Unmarshal(b, v)
	}
	return nil
}

func (a benchAPI) register(ctx context.Context, token, url string) error {
	return a.do(ctx, "POST", "/api/v1/company/webhooks", token,
		map[string]any{"url": url, "events": []string{"company.updated"}}, http.StatusCreated, nil)
}

func (a benchAPI) deleteAll(ctx context.Context, token string) error {
	var list struct{ Webhooks []struct{ ID string } }
	if err := a.do(ctx, "GET", "/api/v1/company/webhooks", token, nil, http.StatusOK, &list); err != nil {
		return err
	}
	for _, w := range list.Webhooks {
		if err := a.do(ctx, "DELETE", "/api/v1/company/webhooks/"+w.ID, token, nil, http.StatusNoContent, nil); err != nil {
			return err
		}
	}
	return nil
}

// changeCompanies renames the companies n times in all, round robin, 8 at
// a time: each rename is one company.updated event. It returns how many
// failed.
var renames atomic.Int64

func (a benchAPI) changeCompanies(ctx context.Context, tokens []string, n int) int {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				name := "Company " + strconv.FormatInt(renames.Add(1), 10)
				if err := a.do(ctx, "PATCH", "/api/v1/company", tokens[i%len(tokens)], map[string]any{"name": name}, http.StatusOK, nil); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// receiver is the harness's webhook receiver: it records when each path
// got a request, holds every request while held, and holds those of the
// hanging paths until released.
type receiver struct {
	url string
	srv *http.Server

	mu        sync.Mutex
	changed   *sync.Cond
	arrivals  map[string][]time.Time
	held      chan struct{} // closed when not held
	hanging   map[string]bool
	releaseCh chan struct{}
	heldN     int
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String(), arrivals: map[string][]time.Time{}, held: make(chan struct{}),
		hanging: map[string]bool{}, releaseCh: make(chan struct{})}
	close(r.held)
	r.changed = sync.NewCond(&r.mu)
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) close() { r.release(); r.srv.Close() }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, req.Body)
	r.mu.Lock()
	held, hang, release := r.held, r.hanging[req.URL.Path], r.releaseCh
	if hang {
		r.heldN++
	}
	r.mu.Unlock()
	if hang {
		select {
		case <-req.Context().Done():
		case <-release:
		}
		r.mu.Lock()
		r.heldN--
		r.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	select {
	case <-held:
	case <-req.Context().Done():
		return
	}
	r.mu.Lock()
	r.arrivals[req.URL.Path] = append(r.arrivals[req.URL.Path], time.Now())
	r.changed.Broadcast()
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// hold makes every request wait until release.
func (r *receiver) hold() {
	r.mu.Lock()
	r.held = make(chan struct{})
	r.mu.Unlock()
}

// release lets held and hanging requests go.
func (r *receiver) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range []chan struct{}{r.held, r.releaseCh} {
		select {
		case <-c:
		default:
			close(c)
		}
	}
}

// hang makes the paths hold their requests until release.
func (r *receiver) hang(paths []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseCh = make(chan struct{})
	for _, p := range paths {
		r.hanging[p] = true
	}
}

// reset forgets the arrivals and the hanging paths.
func (r *receiver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.arrivals = map[string][]time.Time{}
	r.hanging = map[string]bool{}
}

func (r *receiver) holding() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.heldN
}

// wait waits until the paths got want requests in all (or limit passes)
// and returns their arrival times, sorted.
func (r *receiver) wait(ctx context.Context, paths []string, want int, limit time.Duration) []time.Time {
	stop := time.AfterFunc(limit, func() { r.mu.Lock(); r.changed.Broadcast(); r.mu.Unlock() })
	defer stop.Stop()
	deadline := time.Now().Add(limit)
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var all []time.Time
		for _, p := range paths {
			all = append(all, r.arrivals[p]...)
		}
		if len(all) >= want || time.Now().After(deadline) || ctx.Err() != nil {
			slices.SortFunc(all, func(a, b time.Time) int { return a.Compare(b) })
			return all
		}
		r.changed.Wait()
	}
}
