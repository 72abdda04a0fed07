package priority

import (
	"runtime"
	"syscall"
)

// Run runs f on a thread of its own, increment lower in priority than the
// caller's, and returns when f has. Starting the thread costs tens of
// microseconds: right for work of milliseconds, such as a hash.
func Run(increment int, f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Lower(increment)
		f()
	}()
	<-done
}

// Lower locks the calling goroutine to its thread and lowers the thread's
// priority by increment (to nice 19 at most), for the rest of the
// goroutine's life. The goroutine must end without calling
// runtime.UnlockOSThread, so that the runtime discards the thread, and
// every goroutine it starts runs at normal priority unless it calls Lower
// too. For long-running loops; a short piece of work takes Run.
func Lower(increment int) {
	runtime.LockOSThread() // never unlocked, on purpose
	tid := syscall.Gettid()
	// The raw getpriority of Linux answers 20 - nice.
	if prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid); err == nil {
		syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(20-prio+increment, 19))
	}
}
