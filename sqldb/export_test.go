package sqldb

// WALCommits returns, on SQLite, how many commits the writer made and how
// many of them are known to be on the disk, and how many flushes of the
// log that took (see walFlusher).
func WALCommits(db *DB) (issued, flushed, flushes uint64) {
	f := db.flusher
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued, f.done, f.flushes
}
