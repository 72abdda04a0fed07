package sqldb

import "context"

// WriterSynchronous returns the synchronous setting of SQLite's writer
// connection (2 is FULL), for tests that check a lazy commit restored it.
func WriterSynchronous(ctx context.Context, db *DB) (int, error) {
	var n int
	err := db.write.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&n)
	return n, err
}
