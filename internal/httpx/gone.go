package httpx

import (
	"context"
	"errors"
	"net/http"
)

// ClientGone reports whether err comes from the client having gone away
// (it closed the connection or gave up) rather than from anything wrong on
// our side: such an error is nobody's to act on, and must not be logged as
// an internal error, nor counted as a 500.
func ClientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
