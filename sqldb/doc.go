// Package sqldb implements gatehouse.Store over database/sql, for SQLite
// (modernc.org/sqlite, the embedded default) and PostgreSQL (pgx).
//
// The SQL is written once wherever the two dialects agree, which is nearly
// everywhere: $n placeholders, RETURNING, ON CONFLICT, partial indexes.
// Times are stored as integer milliseconds since the epoch in both, so that
// comparisons and indexes behave the same; zero means "never". Migrations
// are per dialect, numbered, embedded, and applied in order at start-up and
// by `gatehouse migrate`.
//
// SQLite gets two pools: one connection that writes (every write
// transaction begins IMMEDIATE, so writers queue on the busy timeout instead
// of failing on a lock upgrade) and several read-only connections, which WAL
// lets run beside the writer.
package sqldb
