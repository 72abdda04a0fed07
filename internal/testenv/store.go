package testenv

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/sqldb"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Databases names the database kinds suites run on: SQLite always, and
// PostgreSQL too unless GATEHOUSE_TEST_POSTGRES=off.
func Databases() []string {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES") == "off" {
		return []string{"sqlite"}
	}
	return []string{"sqlite", "postgres"}
}

// StoreConfig returns the configuration of a fresh, empty database of the
// given kind, on clock: "sqlite" (a file in a folder of the test's),
// "postgres" (a new database, see Postgres) or "postgres-icu" (one with
// ICU collation, see PostgresICU).
func StoreConfig(t testing.TB, kind string, clock gatehouse.Clock) sqldb.Config {
	t.Helper()
	cfg := sqldb.Config{DataDir: t.TempDir(), Clock: clock}
	switch kind {
	case "sqlite":
	case "postgres":
		cfg.URL = Postgres(t)
	case "postgres-icu":
		cfg.URL = PostgresICU(t, "en-US")
	default:
		t.Fatalf("unknown database kind %q", kind)
	}
	return cfg
}

// OpenStore opens the store as the server does (migrating it); it is
// closed when the test ends.
func OpenStore(t testing.TB, cfg sqldb.Config) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenSQL opens a database as package sqldb does: PostgreSQL when url is
// set, else the SQLite file in dataDir (read-only).
func OpenSQL(t testing.TB, url, dataDir string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", url
	if url == "" {
		driver, dsn = "sqlite", filepath.Join(dataDir, "gatehouse.db")+"?_busy_timeout=10000&_query_only=1"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// WriteKeyFile writes a fresh secret key file into dir and returns its path.
func WriteKeyFile(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "test.key")
	if _, _, err := seal.LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	return path
}
