package password

import (
	"runtime"
	"syscall"
)

// niceIncrement is how much lower than the rest of the process a hashing
// thread runs: at nice 5 the kernel gives it about a third of the weight
// of a thread at 0, so a request that needs a core while every core hashes
// gets one within a scheduling tick, and an idle machine still gives the
// hashes every cycle.
const niceIncrement = 5

// lowPriority runs f on a thread of its own with a lower scheduling
// priority and returns when f has. The goroutine locks its thread and ends
// without unlocking it, so the runtime discards the thread and its priority
// with it: an unprivileged process cannot raise a thread's priority again.
// Starting a thread costs tens of microseconds, nothing beside a hash.
func lowPriority(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked, on purpose
		tid := syscall.Gettid()
		// The raw getpriority of Linux answers 20 - nice.
		if prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid); err == nil {
			syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(20-prio+niceIncrement, 19))
		}
		f()
	}()
	<-done
}
