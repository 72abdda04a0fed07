package sqldb

import (
	"cmp"
	"context"
	"runtime"
	"sync"
	"time"
)

// writeGate orders the transactions waiting for SQLite's one writer:
// requests (Update) first, background work (UpdateBackground) only when no
// request waits, or when it has waited bgMaxWait (and none did so in the
// last bgMaxWait): a stream of requests that keeps the writer busy slows
// background work down to one transaction per bgMaxWait, but cannot stop
// it, and a request waits for one background transaction at most. Without it every waiter is alike and database/sql hands the
// connection to a random one, so a login could wait behind a whole backlog
// of queued mail and reset requests; with it a login waits at most for the
// one transaction that holds the writer, and background work keeps its
// transactions short. The gate is an ordering, not the lock: the pool's
// single connection (and SQLite's own lock) still serialise writers, so a
// write that bypasses it (migrations) stays correct.
type writeGate struct {
	mu     sync.Mutex
	held   bool
	fg, bg []waiter // in arrival order
	// maxWait is bgMaxWait unless a test sets it.
	maxWait time.Duration
	// lastAged is when background work last went before a request.
	lastAged time.Time
}

// waiter is a transaction waiting for the writer; closing grant gives it.
type waiter struct {
	grant chan struct{}
	since time.Time
}

// bgMaxWait is how long background work waits behind requests before it
// goes first, and how often it may.
const bgMaxWait = 5 * time.Millisecond

// acquire waits for the writer. A background caller waits while any
// foreground one does.
func (g *writeGate) acquire(ctx context.Context, background bool) error {
	g.mu.Lock()
	if !g.held && len(g.fg) == 0 && (!background || len(g.bg) == 0) {
		g.held = true
		g.mu.Unlock()
		return nil
	}
	grant := make(chan struct{})
	w := waiter{grant, time.Now()}
	if background {
		g.bg = append(g.bg, w)
	} else {
		g.fg = append(g.fg, w)
	}
	g.mu.Unlock()

	select {
	case <-grant:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if removeWaiter(&g.fg, grant) || removeWaiter(&g.bg, grant) {
			return ctx.Err()
		}
		// Granted as the context ended. A request holds the writer now: a
		// batch may be open in it (handOff), which only the holder can
		// commit, and the request's transaction runs whatever becomes of
		// the request anyway. Background work passes it on.
		if !background {
			return nil
		}
		g.releaseLocked()
		return ctx.Err()
	}
}

// release hands the writer to the first foreground waiter, else to the
// first background one; to the background one first when it has waited
// bgMaxWait and no other did so in the last bgMaxWait.
//
// Handing it over, the caller yields its core to the next writer, as a
// sync.Mutex in starvation mode does: the waiter Go wakes runs only when
// the waker blocks, and a request that has just committed goes on to
// CPU-heavy work (signing a token, hashing a password) without blocking,
// so without the yield every writer after the first waits a whole
// signature for the writer, and the writes, one at a time, set the rate.
// In BenchmarkOIDCLoad/sqlite/refresh (64 clients) the wait for the writer
// was 82% of a refresh's time without the yield, 29% with it (block
// profiles, docs/BENCHMARKS.md "OpenID Connect").
func (g *writeGate) release() {
	g.mu.Lock()
	handed := g.releaseLocked()
	g.mu.Unlock()
	if handed {
		runtime.Gosched()
	}
}

// handOff passes the writer to the first request waiting for it, and
// reports whether there was one; without one the caller keeps the writer.
// The holder of a batch (batch.go) hands it on this way with the batch
// open, so only a request gets it: background work takes the writer only
// from release, with no batch open.
func (g *writeGate) handOff() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return grantFirst(&g.fg)
}

// releaseLocked reports whether the writer went to a waiter.
func (g *writeGate) releaseLocked() bool {
	order := []*[]waiter{&g.fg, &g.bg}
	maxWait := cmp.Or(g.maxWait, bgMaxWait)
	if len(g.bg) > 0 && len(g.fg) > 0 && time.Since(g.bg[0].since) >= maxWait && time.Since(g.lastAged) >= maxWait {
		order = []*[]waiter{&g.bg, &g.fg}
		g.lastAged = time.Now()
	}
	for _, q := range order {
		if grantFirst(q) {
			return true
		}
	}
	g.held = false
	return false
}

// grantFirst passes the writer to the first waiter of q, if there is one,
// and reports whether there was; held stays true. g.mu is held.
func grantFirst(q *[]waiter) bool {
	if len(*q) == 0 {
		return false
	}
	next := (*q)[0]
	*q = (*q)[1:]
	close(next.grant)
	return true
}

func removeWaiter(q *[]waiter, c chan struct{}) bool {
	for i, w := range *q {
		if w.grant == c {
			*q = append((*q)[:i], (*q)[i+1:]...)
			return true
		}
	}
	return false
}
