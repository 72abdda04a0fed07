package sqldb

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse"
)

// UnavailableRetryAfter is the Retry-After of a request refused because the
// database is away: about the time a PostgreSQL restart or fail-over takes.
const UnavailableRetryAfter = 5 * time.Second

// unavailable turns a failure to reach the database into the domain's
// EUnavailable (503 with Retry-After), keeping the driver's error in the
// chain for the log. A database that is restarting, full of connections or
// too slow to answer is a passing condition the client should retry, not
// an internal error; the node itself stays up and reconnects by itself.
// Every other error, and every *gatehouse.Error, is returned as it is.
func unavailable(err error) error {
	if err == nil || gatehouse.AsError(err) != nil || !isUnavailable(err) {
		return err
	}
	return errUnavailable(err)
}

// errUnavailable is EUnavailable because of err.
func errUnavailable(err error) error {
	return fmt.Errorf("%w: %w", &gatehouse.Error{
		Code:       gatehouse.EUnavailable,
		Message:    "The service is briefly unavailable. Please try again in a moment.",
		RetryAfter: UnavailableRetryAfter,
	}, err)
}

// isUnavailable reports whether err says the database could not be reached
// or could not serve the statement in time, as opposed to refusing it.
func isUnavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return unavailableSQLState(pe.Code)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		// Another writer held the database past the busy timeout.
		primary := se.Code() & 0xff
		return primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// unavailableSQLState lists the PostgreSQL errors that mean "not now":
// class 08 (the connection failed), 53 (out of connections, memory or
// disk), 57P01–57P03 (the server is shutting down, crashed or starting
// up), 57014 (statement timeout) and 55P03 (lock timeout).
func unavailableSQLState(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"):
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03", "57014", "55P03":
		return true
	}
	return false
}
