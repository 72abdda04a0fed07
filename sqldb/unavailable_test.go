package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse/gatehouse"
)

// A database that is away or overloaded is a 503 with Retry-After for the
// client; a refusal of the database (a constraint, a syntax error) stays
// internal, and the service's own errors pass through unchanged.
func TestUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		err  error
		want string // the error code
	}{
		{"connection refused", fmt.Errorf("read user: %w", refused), gatehouse.EUnavailable},
		{"connection lost", io.ErrUnexpectedEOF, gatehouse.EUnavailable},
		{"bad connection", driver.ErrBadConn, gatehouse.EUnavailable},
		{"closed connection", fmt.Errorf("begin: %w", pgconn.ErrConnClosed), gatehouse.EUnavailable},
		{"deadline", context.DeadlineExceeded, gatehouse.EUnavailable},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, gatehouse.EUnavailable},
		{"starting up", &pgconn.PgError{Code: "57P03"}, gatehouse.EUnavailable},
		{"too many connections", &pgconn.PgError{Code: "53300"}, gatehouse.EUnavailable},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, gatehouse.EUnavailable},
		{"connection failure", &pgconn.PgError{Code: "08006"}, gatehouse.EUnavailable},
		{"unique violation", &pgconn.PgError{Code: "23505"}, gatehouse.EInternal},
		{"syntax error", &pgconn.PgError{Code: "42601"}, gatehouse.EInternal},
		{"plain error", errors.New("boom"), gatehouse.EInternal},
		{"canceled by the client", context.Canceled, gatehouse.EInternal},
		{"refusal", gatehouse.Errorf(gatehouse.ENotFound, "User not found."), gatehouse.ENotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := unavailable(tc.err)
			if got := gatehouse.ErrorCode(err); got != tc.want {
				t.Fatalf("code: got %q, want %q", got, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("the driver's error left the chain: %v", err)
			}
			if tc.want == gatehouse.EUnavailable {
				e := gatehouse.AsError(err)
				if e.RetryAfter <= 0 {
					t.Errorf("got Retry-After %v; want one", e.RetryAfter)
				}
			}
		})
	}
	if unavailable(nil) != nil {
		t.Error("unavailable(nil) is not nil")
	}
}
