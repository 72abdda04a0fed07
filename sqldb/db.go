package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse"
)

//go:embed migrations
var migrations embed.FS

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
}

// DB is the store. It is safe for concurrent use.
type DB struct {
	dialect Dialect
	write   *sql.DB // SQLite: one connection; PostgreSQL: the pool
	read    *sql.DB // SQLite: read-only connections; PostgreSQL: the same pool
	clock   gatehouse.Clock

	wal          string      // SQLite: the write-ahead log's path, flushed after lazy commits
	flushPending atomic.Bool // SQLite: a flush of the log is scheduled
	// prepared holds the read pool's statements on SQLite (see prepared.go).
	prepared preparedStmts
	// gate orders SQLite's writers, requests first; nil on PostgreSQL,
	// whose pool has room for requests beside the background work.
	gate *writeGate
}

// lazyFlushDelay is how soon a lazy commit reaches the disk on SQLite;
// PostgreSQL's WAL writer takes at most three times wal_writer_delay
// (200 ms by default) to do the same.
const lazyFlushDelay = 200 * time.Millisecond

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
	return db, nil
}

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
	// synchronous=FULL: a commit is on disk before we answer, so an
	// acknowledged reset request or queued mail survives a power cut too.
	params := "?_busy_timeout=10000&_foreign_keys=1&_journal_mode=WAL&_synchronous=FULL"
	write, err := sql.Open("sqlite", path+params+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// The writer makes the file and switches it to WAL before readers open.
	if err := write.Ping(); err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", path+params+"&_query_only=1")
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
	return &DB{dialect: SQLite, write: write, read: read, clock: clock, wal: path + "-wal", gate: &writeGate{}}, nil
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

// Close closes the pools.
func (db *DB) Close() error {
	err := errors.Join(db.prepared.close(), db.write.Close())
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

// Migrate applies the migrations this binary knows and the database lacks,
// each in its own transaction. On PostgreSQL an advisory lock makes nodes
// starting together migrate once; on SQLite the write lock does.
func (db *DB) Migrate(ctx context.Context) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return unavailable(fmt.Errorf("connect: %w", err))
	}
	defer conn.Close()
	if db.dialect == Postgres {
		// Waiting for another node's migration, or building an index on a
		// large table, may take longer than a request's statement timeout.
		if _, err := conn.ExecContext(ctx, "SET statement_timeout = 0"); err != nil {
			return unavailable(fmt.Errorf("connect: %w", err))
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "RESET statement_timeout")
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	files, err := migrationFiles(db.dialect)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := db.applyMigration(ctx, conn, f); err != nil {
			return err
		}
	}
	return nil
}

// migrationLockKey is an arbitrary constant: "gatehous" as an int64.
const migrationLockKey = 0x6761746568617573

type migration struct {
	version int64
	name    string
}

// LatestVersion is the newest migration this binary knows for d.
func LatestVersion(d Dialect) (int64, error) {
	ms, err := migrationFiles(d)
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	return ms[len(ms)-1].version, nil
}

func migrationFiles(d Dialect) ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations/"+string(d))
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", e.Name())
		}
		ms = append(ms, migration{version: v, name: e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	// Two branches that each added the next number would otherwise apply
	// one file and silently skip the other.
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same number; renumber one", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

func (db *DB) applyMigration(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", m.version).Scan(&n); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile("migrations/" + string(db.dialect) + "/" + m.name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
		m.version, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("record migration %s: %w", m.name, err)
	}
	return tx.Commit()
}

// SchemaVersion returns the newest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	err := db.read.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v)
	return v.Int64, err
}

// isUniqueViolation tells a unique-constraint failure by the driver's error
// code, never by its message.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}
