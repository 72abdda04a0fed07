package priority

import (
	"runtime"
	"sync"
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

// A Pool's work runs increment lower than its caller, and the caller's
// thread keeps its priority.
func TestPoolLowers(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadNice(t)
	for _, increment := range []int{Hash, Background, 40} {
		var inside int
		NewPool(increment).Run(func() { inside = threadNice(t) })
		if want := min(before+increment, 19); inside != want {
			t.Errorf("NewPool(%d).Run: nice inside %d, want %d", increment, inside, want)
		}
		if after := threadNice(t); after != before {
			t.Errorf("NewPool(%d).Run: caller's nice after %d, want %d", increment, after, before)
		}
	}
}

// A Pool keeps its threads: work after work runs on the same thread, and
// work that comes while every thread of the pool is busy gets a thread of
// its own, lowered too.
func TestPool(t *testing.T) {
	p := NewPool(Background)
	var first, second int
	p.Run(func() { first = syscall.Gettid() })
	p.Run(func() { second = syscall.Gettid() })
	if first != second {
		t.Errorf("two Runs one after the other: threads %d and %d, want one", first, second)
	}

	const n = 4
	var started, finish sync.WaitGroup
	started.Add(n)
	finish.Add(1)
	tids, nices := make(chan int, n), make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			p.Run(func() {
				tids <- syscall.Gettid()
				nices <- threadNice(t)
				started.Done()
				finish.Wait() // all n at once
			})
		})
	}
	started.Wait()
	finish.Done()
	wg.Wait()
	close(tids)
	close(nices)
	seen := map[int]bool{}
	for tid := range tids {
		seen[tid] = true
	}
	if len(seen) != n {
		t.Errorf("%d Runs at once ran on %d threads, want %d", n, len(seen), n)
	}
	runtime.LockOSThread()
	want := min(threadNice(t)+Background, 19)
	runtime.UnlockOSThread()
	for nice := range nices {
		if nice != want {
			t.Errorf("nice inside a Run at once with others: %d, want %d", nice, want)
		}
	}
}

// A goroutine that calls Lower stays on its lowered thread, even after it
// blocks, and the goroutines it starts do not inherit the priority.
func TestLower(t *testing.T) {
	runtime.LockOSThread()
	before := threadNice(t)
	runtime.UnlockOSThread()

	type report struct{ afterLower, afterBlock, child int }
	got := make(chan report)
	go func() {
		Lower(Background)
		var r report
		r.afterLower = threadNice(t)
		wake := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r.child = threadNice(t)
			close(wake)
		}()
		<-wake // blocks: the goroutine must come back to its own thread
		r.afterBlock = threadNice(t)
		got <- r
	}()
	r := <-got
	want := min(before+Background, 19)
	if r.afterLower != want || r.afterBlock != want {
		t.Errorf("nice after Lower %d, after blocking %d; want %d", r.afterLower, r.afterBlock, want)
	}
	if r.child != before {
		t.Errorf("nice of a goroutine started after Lower: %d, want %d", r.child, before)
	}
}
