package testenv

import (
	"testing"
	"time"
)

// WaitTimeout bounds WaitUntil: generous, since the machine may be busy.
const WaitTimeout = 30 * time.Second

// WaitUntil polls cond until it holds, and fails the test if it does not
// within WaitTimeout. It is for conditions nothing announces, such as a
// line in another process's log or a listener that has closed; where a
// channel or synctest can say when, use those.
func WaitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", WaitTimeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
