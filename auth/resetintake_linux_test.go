package auth_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/priority"
)

// TestResetIntakeWritesInTheBackground: a forgot-password request is
// written on a thread at background priority, below the hashes of logins,
// which the service keeps for the next requests. The test's service runs
// its background loops at normal priority, so that none of them is at
// that priority.
func TestResetIntakeWritesInTheBackground(t *testing.T) {
	e := newEnv(t, "sqlite")
	ada := e.company(t)
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	background := min(20-prio+priority.Background, 19)

	before := threadsAt(t, background)
	if err := e.svc.RequestPasswordReset(t.Context(), ada.User.Email, auth.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatalf("RequestPasswordReset: %v", err)
	}
	after := threadsAt(t, background)
	for tid := range before {
		delete(after, tid)
	}
	if len(after) != 1 {
		t.Errorf("threads at nice %d that the request left: %d, want 1 (its writer, kept)", background, len(after))
	}
}

// threadsAt returns the process's threads whose nice value is nice.
func threadsAt(t *testing.T, nice int) map[string]bool {
	t.Helper()
	stats, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended meanwhile
		}
		// Fields after the command's closing parenthesis start at the
		// third, the state; the nice value is the nineteenth.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if n, err := strconv.Atoi(fields[19-3]); err == nil && n == nice {
			found[filepath.Base(filepath.Dir(path))] = true
		}
	}
	return found
}
