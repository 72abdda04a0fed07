package password

import (
	"runtime"
	"syscall"
	"testing"
)

// threadNice returns the nice value of the calling thread.
func threadNice(t *testing.T) int {
	t.Helper()
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatalf("getpriority: %v", err)
	}
	return 20 - prio
}

// A hash runs niceIncrement lower than its caller, and the caller's thread
// keeps its priority.
func TestLowPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadNice(t)
	var inside int
	lowPriority(func() { inside = threadNice(t) })
	if want := min(before+niceIncrement, 19); inside != want {
		t.Errorf("nice inside: got %d, want %d", inside, want)
	}
	if after := threadNice(t); after != before {
		t.Errorf("caller's nice after: got %d, want %d", after, before)
	}
}
