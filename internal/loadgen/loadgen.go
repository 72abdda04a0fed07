// Package loadgen is a small closed-loop load generator: N clients each
// run a scenario over and over for a fixed time, and every request they
// make is timed by name. The report gives each name's count, throughput,
// latency percentiles and errors. cmd/gatehouse-bench drives Gatehouse
// with it, and the cluster tests use it for their load runs.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Config says how hard and how long to push.
type Config struct {
	Clients  int           // concurrent clients, each waiting for its answer before the next request
	Duration time.Duration // how long the clients run
}

// Scenario is what one client does: it runs until ctx ends, timing each
// request with rec. client numbers the client from 0.
type Scenario func(ctx context.Context, client int, rec *Recorder)

// Run runs cfg.Clients copies of scenario for cfg.Duration, or until ctx
// ends, and returns what they recorded.
func Run(ctx context.Context, cfg Config, scenario Scenario) *Report {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	rec := &Recorder{ops: map[string]*opStats{}}
	start := time.Now()
	var wg sync.WaitGroup
	for c := range max(cfg.Clients, 1) {
		wg.Go(func() { scenario(ctx, c, rec) })
	}
	wg.Wait()
	return &Report{Clients: max(cfg.Clients, 1), Elapsed: time.Since(start), rec: rec}
}

// Recorder collects timings; it is safe for concurrent use.
type Recorder struct {
	mu  sync.Mutex
	ops map[string]*opStats
}

type opStats struct {
	ok     []time.Duration
	errors map[string]int
}

// Time runs fn, records how long it took under name, and returns its
// error. An error whose request was cut off by the end of the run is not
// counted at all: it says nothing about the server.
func (r *Recorder) Time(ctx context.Context, name string, fn func() error) error {
	start := time.Now()
	err := fn()
	if err != nil && ctx.Err() != nil {
		return err
	}
	r.Observe(name, time.Since(start), err)
	return err
}

// Observe records one request: its latency when it succeeded, or its
// error (by message, so that "503" and "connection refused" count apart).
func (r *Recorder) Observe(name string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.ops[name]
	if s == nil {
		s = &opStats{errors: map[string]int{}}
		r.ops[name] = s
	}
	if err != nil {
		s.errors[err.Error()]++
		return
	}
	s.ok = append(s.ok, d)
}

// RunRate is the open-loop counterpart of Run: it starts fn rate times a
// second, each call on its own goroutine whether or not earlier ones have
// been answered, as independent people arrive; i numbers the calls from 0.
// At most maxInFlight calls run at once; a start that finds them all busy
// is skipped and counted under "skipped (generator limit)".
func RunRate(ctx context.Context, rate float64, d time.Duration, maxInFlight int, fn func(ctx context.Context, i int, rec *Recorder)) *Report {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	rec := &Recorder{ops: map[string]*opStats{}}
	slots := make(chan struct{}, max(maxInFlight, 1))
	interval := time.Duration(float64(time.Second) / max(rate, 0.001))
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; ctx.Err() == nil; i++ {
		select {
		case slots <- struct{}{}:
			wg.Go(func() {
				defer func() { <-slots }()
				fn(ctx, i, rec)
			})
		default:
			rec.Observe("skipped (generator limit)", 0, errors.New("all in flight"))
		}
		// Start times are fixed in advance, so a late tick does not
		// lower the rate.
		if wait := time.Until(start.Add(time.Duration(i+1) * interval)); wait > 0 {
			Sleep(ctx, wait)
		}
	}
	wg.Wait()
	return &Report{Rate: rate, Elapsed: time.Since(start), rec: rec}
}

// Report is the outcome of a run.
type Report struct {
	Clients int     // closed loop: concurrent clients
	Rate    float64 // open loop: starts per second
	Elapsed time.Duration
	rec     *Recorder
}

// Stats are one request name's figures.
type Stats struct {
	Name          string
	OK, Errors    int
	PerSecond     float64 // successful requests per second of the run
	P50, P90, P99 time.Duration
	Max           time.Duration
	ErrorKinds    map[string]int
}

// Stats returns the figures of every request name, sorted by name, and
// of all requests together under "all".
func (r *Report) Stats() []Stats {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	var out []Stats
	all := &opStats{errors: map[string]int{}}
	for _, name := range slices.Sorted(maps.Keys(r.rec.ops)) {
		s := r.rec.ops[name]
		out = append(out, r.stats(name, s))
		all.ok = append(all.ok, s.ok...)
		for k, v := range s.errors {
			all.errors[name+": "+k] += v
		}
	}
	if len(out) > 1 {
		out = append(out, r.stats("all", all))
	}
	return out
}

func (r *Report) stats(name string, s *opStats) Stats {
	lat := slices.Clone(s.ok)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	st := Stats{Name: name, OK: len(lat), ErrorKinds: s.errors,
		P50: percentile(lat, 50), P90: percentile(lat, 90), P99: percentile(lat, 99)}
	for _, n := range s.errors {
		st.Errors += n
	}
	if len(lat) > 0 {
		st.Max = lat[len(lat)-1]
	}
	if r.Elapsed > 0 {
		st.PerSecond = float64(st.OK) / r.Elapsed.Seconds()
	}
	return st
}

// percentile returns the p-th percentile of sorted latencies by the
// nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Write prints the report as a table, with the errors below it.
func (r *Report) Write(w io.Writer) {
	if r.Rate > 0 {
		fmt.Fprintf(w, "open loop at %.1f/s for %s\n", r.Rate, r.Elapsed.Round(100*time.Millisecond))
	} else {
		fmt.Fprintf(w, "%d clients for %s\n", r.Clients, r.Elapsed.Round(100*time.Millisecond))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "request\tok\treq/s\tp50\tp90\tp99\tmax\terrors\t")
	stats := r.Stats()
	for _, s := range stats {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%d\t\n", s.Name, s.OK, s.PerSecond,
			ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max), s.Errors)
	}
	tw.Flush()
	for _, s := range stats {
		if s.Name == "all" {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(s.ErrorKinds)) {
			fmt.Fprintf(w, "  %s error ×%d: %s\n", s.Name, s.ErrorKinds[k], strings.TrimSpace(k))
		}
	}
}

// Get returns the figures of one request name (zero Stats when it never
// ran).
func (r *Report) Get(name string) Stats {
	for _, s := range r.Stats() {
		if s.Name == name {
			return s
		}
	}
	return Stats{Name: name}
}

// Count returns how many errors' messages start with prefix: Count("503")
// is the number of 503 answers.
func (s Stats) Count(prefix string) int {
	n := 0
	for k, v := range s.ErrorKinds {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// ms renders a latency in milliseconds with one decimal.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}
