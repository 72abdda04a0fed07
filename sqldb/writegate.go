package sqldb

import (
	"context"
	"sync"
)

// writeGate orders the transactions waiting for SQLite's one writer:
// requests (Update) first, background work (UpdateBackground) only when no
// request waits. Without it every waiter is alike and database/sql hands the
// connection to a random one, so a login could wait behind a whole backlog
// of queued mail and reset requests; with it a login waits at most for the
// one transaction that holds the writer, and background work keeps its
// transactions short. The gate is an ordering, not the lock: the pool's
// single connection (and SQLite's own lock) still serialise writers, so a
// write that bypasses it (migrations) stays correct.
type writeGate struct {
	mu     sync.Mutex
	held   bool
	fg, bg []chan struct{} // waiters in arrival order; a closed channel is a grant
}

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
	if background {
		g.bg = append(g.bg, grant)
	} else {
		g.fg = append(g.fg, grant)
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
		// Granted as the context ended: pass the writer on.
		g.releaseLocked()
		return ctx.Err()
	}
}

// release hands the writer to the first foreground waiter, else to the
// first background one.
func (g *writeGate) release() {
	g.mu.Lock()
	g.releaseLocked()
	g.mu.Unlock()
}

func (g *writeGate) releaseLocked() {
	for _, q := range []*[]chan struct{}{&g.fg, &g.bg} {
		if len(*q) > 0 {
			next := (*q)[0]
			*q = (*q)[1:]
			close(next) // held stays true: the writer passes to next
			return
		}
	}
	g.held = false
}

func removeWaiter(q *[]chan struct{}, c chan struct{}) bool {
	for i, w := range *q {
		if w == c {
			*q = append((*q)[:i], (*q)[i+1:]...)
			return true
		}
	}
	return false
}
