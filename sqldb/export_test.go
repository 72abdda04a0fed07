package sqldb

import (
	"time"

	"github.com/gatehouse/gatehouse"
)

// WALCommits returns, on SQLite, how many commits the writer made and how
// many of them are known to be on the disk, and how many flushes of the
// log that took (see walFlusher).
func WALCommits(db *DB) (issued, flushed, flushes uint64) {
	f := db.flusher
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued, f.done, f.flushes
}

// Checkpoints returns, on SQLite, the checkpointer's counts: checkpoints
// made, those finished under the writer, those that emptied the log, and
// the last one's error.
func Checkpoints(db *DB) (passes, gated, truncated int, err error) {
	c := db.ckpt
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.passes, c.gated, c.truncated, c.err
}

// SetCheckpointMarks sets the checkpointer's least time between two
// checkpoints, and the log pages from which it finishes under the writer
// and empties the log.
func SetCheckpointMarks(db *DB, interval time.Duration, restartAt, truncateAt int) {
	c := db.ckpt
	c.mu.Lock()
	defer c.mu.Unlock()
	c.interval, c.restartAt, c.truncateAt = interval, restartAt, truncateAt
}

// WriterAutocheckpoint is the writer connection's wal_autocheckpoint.
func WriterAutocheckpoint(db *DB) (int, error) {
	var n int
	err := db.write.QueryRow("PRAGMA wal_autocheckpoint").Scan(&n)
	return n, err
}

// BreakCheckpointer closes the checkpointer's connection, so that its
// checkpoints fail from now on.
func BreakCheckpointer(db *DB) error { return db.ckpt.conn.Close() }

// WritersWaiting is how many requests wait for SQLite's writer.
func WritersWaiting(db *DB) int {
	db.gate.mu.Lock()
	defer db.gate.mu.Unlock()
	return len(db.gate.fg)
}

// ExecRaw runs query as it is in tx, an Update's transaction.
func ExecRaw(tx gatehouse.Tx, query string) error {
	t := tx.(*Tx)
	_, err := t.q.ExecContext(t.ctx, query)
	return err
}

// SetBatchAge sets how long the first transaction of a batch waits for
// others at most (maxBatchAge).
func SetBatchAge(db *DB, d time.Duration) { db.batchAge = d }
