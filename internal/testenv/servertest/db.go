package servertest

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// SQL opens the server's database directly, beside the server's own pools,
// so that a test can check what a request did or did not change. It is
// closed when the test ends.
func (s *Server) SQL(t testing.TB) *sql.DB {
	t.Helper()
	return testenv.OpenSQL(t, s.App.Opts.DatabaseURL, s.Dir)
}

// snapshotQueries describe the state a bad request must leave alone: the
// size of every table and every credential.
var snapshotQueries = []string{
	"SELECT 'companies', count(*) FROM companies",
	"SELECT 'users', count(*) FROM users",
	"SELECT 'sessions', count(*) FROM sessions",
	"SELECT 'challenges', count(*) FROM challenges",
	"SELECT 'tokens', count(*) FROM tokens",
	"SELECT 'throttles', count(*) + coalesce(sum(failures), 0) FROM throttles",
	"SELECT 'audit_events', count(*) FROM audit_events",
	"SELECT 'outbox', count(*) FROM outbox",
	"SELECT 'reset_requests', count(*) FROM reset_requests",
	"SELECT 'recovery_codes', count(*) FROM recovery_codes",
	"SELECT 'webhook_endpoints', count(*) FROM webhook_endpoints",
	"SELECT 'webhook_deliveries', count(*) FROM webhook_deliveries",
	"SELECT 'applications', count(*) + coalesce(sum(updated_at), 0) FROM applications",
	"SELECT 'application_hosts', count(*) FROM application_hosts",
	"SELECT 'api_keys', count(*) FROM api_keys",
}

// Snapshot describes the server's data: row counts of every table, failure
// counts, and each user's password hash and name. Two equal snapshots
// mean a request changed nothing that matters.
func (s *Server) Snapshot(t testing.TB) string {
	t.Helper()
	db := s.SQL(t)
	var b strings.Builder
	for _, q := range snapshotQueries {
		var table string
		var n int64
		if err := db.QueryRow(q).Scan(&table, &n); err != nil {
			t.Fatalf("snapshot %q: %v", q, err)
		}
		fmt.Fprintf(&b, "%s=%d\n", table, n)
	}
	rows, err := db.Query("SELECT id, email, name, password_hash FROM users ORDER BY id")
	if err != nil {
		t.Fatalf("snapshot users: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, email, name, hash string
		if err := rows.Scan(&id, &email, &name, &hash); err != nil {
			t.Fatalf("snapshot users: %v", err)
		}
		fmt.Fprintf(&b, "user %s %q %q %s\n", id, email, name, hash)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("snapshot users: %v", err)
	}
	return b.String()
}
