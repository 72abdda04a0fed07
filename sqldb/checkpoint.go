package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// checkpointer copies SQLite's write-ahead log into the database file from
// a connection of its own, so that the writer's commits never do. SQLite's
// automatic checkpoint (every 1,000 log pages by default) runs inside the
// COMMIT that crosses the mark, while that transaction holds the one
// writer: it flushes the log, copies the pages into the database file and
// flushes that, some 5 to 30 ms in which every other writer waits with the
// processors idle. Under gatehouse-bench's passkey scenario commits of
// over 1 ms took 3.5 s of the 9.2 s the writer was held (docs/BENCHMARKS.md,
// Passkeys). So the writer connection runs with
// wal_autocheckpoint=0, and this goroutine checkpoints instead:
//
//   - After commits (at most once every checkpointInterval) a PASSIVE
//     checkpoint, without the writer: it copies what it can while the
//     writer goes on appending.
//   - SQLite starts the log over from its beginning only when a write
//     transaction begins with all of it copied, which a checkpoint that
//     runs beside the writer rarely leaves behind. So once the log holds
//     restartAt pages or more, the rest is copied by a second PASSIVE
//     checkpoint while the checkpointer holds the writer (the pages
//     appended during the first, and two flushes), and the next commit
//     starts the log over, unless a reader still reads from it. The log's
//     page count, as a checkpoint begins, cannot tell whether the writer
//     has appended since, so this pass always runs past restartAt.
//   - Readers that keep reading from the log can stop both. Once it holds
//     truncateAt pages, the checkpoint under the writer is a TRUNCATE one:
//     it waits until no reader reads from the log, then empties it. Its
//     connection's busy_timeout (checkpointBusyTimeout) bounds that wait,
//     and so the writers' wait: readers that read without pause (a
//     TRUNCATE waiting on them never saw all of them leave in 10 s in
//     TestCheckpointerBoundsTheLog) would otherwise hold the writer for as
//     long. A TRUNCATE that gives up is tried again once the log has grown
//     by another truncateAt pages.
//
// The log therefore stays near restartAt pages plus what the writer
// appends in a checkpointInterval, as with the automatic checkpoint (and
// the log file, which SQLite writes over from its start rather than
// shrink, near its largest such size), and past truncateAt pages (about
// 80 MB with 4 KiB pages) only while readers never all leave it for
// checkpointBusyTimeout, for which the automatic checkpoint had no answer.
type checkpointer struct {
	conn *sql.DB // one connection of its own
	gate *writeGate
	log  *slog.Logger

	wake    chan struct{} // a commit was made since the last checkpoint
	stop    chan struct{}
	closing sync.Once
	done    chan struct{}

	mu           sync.Mutex
	interval     time.Duration // the least time between two checkpoints
	restartAt    int           // log pages from which the checkpoint finishes under the writer
	truncateAt   int           // log pages from which it waits for readers and empties the log
	passes       int           // checkpoints made (for tests)
	gated        int           // of them, finished under the writer
	truncated    int           // of them, TRUNCATE that emptied the log
	nextTruncate int           // log pages from which the next TRUNCATE is tried (0: truncateAt)
	err          error         // the last checkpoint's failure, nil once one succeeds
	logPages     int           // the pages in the log as the last checkpoint left it
	failures     uint64        // checkpoints that failed since the start
}

// checkpointInterval is the least time between two checkpoints: at
// 25,000 log pages a second (the passkey scenario's rate) some 5,000
// pages each. Every checkpoint copies the pages the sign-ins keep
// changing again, and its second pass holds the writer for two flushes
// (some 5 to 9 ms on a busy disk): in gatehouse-bench's passkey scenario
// 200 ms cost the writer 22 µs a commit in those passes against 33 to 67
// µs at 50 ms (docs/BENCHMARKS.md, Passkeys).
const checkpointInterval = 200 * time.Millisecond

// checkpointBusyTimeout bounds a TRUNCATE checkpoint's wait for readers,
// with the writer held.
const checkpointBusyTimeout = 50 * time.Millisecond

// Defaults of checkpointer's marks, in log pages.
const (
	checkpointRestartAt  = 1000 // SQLite's automatic checkpoint's default
	checkpointTruncateAt = 20000
)

func newCheckpointer(conn *sql.DB, gate *writeGate, log *slog.Logger) *checkpointer {
	c := &checkpointer{conn: conn, gate: gate, log: log, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		interval: checkpointInterval, restartAt: checkpointRestartAt, truncateAt: checkpointTruncateAt}
	go c.run()
	return c
}

// committed tells the checkpointer that the log has grown. The writer
// calls it after each commit; it does not block.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		err := c.checkpoint()
		c.mu.Lock()
		failing := c.err != nil
		c.err = err
		if err != nil {
			c.failures++
		}
		interval, logPages := c.interval, c.logPages
		c.mu.Unlock()
		// Once when checkpoints start failing and once when they work
		// again: the log grows meanwhile, and a node retries every
		// interval.
		switch {
		case err != nil && !failing:
			c.log.Error("SQLite checkpoint failed: the write-ahead log (gatehouse.db-wal) grows until one succeeds; check the disk",
				"err", err, "log_pages", logPages)
		case err == nil && failing:
			c.log.Info("SQLite checkpoints work again", "log_pages", logPages)
		}
		select {
		case <-c.stop:
			return
		case <-time.After(interval):
		}
	}
}

// checkpoint makes one checkpoint, finished under the writer when the log
// has grown past restartAt.
func (c *checkpointer) checkpoint() error {
	ctx := context.Background()
	_, log, _, err := c.pragma(ctx, "PASSIVE")
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.passes++
	c.logPages = log
	restartAt, truncateAt := c.restartAt, max(c.truncateAt, c.nextTruncate)
	c.mu.Unlock()
	// log counts the pages as the checkpoint began: all of them copied
	// does not tell whether the writer has appended since.
	if log < restartAt {
		return nil
	}
	mode := "PASSIVE"
	if log >= truncateAt {
		mode = "TRUNCATE"
	}
	// As background work: a request waits for it at most once, and it
	// waits for requests at most bgMaxWait.
	if err := c.gate.acquire(ctx, true); err != nil {
		return err
	}
	busy, after, _, err := c.pragma(ctx, mode)
	c.gate.release()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gated++
	if err == nil {
		c.logPages = after
	}
	if mode == "TRUNCATE" {
		if err == nil && busy == 0 && after == 0 {
			c.truncated++
			c.nextTruncate = 0
		} else {
			c.nextTruncate = log + c.truncateAt
		}
	}
	return err
}

// pragma runs PRAGMA wal_checkpoint(mode), and returns whether it gave up
// waiting (1), the pages in the log and how many of them are in the
// database file now.
func (c *checkpointer) pragma(ctx context.Context, mode string) (busy, log, copied int, err error) {
	if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &log, &copied); err != nil {
		return 0, 0, 0, fmt.Errorf("checkpoint: %w", err)
	}
	return busy, log, copied, nil
}

// stats returns the pages in the log as the last checkpoint left it and
// the checkpoints that failed since the start.
func (c *checkpointer) stats() (logPages int, failures uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logPages, c.failures
}

// close stops the checkpointer and closes its connection; closing again
// does nothing, as closing a DB twice does.
func (c *checkpointer) close() error {
	c.closing.Do(func() { close(c.stop) })
	<-c.done
	return c.conn.Close()
}
