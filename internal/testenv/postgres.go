package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// PostgresAdminURL is the server the tests create databases on; set
// GATEHOUSE_TEST_POSTGRES to use another.
func PostgresAdminURL() string {
	if u := os.Getenv("GATEHOUSE_TEST_POSTGRES"); u != "" && u != "off" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Postgres creates a fresh, empty database for the test and drops it
// afterwards. It returns the database's URL.
func Postgres(t testing.TB) string {
	t.Helper()
	return createPostgres(t, "")
}

// PostgresICU is Postgres with the database's default collation set to an
// ICU locale such as "en-US", as many production databases are: strings
// then sort as people expect ("~" before "a"), not byte by byte, and SQL
// that assumes byte order shows its bug.
func PostgresICU(t testing.TB, locale string) string {
	t.Helper()
	return createPostgres(t, " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '"+locale+"' LOCALE 'C.UTF-8'")
}

func createPostgres(t testing.TB, options string) string {
	t.Helper()
	if os.Getenv("GATEHOUSE_TEST_POSTGRES") == "off" {
		Need(t, "PostgreSQL tests are off (GATEHOUSE_TEST_POSTGRES=off)")
	}
	admin, err := sql.Open("pgx", PostgresAdminURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		Need(t, "PostgreSQL is not reachable at "+PostgresAdminURL()+" ("+err.Error()+"); set GATEHOUSE_TEST_POSTGRES")
	}
	var b [6]byte
	rand.Read(b[:])
	name := "gatehouse_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+options); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(PostgresAdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
