package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
)

// maxPrepared bounds the statements kept prepared. Every query of this
// package is a constant or one of a few variants (the user list's filters),
// so the bound is never reached; it only keeps a mistake (a value written
// into SQL text) from growing memory without end.
const maxPrepared = 256

// preparedStmts keeps the read pool's statements prepared on SQLite, where
// parsing and planning a statement costs more than running a point lookup,
// half of a session check without it. PostgreSQL needs none of this, since
// pgx prepares and caches each statement on each connection by itself.
type preparedStmts struct {
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// get returns query prepared on pool, or nil when it cannot be (the
// caller then runs it unprepared, which reports any error).
func (p *preparedStmts) get(pool *sql.DB, query string) *sql.Stmt {
	if s := p.prepared(query); s != nil {
		return s
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.stmts[query]; s != nil {
		return s
	}
	if len(p.stmts) >= maxPrepared {
		return nil
	}
	s, err := pool.Prepare(query)
	if err != nil {
		return nil
	}
	if p.stmts == nil {
		p.stmts = map[string]*sql.Stmt{}
	}
	p.stmts[query] = s
	return s
}

// prepared returns query if it is prepared already, or nil. A transaction
// on the pool takes only these: preparing needs a connection of the pool
// besides its own, and transactions holding every connection while each
// waits for another would wait for ever.
func (p *preparedStmts) prepared(query string) *sql.Stmt {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.stmts[query]
}

func (p *preparedStmts) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, s := range p.stmts {
		errs = append(errs, s.Close())
	}
	p.stmts = nil
	return errors.Join(errs...)
}

// writerStmts keeps the statements of SQLite's writer prepared. The writer
// is one connection, held by the transaction that runs a statement, so a
// statement cannot be prepared on the pool then: the first run of a query
// goes unprepared and asks for it, and the writer prepares what was asked
// for between two transactions (prepareWanted), while it holds the
// writeGate with no transaction open. Parsing the statements of a passkey
// sign-in was a fifth of its processor time (docs/BENCHMARKS.md).
type writerStmts struct {
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt // nil value: cannot be prepared (a script)
	wanted []string
}

// get returns query prepared on the writer's pool, or nil: run it as it
// is (and it will be prepared after this transaction).
func (w *writerStmts) get(query string) *sql.Stmt {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.stmts[query]
	if !ok && len(w.stmts)+len(w.wanted) < maxPrepared && !slices.Contains(w.wanted, query) {
		w.wanted = append(w.wanted, query)
	}
	return s
}

// prepareWanted prepares the statements asked for since it last ran. The
// caller holds the writer, with no transaction open.
func (w *writerStmts) prepareWanted(ctx context.Context, pool *sql.DB) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, q := range w.wanted {
		s, err := pool.PrepareContext(ctx, q)
		if err != nil {
			s = nil
		}
		if w.stmts == nil {
			w.stmts = map[string]*sql.Stmt{}
		}
		w.stmts[q] = s
	}
	w.wanted = w.wanted[:0]
}

func (w *writerStmts) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, s := range w.stmts {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	w.stmts = nil
	return errors.Join(errs...)
}
