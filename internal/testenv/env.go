package testenv

import (
	"errors"
	"os"
	"path/filepath"
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

// RepoRoot returns the folder of the module's go.mod, found from the
// current directory up.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal(errors.New("no go.mod above the current directory"))
		}
		dir = parent
	}
}
