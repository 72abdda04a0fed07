package sqldb

import (
	"database/sql"
	"errors"
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
	p.mu.RLock()
	s := p.stmts[query]
	p.mu.RUnlock()
	if s != nil {
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
