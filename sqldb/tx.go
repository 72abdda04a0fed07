package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// querier is what a Tx runs its SQL on: a transaction in Update and
// ViewSnapshot, the read pool in View.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx implements gatehouse.Tx.
type Tx struct {
	ctx      context.Context
	q        querier
	sqlTx    *sql.Tx // the transaction of an Update or ViewSnapshot; nil in View
	db       *DB
	now      time.Time
	readOnly bool
}

var _ gatehouse.Tx = (*Tx)(nil)

// Now is the transaction's time.
func (tx *Tx) Now() time.Time { return tx.now }

func (tx *Tx) exec(query string, args ...any) (int64, error) {
	if tx.readOnly {
		return 0, errors.New("sqldb: write inside View")
	}
	if err := checkText(args); err != nil {
		return 0, err
	}
	var res sql.Result
	var err error
	if s := tx.stmt(query); s != nil {
		res, err = s.ExecContext(tx.ctx, args...)
	} else {
		res, err = tx.q.ExecContext(tx.ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (tx *Tx) query(query string, args ...any) (*sql.Rows, error) {
	if err := checkText(args); err != nil {
		return nil, err
	}
	if s := tx.stmt(query); s != nil {
		return s.QueryContext(tx.ctx, args...)
	}
	return tx.q.QueryContext(tx.ctx, query, args...)
}

func (tx *Tx) queryRow(query string, args ...any) scanner {
	if err := checkText(args); err != nil {
		return errRow{err}
	}
	if s := tx.stmt(query); s != nil {
		return s.QueryRowContext(tx.ctx, args...)
	}
	return tx.q.QueryRowContext(tx.ctx, query, args...)
}

// lookupRow is queryRow for a point lookup on a unique index, which SQLite
// answers in microseconds: there it runs without the request's
// cancellation, since watching for it costs more than the lookup
// (database/sql and the driver each start a goroutine per query on a
// context that can end). PostgreSQL keeps it: its queries cross a network.
func (tx *Tx) lookupRow(query string, args ...any) scanner {
	if tx.db.dialect != SQLite {
		return tx.queryRow(query, args...)
	}
	ntx := *tx
	ntx.ctx = context.WithoutCancel(tx.ctx)
	return ntx.queryRow(query, args...)
}

// stmt returns query prepared on SQLite, on the read pool (View, and
// ViewSnapshot once View prepared it) or on the writer (Update), or nil:
// run it as it is.
func (tx *Tx) stmt(query string) *sql.Stmt {
	switch {
	case tx.db.dialect != SQLite:
		return nil
	case tx.readOnly && tx.sqlTx != nil: // ViewSnapshot
		if s := tx.db.prepared.prepared(query); s != nil {
			return tx.sqlTx.StmtContext(tx.ctx, s)
		}
	case tx.readOnly:
		return tx.db.prepared.get(tx.db.read, query)
	case tx.sqlTx != nil:
		if s := tx.db.writerStmts.get(query); s != nil {
			return tx.sqlTx.StmtContext(tx.ctx, s)
		}
	}
	return nil
}

// checkText refuses text that a database cannot hold: a NUL character or
// bytes that are not UTF-8. PostgreSQL rejects both with an error (a 500
// for the client), while SQLite stores and compares them as given, so the
// same request would mean different things on the two. Refusing them here,
// on the way into every statement, answers 400 on both whatever path the
// text took: a URL path segment, a query parameter, a decoded cursor.
func checkText(args []any) error {
	for _, a := range args {
		if s, ok := a.(string); ok && (!utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0) {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "Text cannot contain NUL characters or bytes that are not UTF-8.")
		}
	}
	return nil
}

// errRow is a row whose query was refused before it ran.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// ms stores a time as integer milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS reads a time stored by ms.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// notFound turns sql.ErrNoRows into the domain's ENotFound.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.Errorf(gatehouse.ENotFound, "%s not found.", what)
	}
	return err
}

// placeholders returns "$from, $from+1, ..." for n values, for IN lists.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}
