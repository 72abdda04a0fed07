package testenv

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need skips the test with a message saying what is missing, or fails it
// in CI.
func Need(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true but %s", what)
	}
	t.Skipf("skipped: %s (CI=true makes this a failure)", what)
}
