package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/gatehouse/gatehouse"
)

// Dialect names the SQL database behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says which database to open.
type Config struct {
	// URL is a postgres:// or postgresql:// URL; empty means SQLite in DataDir.
	URL string
	// DataDir holds gatehouse.db when URL is empty.
	DataDir string
	// MaxConns bounds the connections of a PostgreSQL pool (default 20) and
	// the read connections of SQLite (default 2 × cores).
	MaxConns int
	// ConnectTimeout bounds each new PostgreSQL connection (default 5s).
	ConnectTimeout time.Duration
	// StatementTimeout bounds each PostgreSQL statement, and any transaction
	// left idle, on the server (default 10s). Gatehouse's statements take
	// milliseconds; one that runs this long is stuck behind a lock or an
	// overloaded server, and the client is better told to retry.
	StatementTimeout time.Duration
	// Clock gives each transaction its time; the system clock by default.
	Clock gatehouse.Clock
	// Log hears what an operator must act on (SQLite's checkpoints
	// failing, a transaction that requests shared taken back); nothing by
	// default.
	Log *slog.Logger
}

// DB is the store. It is safe for concurrent use.
type DB struct {
	dialect Dialect
	path    string  // SQLite: the database file
	write   *sql.DB // SQLite: one connection; PostgreSQL: the pool
	read    *sql.DB // SQLite: read-only connections; PostgreSQL: the same pool
	clock   gatehouse.Clock

	flusher      *walFlusher // SQLite: flushes the write-ahead log after commits (group commit)
	flushPending atomic.Bool // SQLite: a flush of the log is scheduled
	// prepared holds the read pool's statements on SQLite, writerStmts
	// the writer's (see prepared.go).
	prepared    preparedStmts
	writerStmts writerStmts
	// gate orders SQLite's writers, requests first; nil on PostgreSQL,
	// whose pool has room for requests beside the background work.
	gate *writeGate
	// open is the batch (batch.go) that the writer's holder runs its
	// transaction in, left open by the previous holder; nil when none is.
	// Only the holder of the writer touches it.
	open *batch
	// log is Config.Log, on SQLite (PostgreSQL says nothing).
	log *slog.Logger
	// batchAge is maxBatchAge unless a test sets it.
	batchAge time.Duration
	// committedTxs counts the write transactions committed on SQLite.
	committedTxs atomic.Uint64
	// ckpt copies SQLite's log into the database file, in place of the
	// writer's automatic checkpoints; nil on PostgreSQL, and until Open
	// has migrated the schema.
	ckpt *checkpointer
}

var _ gatehouse.Store = (*DB)(nil)

// Open opens the database and brings its schema up to date.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	db, err := open(cfg)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.flusher != nil {
		// The migrations committed at synchronous=NORMAL.
		if err := db.flusher.sync(); err != nil {
			db.Close()
			return nil, fmt.Errorf("flush: %w", err)
		}
	}
	if db.dialect == SQLite {
		conn, err := sql.Open("sqlite", db.path+"?_synchronous=NORMAL&_busy_timeout="+strconv.FormatInt(checkpointBusyTimeout.Milliseconds(), 10))
		if err != nil {
			db.Close()
			return nil, err
		}
		oneConnection(conn)
		db.log = cfg.Log
		if db.log == nil {
			db.log = slog.New(slog.DiscardHandler)
		}
		db.ckpt = newCheckpointer(conn, db.gate, db.log)
		db.ckpt.committed() // the migrations' pages
	}
	return db, nil
}

// CheckpointStats says, on SQLite, how many pages the write-ahead log held
// as the checkpointer last left it, and how many of its checkpoints failed
// since the start: a log that stays large means readers that never let
// it start over, or checkpoints that fail (the log says why). ok is false
// on PostgreSQL.
func (db *DB) CheckpointStats() (logPages int, failures uint64, ok bool) {
	if db.ckpt == nil {
		return 0, 0, false
	}
	logPages, failures = db.ckpt.stats()
	return logPages, failures, true
}

// WriteStats says, on SQLite, how many write transactions were committed
// since the start, and in how many commits: under load the requests that
// wait for the writer share its commits (batch.go), and transactions ÷
// commits is how many a commit made. ok is false on PostgreSQL.
func (db *DB) WriteStats() (transactions, commits uint64, ok bool) {
	if db.flusher == nil {
		return 0, 0, false
	}
	return db.committedTxs.Load(), db.flusher.last(), true
}

// sqliteParams are the settings of every SQLite connection.
const sqliteParams = "?_busy_timeout=10000&_foreign_keys=1&_journal_mode=WAL&_synchronous=NORMAL"

// IsPostgresURL reports whether s names a PostgreSQL database.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func open(cfg Config) (*DB, error) {
	clock := cfg.Clock
	if clock == nil {
		clock = gatehouse.SystemClock{}
	}
	if cfg.URL != "" {
		if !IsPostgresURL(cfg.URL) {
			return nil, fmt.Errorf("--database-url must start with postgres:// or postgresql://")
		}
		return openPostgres(cfg, clock)
	}
	return openSQLite(cfg, clock)
}

func openSQLite(cfg Config, clock gatehouse.Clock) (*DB, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("sqldb: no data folder")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	if err := registerSQLiteLower(); err != nil {
		return nil, fmt.Errorf("register %s: %w", sqliteLower, err)
	}
	path := filepath.Join(cfg.DataDir, "gatehouse.db")
	if err := makePrivate(path); err != nil {
		return nil, err
	}
	// A commit is on disk before we answer, so an acknowledged reset
	// request or queued mail survives a power cut too: the writer commits
	// at synchronous=NORMAL and Update flushes the log after giving the
	// writer back (walFlusher, a group commit).
	// The writer leaves checkpoints to the checkpointer: SQLite's
	// automatic one runs inside a commit, holding the writer. Its
	// temporary storage is memory: the savepoints of a batch (batch.go)
	// keep each page's first copy there, which in a temporary file cost
	// a write call a page (13% of a passkey sign-in's processor time under
	// load, BenchmarkPasskeySignIn/sqlite/parallel).
	write, err := sql.Open("sqlite", path+sqliteParams+"&_txlock=immediate&_pragma=wal_autocheckpoint(0)&_pragma=temp_store(memory)")
	if err != nil {
		return nil, err
	}
	oneConnection(write)
	// The writer makes the file and switches it to WAL before readers open.
	if err := write.Ping(); err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", path+sqliteParams+"&_query_only=1")
	if err != nil {
		write.Close()
		return nil, err
	}
	n := cfg.MaxConns
	if n <= 0 {
		n = 2 * runtime.NumCPU()
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	return &DB{dialect: SQLite, write: write, read: read, clock: clock, flusher: newWALFlusher(path + "-wal"), gate: &writeGate{}, path: path}, nil
}

// oneConnection makes pool one connection, kept open for ever: SQLite's
// writer, and the checkpointer's.
func oneConnection(pool *sql.DB) {
	pool.SetMaxOpenConns(1)
	pool.SetMaxIdleConns(1)
	pool.SetConnMaxLifetime(0)
	pool.SetConnMaxIdleTime(0)
}

// makePrivate creates the database file readable by its owner only, or
// makes an existing one so, with its WAL and shared-memory files. SQLite
// creates the WAL and shared-memory files with the database file's mode,
// and the database file with 0644 less the umask: readable by every
// account on the machine, for a file holding password hashes, sessions and
// sealed secrets, whenever the data folder itself is not private (made by
// hand, or a mounted volume).
func makePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, info.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("make %s private: %w", p, err)
			}
		}
	}
	return nil
}

func openPostgres(cfg Config, clock gatehouse.Clock) (*DB, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("--database-url: %w", err)
	}
	// Settings already in the URL win over the flags.
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		t := orDefault(cfg.ConnectTimeout, DefaultConnectTimeout)
		q.Set("connect_timeout", strconv.Itoa(max(1, int(t.Round(time.Second).Seconds()))))
	}
	// pgx sends parameters it does not know itself as run-time settings
	// in the start-up message, so every pooled connection has them.
	st := orDefault(cfg.StatementTimeout, DefaultStatementTimeout)
	for _, p := range []string{"statement_timeout", "idle_in_transaction_session_timeout"} {
		if q.Get(p) == "" {
			q.Set(p, strconv.FormatInt(st.Milliseconds(), 10))
		}
	}
	u.RawQuery = q.Encode()
	pool, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	n := orDefault(cfg.MaxConns, DefaultMaxConns)
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	pool.SetConnMaxLifetime(time.Hour)
	return &DB{dialect: Postgres, write: pool, read: pool, clock: clock}, nil
}

// Defaults of the PostgreSQL pool (Config's zero values).
const (
	DefaultMaxConns         = 20
	DefaultConnectTimeout   = 5 * time.Second
	DefaultStatementTimeout = 10 * time.Second
)

// orDefault returns v, or def when v is not positive.
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Dialect tells which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close stops the checkpointer and closes the pools.
func (db *DB) Close() error {
	var err error
	if db.ckpt != nil {
		err = db.ckpt.close()
	}
	err = errors.Join(err, db.prepared.close(), db.writerStmts.close(), db.write.Close())
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping reports whether the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return unavailable(db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one))
}
