package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
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
// PostgreSQL commits it with synchronous_commit off. SQLite flushes its log
// lazyFlushDelay later, or with the next Update's flush, whichever comes
// first. A login saves the two flushes of its commits this way: a few
// milliseconds each, as long as the rest of a login apart from its hash.
func (db *DB) UpdateLazy(ctx context.Context, fn func(gatehouse.Tx) error) error {
	return db.update(ctx, lazily, fn)
}

// updateKind says how a write transaction queues and commits.
type updateKind int

const (
	forRequest   updateKind = iota // first in the writer's queue, flushed before it returns
	inBackground                   // after waiting requests (writeGate), flushed before it returns
	lazily                         // first in the queue, flushed soon after it returns
)

func (db *DB) update(ctx context.Context, kind updateKind, fn func(gatehouse.Tx) error) error {
	if db.gate == nil { // PostgreSQL
		sqlTx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return unavailable(fmt.Errorf("begin: %w", err))
		}
		if kind == lazily {
			if _, err := sqlTx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				sqlTx.Rollback()
				return unavailable(fmt.Errorf("begin: %w", err))
			}
		}
		return db.run(ctx, sqlTx, fn)
	}
	// SQLite: the writer commits at synchronous=NORMAL and the log is
	// flushed after the writer is given back (group commit, see walFlusher);
	// requests waiting for the writer share its transactions (batch.go).
	if err := db.gate.acquire(ctx, kind == inBackground); err != nil {
		return unavailable(fmt.Errorf("begin: %w", err))
	}
	// Once it holds the writer, a request's transaction runs to its end
	// whatever becomes of the request: its statements are point reads and
	// writes of microseconds, and on a context that can end, database/sql
	// and the driver each start a goroutine per statement (and one per
	// transaction) to watch for it, which cost more than the statements
	// (a passkey sign-in: some twenty goroutines, 15% of its processor
	// time in BenchmarkPasskeySignIn). A statement that a context ends
	// would also take back a whole transaction that others share.
	// Background work keeps its context, which a shutdown ends, and a
	// transaction of its own.
	if kind != inBackground {
		ctx = context.WithoutCancel(ctx)
	}
	ticket, err := db.writeShared(ctx, kind, fn)
	if err != nil {
		return err
	}
	if kind == lazily {
		db.scheduleFlush()
		return nil
	}
	if err := db.flusher.wait(ticket); err != nil {
		return unavailable(fmt.Errorf("flush: %w", err))
	}
	return nil
}

// now is a transaction's time: the clock's, in UTC, to the millisecond
// that both databases keep.
func (db *DB) now() time.Time { return db.clock.Now().UTC().Truncate(time.Millisecond) }

// run runs fn in sqlTx and commits.
func (db *DB) run(ctx context.Context, sqlTx *sql.Tx, fn func(gatehouse.Tx) error) error {
	tx := &Tx{ctx: ctx, q: sqlTx, sqlTx: sqlTx, db: db, now: db.now()}
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
		time.AfterFunc(lazyFlushDelay, func() {
			db.flushPending.Store(false)
			db.flusher.wait(db.flusher.last())
		})
	}
}

// walFlusher is SQLite's group commit. The writer commits at
// synchronous=NORMAL: the transaction is in the write-ahead log, atomic and
// visible, but not yet on the disk. Update then gives the writer back and
// waits until a flush (fsync) of the log that began after its commit has
// ended; a flush that one waiter starts covers every commit made before it
// began, so the transactions that commit while a flush runs share the
// next one. An acknowledged Update survives a power cut as it did with
// synchronous=FULL, but the single writer is no longer held while the disk
// flushes: with FULL each commit held it for a whole fsync, so a node's
// flushed commits a second were bounded by the disk's flushes a second,
// whatever its processors could do.
//
// A checkpoint flushes the log before it copies it into the database and
// flushes the database after, and the log is only written over from the
// start, or emptied, once a checkpoint has copied all of it: so a commit
// whose frames were checkpointed, or whose log is gone (the last
// connection closing removes it after a checkpoint), is on the disk
// already. The checkpoints are the checkpointer's (checkpoint.go), not the
// writer's, made on a connection of their own at synchronous=NORMAL, at
// which SQLite flushes at each checkpoint (at OFF it would not, and this
// argument would fail); the writer only starts the log over when a write
// begins and finds all of it copied.
//
// A flush that fails (a failing disk) leaves the commit made and visible
// but not known to be on the disk: its Update answers EUnavailable, as an
// Update whose commit failed does, and the next flush tries again.
type walFlusher struct {
	path string // the log: gatehouse.db-wal

	mu      sync.Mutex
	cond    sync.Cond
	issued  uint64 // commits made, in the writer's order
	done    uint64 // commits known to be on the disk
	running bool   // a flush is under way
	flushes uint64 // flushes made (for tests)
}

func newWALFlusher(path string) *walFlusher {
	f := &walFlusher{path: path}
	f.cond.L = &f.mu
	return f
}

// committed counts a commit, and returns its ticket for wait. It is
// called while the writer is held, so tickets follow the log's order.
func (f *walFlusher) committed() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issued++
	return f.issued
}

// last is the ticket of the latest commit.
func (f *walFlusher) last() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued
}

// wait returns once the commit of ticket is on the disk: flushed by a
// flush that began after it, its own or another waiter's.
func (f *walFlusher) wait(ticket uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.done < ticket {
		if f.running {
			f.cond.Wait()
			continue
		}
		f.running = true
		target := f.issued
		f.mu.Unlock()
		err := f.sync()
		f.mu.Lock()
		f.running = false
		f.flushes++
		if err == nil {
			f.done = max(f.done, target)
		}
		f.cond.Broadcast()
		if err != nil {
			return err
		}
	}
	return nil
}

// sync flushes the log: fsync of any descriptor of a file flushes all of
// it.
func (f *walFlusher) sync() error {
	file, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no log: it was checkpointed away, flushed on the way
	}
	if err != nil {
		return err
	}
	defer file.Close()
	return file.Sync()
}

// View runs fn on the read pool, outside a transaction: the hot path of a
// session check is one query, and a transaction would double its round trips.
func (db *DB) View(ctx context.Context, fn func(gatehouse.Tx) error) error {
	tx := &Tx{ctx: ctx, q: db.read, db: db, now: db.now(), readOnly: true}
	return unavailable(fn(tx))
}

// ViewSnapshot runs fn in a read-only transaction on the read pool: a
// REPEATABLE READ one on PostgreSQL, whose reads all see the snapshot of
// its first; on SQLite a deferred one, whose first read fixes the
// write-ahead log's frames it sees.
func (db *DB) ViewSnapshot(ctx context.Context, fn func(gatehouse.Tx) error) error {
	opts := &sql.TxOptions{}
	if db.dialect == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	sqlTx, err := db.read.BeginTx(ctx, opts)
	if err != nil {
		return unavailable(fmt.Errorf("begin: %w", err))
	}
	defer sqlTx.Rollback() // nothing to keep
	tx := &Tx{ctx: ctx, q: sqlTx, sqlTx: sqlTx, db: db, now: db.now(), readOnly: true}
	return unavailable(fn(tx))
}
