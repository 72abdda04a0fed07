package priority

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// A Pool runs work on threads increment lower in priority than the
// process's, and keeps the threads for its next work: starting a thread
// and lowering it costs tens of microseconds, and a thread new for every
// password hash left the cores idle a tenth of the time while the kernel
// placed them. Work that finds no thread of the pool idle starts one, so
// a pool has no more threads than work at once; a thread idle for
// idleThread ends. The zero Pool is not usable: see NewPool.
type Pool struct {
	increment int
	// idle counts the threads waiting on work that no caller has claimed
	// yet; a caller that claims one sends it its job, and the thread is
	// sure to take it.
	idle atomic.Int64
	work chan job
}

// idleThread is how long a thread of a Pool waits for work before it ends.
const idleThread = 30 * time.Second

type job struct {
	f    func()
	done chan struct{}
}

// NewPool returns a Pool of threads increment lower in priority.
func NewPool(increment int) *Pool {
	return &Pool{increment: increment, work: make(chan job)}
}

// Run runs f on a thread of the pool and returns when f has.
func (p *Pool) Run(f func()) {
	j := job{f: f, done: make(chan struct{})}
	if p.claimIdle() {
		p.work <- j
	} else {
		go p.serve(j)
	}
	<-j.done
}

// claimIdle takes one idle thread off the count, if there is one.
func (p *Pool) claimIdle() bool {
	for {
		n := p.idle.Load()
		if n == 0 {
			return false
		}
		if p.idle.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// serve runs j on a thread it lowers, then the jobs sent to it while it
// is idle, until it has been idle for idleThread unclaimed; the thread
// then ends with the goroutine.
func (p *Pool) serve(j job) {
	Lower(p.increment)
	timer := time.NewTimer(idleThread)
	for {
		j.f()
		p.idle.Add(1) // before done: a caller that comes next finds it idle
		close(j.done)
		timer.Reset(idleThread)
		select {
		case j = <-p.work:
			continue
		case <-timer.C:
		}
		if p.claimIdle() {
			return
		}
		j = <-p.work // claimed meanwhile: its job is on the way
	}
}

// Lower locks the calling goroutine to its thread and lowers the thread's
// priority by increment (to nice 19 at most), for the rest of the
// goroutine's life. The goroutine must end without calling
// runtime.UnlockOSThread, so that the runtime discards the thread, and
// every goroutine it starts runs at normal priority unless it calls Lower
// too. For long-running loops; a piece of work takes a Pool.
func Lower(increment int) {
	runtime.LockOSThread() // never unlocked, on purpose
	tid := syscall.Gettid()
	// The raw getpriority of Linux answers 20 - nice.
	if prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid); err == nil {
		syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(20-prio+increment, 19))
	}
}
