package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrations embed.FS

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
