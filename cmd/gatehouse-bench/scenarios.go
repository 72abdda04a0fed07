package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
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
					if firstErr == nil {
						firstErr = fmt.Errorf("log in %s: %w", emails[i], err)
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return tokens, firstErr
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
