package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"time"

	"github.com/gatehouse/gatehouse"
)

// lazyFlushDelay is how soon a lazy commit reaches the disk on SQLite;
// PostgreSQL's WAL writer takes at most three times wal_writer_delay
// (200 ms by default) to do the same.
const lazyFlushDelay = 200 * time.Millisecond

// Update runs fn in a read-write transaction. When the database cannot be
// reached the error is EUnavailable (see unavailable).
func (db *DB) Update(ctx context.Context, fn func(gatehouse.Tx) error) error {
	return db.update(ctx, forRequest, fn)
}

// UpdateBackground is Update for work that should yield to requests: on
// SQLite it takes the one writer when no Update waits for it, or when it
// has waited bgMaxWait (see writeGate).
func (db *DB) UpdateBackground(ctx context.Context, fn func(gatehouse.Tx) error) error {
	return db.update(ctx, inBackground, fn)
}

// UpdateLazy is Update without waiting for the disk (see gatehouse.Store).
// PostgreSQL commits it with synchronous_commit off. SQLite commits it
// with synchronous=NORMAL, which in WAL mode never corrupts the database
// (checkpoints still flush), and flushes the log lazyFlushDelay later,
// or at the next Update, whichever comes first. A login saves the two
// flushes of its commits this way: a few milliseconds each, as long as
// the rest of a login apart from its hash.
func (db *DB) UpdateLazy(ctx context.Context, fn func(gatehouse.Tx) error) error {
	return db.update(ctx, lazily, fn)
}

// updateKind says how a write transaction queues and commits.
type updateKind int

const (
	forRequest   updateKind = iota // first in the writer's queue, flushed at commit
	inBackground                   // after waiting requests (writeGate), flushed at commit
	lazily                         // first in the queue, flushed soon after the commit
)

func (db *DB) update(ctx context.Context, kind updateKind, fn func(gatehouse.Tx) error) error {
	if db.gate != nil {
		if err := db.gate.acquire(ctx, kind == inBackground); err != nil {
			return unavailable(fmt.Errorf("begin: %w", err))
		}
		defer db.gate.release()
	}
	if kind == lazily && db.dialect == SQLite {
		return db.updateUnflushed(ctx, fn)
	}
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(fmt.Errorf("begin: %w", err))
	}
	if kind == lazily { // PostgreSQL
		if _, err := sqlTx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			sqlTx.Rollback()
			return unavailable(fmt.Errorf("begin: %w", err))
		}
	}
	return db.run(ctx, sqlTx, fn)
}

// updateUnflushed commits fn on SQLite's writer at synchronous=NORMAL,
// sets the writer back to FULL, and schedules a flush of the log.
func (db *DB) updateUnflushed(ctx context.Context, fn func(gatehouse.Tx) error) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return unavailable(fmt.Errorf("begin: %w", err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return unavailable(fmt.Errorf("begin: %w", err))
	}
	defer func() {
		// The writer must not stay lazy for the next Update: a connection
		// that cannot be set back is thrown away.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL"); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(fmt.Errorf("begin: %w", err))
	}
	if err := db.run(ctx, sqlTx, fn); err != nil {
		return err
	}
	db.scheduleFlush()
	return nil
}

// run runs fn in sqlTx and commits.
func (db *DB) run(ctx context.Context, sqlTx *sql.Tx, fn func(gatehouse.Tx) error) error {
	tx := &Tx{ctx: ctx, q: sqlTx, db: db, now: db.clock.Now().UTC().Truncate(time.Millisecond)}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return unavailable(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return unavailable(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// scheduleFlush makes the lazy commits of SQLite durable lazyFlushDelay
// from now, one flush for all the commits until then.
func (db *DB) scheduleFlush() {
	if db.flushPending.CompareAndSwap(false, true) {
		time.AfterFunc(lazyFlushDelay, db.flushWAL)
	}
}

// flushWAL writes the log to the disk: fsync of any descriptor of a file
// flushes all of it, so the committed frames survive a power cut.
func (db *DB) flushWAL() {
	db.flushPending.Store(false)
	f, err := os.Open(db.wal)
	if err != nil {
		return // no log: it was checkpointed away, flushed on the way
	}
	defer f.Close()
	f.Sync()
}

// View runs fn on the read pool, outside a transaction: the hot path of a
// session check is one query, and a transaction would double its round trips.
func (db *DB) View(ctx context.Context, fn func(gatehouse.Tx) error) error {
	tx := &Tx{ctx: ctx, q: db.read, db: db, now: db.clock.Now().UTC().Truncate(time.Millisecond), readOnly: true}
	return unavailable(fn(tx))
}
