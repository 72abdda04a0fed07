package auth

import (
	"encoding/base64"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// Paging of the admin lists (users, audit log). A page ends with a cursor,
// the opaque position of the next page: made here, given to clients as it
// is (the API's next_cursor, the pages' links), sent back unchanged, and
// checked here. Front ends neither build nor read one.

// Paging limits of the admin lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// checkLimit applies the paging limits.
func checkLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0 || n > MaxPageSize:
		return 0, gatehouse.Errorf(gatehouse.EInvalidRequest, "The limit must be between 1 and %d.", MaxPageSize)
	}
	return n, nil
}

// lastPage cuts rows, read with one more than limit, to limit, and returns
// the cursor of the page after them: "" when the extra row is missing,
// since then these rows are the last. key is the sort key the store pages
// by (a user's email, an event's ID).
func lastPage[T any](rows []T, limit int, key func(T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, newCursor(key(rows[limit-1]))
}

// newCursor makes the cursor after the row whose sort key is key: its
// base64url, which travels in a URL as it is.
func newCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// readCursor returns the sort key of a cursor newCursor made, "" for no
// cursor (the first page). Anything else, or a key longer than maxKey
// bytes, is EInvalidRequest.
func readCursor(cursor string, maxKey int) (string, error) {
	if cursor == "" {
		return "", nil
	}
	key, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(key) == 0 || len(key) > maxKey || !utf8.Valid(key) {
		return "", gatehouse.Errorf(gatehouse.EInvalidRequest, "The cursor is not valid; send the one the previous page gave.")
	}
	return string(key), nil
}
