package testenv

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// GoodPassword and OtherPassword pass the password policy.
const (
	GoodPassword  = "plum tractor velvet oyster"
	OtherPassword = "copper lantern meadow violin"
)

var linkPattern = regexp.MustCompile(`\S+/(?:reset-password|setup)\?token=[A-Za-z0-9_-]{43}`)

// Link returns the first reset, invitation or setup link in text; it fails
// the test when there is none.
func Link(t testing.TB, text string) string {
	t.Helper()
	link := linkPattern.FindString(text)
	if link == "" {
		t.Fatalf("no link with a token in:\n%s", text)
	}
	return link
}

// LinkToken returns the token of the first link in text.
func LinkToken(t testing.TB, text string) string {
	t.Helper()
	_, token, _ := strings.Cut(Link(t, text), "?token=")
	return token
}

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
