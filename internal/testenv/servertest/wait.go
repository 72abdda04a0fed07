package servertest

import (
	"testing"
	"time"
)

// WaitQuiet waits until the server has turned every queued reset request
// into mail and delivered (or given up on) every due message, so that a
// test can count what arrived. It fails the test after 15 seconds.
func (s *Server) WaitQuiet(t testing.TB) {
	t.Helper()
	db := s.SQL(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var requests, due int
		err := db.QueryRow("SELECT count(*) FROM reset_requests").Scan(&requests)
		if err == nil {
			err = db.QueryRow("SELECT count(*) FROM outbox WHERE sent_at = 0 AND failed_at = 0").Scan(&due)
		}
		if err != nil {
			t.Fatalf("wait for the workers: %v", err)
		}
		if requests == 0 && due == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("wait for the workers: still %d reset requests and %d messages queued", requests, due)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
