package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

// A batch is a transaction of SQLite's writer that the Updates waiting for
// the writer share: each runs in it behind a savepoint, in the order the
// writeGate grants the writer, and one commit makes all of them. A commit
// writes every page its transaction changed to the log, each with a
// checksum and two writes, and the pages a sign-in changes are mostly
// pages the next sign-in changes too (the last leaf of the sessions and of
// the audit log, say): a passkey sign-in's commit was half of its time
// under the writer, and SQLite's one writer was what bounded sign-ins a
// second (docs/BENCHMARKS.md, Passkeys). A batch grows only while requests
// wait for the writer, so an idle node commits each transaction alone, as
// it did, and a busy one makes fewer, larger commits.
//
// What an Update promised holds for each that shares a batch: it
// returns once its writes are committed, and flushed unless it is lazy;
// writes of an Update whose fn fails are taken back to its savepoint, and
// the others' stay; a failed commit fails every Update in the batch. A
// statement that takes back the whole transaction (SQLite does on a full
// disk or an I/O error) shows when the savepoint is gone: the Updates
// that had finished in the batch then answer EUnavailable, since their
// writes are gone through no fault of theirs, and a retry makes them.
//
// Background work runs alone: its context can end, and a statement that
// a context interrupts takes back the whole transaction. And an fn must
// return its statements' errors, as every fn here does: were one to go on
// after SQLite took the whole transaction back, its later statements, and
// the next transaction's savepoint, would each begin a transaction of
// their own.
type batch struct {
	tx           *sql.Tx
	waitingSince time.Time     // when the first transaction in it finished
	joined       int           // transactions run in it
	kept         int           // of them, those whose writes it holds
	done         chan struct{} // closed when it is committed or failed
	err          error         // set before done closes: why its writes are not made
	ticket       uint64        // set before done closes: its commit's walFlusher ticket
}

// A batch is committed once maxBatch transactions ran in it, or once its
// first has waited maxBatchAge for the others to run: each is a few
// hundred microseconds under the writer.
const (
	maxBatch    = 16
	maxBatchAge = 2 * time.Millisecond
)

// writeShared runs fn as a transaction of SQLite's writer, which the
// caller holds and writeShared gives back: in the batch that the writer's
// previous holder left open, or in a new one. It returns the ticket of the
// commit that made fn's writes, for walFlusher.wait.
func (db *DB) writeShared(ctx context.Context, kind updateKind, fn func(gatehouse.Tx) error) (uint64, error) {
	// Background work never finds a batch open: the writer passes with a
	// batch open only to a request (writeGate.handOff).
	b := db.open
	first := b == nil
	if first {
		sqlTx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			db.gate.release()
			return 0, unavailable(fmt.Errorf("begin: %w", err))
		}
		b = &batch{tx: sqlTx, done: make(chan struct{})}
		db.open = b
	} else if err := db.execWriter(ctx, b.tx, "SAVEPOINT shared"); err != nil {
		err = fmt.Errorf("savepoint: %w", err)
		db.failBatch(err)
		return 0, errUnavailable(err)
	}
	b.joined++

	// fn panicking takes back its own writes, and leaves the others' to be
	// committed, before the panic goes on; recovering would lose where it
	// began.
	returned := false
	defer func() {
		if !returned && !db.takeBack(ctx, first) {
			db.passOrCommit(b, background(kind))
		}
	}()
	tx := &Tx{ctx: ctx, q: b.tx, sqlTx: b.tx, db: db, now: db.now()}
	err := fn(tx)
	returned = true

	if err != nil {
		if db.takeBack(ctx, first) {
			return 0, unavailable(err)
		}
		db.passOrCommit(b, background(kind))
		return 0, unavailable(err)
	}
	if first {
		b.waitingSince = time.Now()
	} else {
		if err := db.execWriter(ctx, b.tx, "RELEASE shared"); err != nil {
			db.failBatch(fmt.Errorf("release: %w", err))
			return 0, b.err
		}
	}
	b.kept++
	db.passOrCommit(b, background(kind))
	<-b.done
	return b.ticket, b.err
}

func background(kind updateKind) bool { return kind == inBackground }

// takeBack undoes the writes of the transaction that ran last in the open
// batch, whose fn failed or panicked. The first of a batch takes the
// whole transaction back, and with it the batch, and gives the writer
// back; it reports whether it did.
func (db *DB) takeBack(ctx context.Context, first bool) (ended bool) {
	b := db.open
	if first {
		db.open = nil
		b.tx.Rollback()
		close(b.done)
		db.releaseWriter()
		return true
	}
	err := db.execWriter(ctx, b.tx, "ROLLBACK TO shared")
	if err == nil {
		err = db.execWriter(ctx, b.tx, "RELEASE shared")
	}
	if err != nil {
		db.failBatch(fmt.Errorf("rollback to savepoint: %w", err))
		return true
	}
	return false
}

// passOrCommit ends the holder's turn at the open batch b: the writer,
// with b still open, passes to the first request waiting for it while b
// has room; otherwise b is committed and the writer given back.
func (db *DB) passOrCommit(b *batch, background bool) {
	if !background && b.joined < maxBatch && time.Since(b.waitingSince) < cmp.Or(db.batchAge, maxBatchAge) && db.gate.handOff() {
		return
	}
	db.commitBatch()
}

// commitBatch commits the open batch, tells the transactions in it, and
// gives the writer back.
func (db *DB) commitBatch() {
	b := db.open
	db.open = nil
	if err := b.tx.Commit(); err != nil {
		b.err = unavailable(fmt.Errorf("commit: %w", err))
	} else {
		b.ticket = db.flusher.committed()
		db.committedTxs.Add(uint64(b.kept))
		if db.ckpt != nil {
			db.ckpt.committed()
		}
	}
	close(b.done)
	db.releaseWriter()
}

// failBatch rolls the open batch back because of err, tells the
// transactions in it, and gives the writer back.
func (db *DB) failBatch(err error) {
	b := db.open
	db.open = nil
	b.tx.Rollback()
	// Requests that had finished lose their writes: each answers 503, and
	// a full or failing disk is what usually does this.
	db.log.Error("SQLite took back a transaction that requests shared: each answers 503 and may retry; check the disk",
		"requests", b.joined, "err", err)
	b.err = errUnavailable(fmt.Errorf("a transaction sharing the commit failed: %w", err))
	close(b.done)
	db.releaseWriter()
}

// releaseWriter gives the writer back with no transaction open, after
// preparing the statements asked for meanwhile (writerStmts).
func (db *DB) releaseWriter() {
	db.writerStmts.prepareWanted(context.Background(), db.write)
	db.gate.release()
}

// execWriter runs one of the batch's own statements, prepared once.
func (db *DB) execWriter(ctx context.Context, tx *sql.Tx, query string) error {
	if s := db.writerStmts.get(query); s != nil {
		_, err := tx.StmtContext(ctx, s).ExecContext(ctx)
		return err
	}
	_, err := tx.ExecContext(ctx, query)
	return err
}
