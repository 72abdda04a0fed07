package sqldb

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// queued waits until every goroutine of the test's bubble is blocked, and
// fails the test unless g then has fg and bg waiters. The tests run in a
// synctest bubble: waiting is exact, and time moves only when all wait.
func (g *writeGate) queued(t *testing.T, fg, bg int) {
	t.Helper()
	synctest.Wait()
	g.mu.Lock()
	f, b := len(g.fg), len(g.bg)
	g.mu.Unlock()
	if f != fg || b != bg {
		t.Fatalf("waiters: got %d foreground and %d background, want %d and %d", f, b, fg, bg)
	}
}

// entrants returns enter, which starts a goroutine that takes g (in the
// background or not), records its name and lets go, and order, which waits
// for all of them and returns the names in the order they took g.
func (g *writeGate) entrants(t *testing.T) (enter func(name string, background bool), order func() string) {
	var mu sync.Mutex
	var names []string
	var wg sync.WaitGroup
	enter = func(name string, background bool) {
		wg.Go(func() {
			if err := g.acquire(context.Background(), background); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			names = append(names, name)
			mu.Unlock()
			g.release()
		})
	}
	order = func() string {
		wg.Wait()
		return fmt.Sprint(names)
	}
	return enter, order
}

// A request that arrives behind a backlog of background work gets the
// writer next; background work goes on in its order once no request waits.
func TestWriteGateLetsRequestsFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := writeGate{maxWait: time.Hour}
		if err := g.acquire(context.Background(), true); err != nil {
			t.Fatal(err)
		}
		enter, order := g.entrants(t)
		enter("bg1", true)
		g.queued(t, 0, 1)
		enter("bg2", true)
		g.queued(t, 0, 2)
		enter("fg1", false)
		g.queued(t, 1, 2)
		enter("fg2", false)
		g.queued(t, 2, 2)
		g.release()
		if got, want := order(), "[fg1 fg2 bg1 bg2]"; got != want {
			t.Errorf("order: got %s, want %s", got, want)
		}
		if g.held {
			t.Error("the writer is still held after everyone released it")
		}
	})
}

// Background work that has waited long enough goes before the requests
// that keep arriving, one transaction per maxWait.
func TestWriteGateBackgroundWaitsBoundedly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := writeGate{maxWait: 30 * time.Millisecond}
		if err := g.acquire(context.Background(), false); err != nil {
			t.Fatal(err)
		}
		enter, order := g.entrants(t)
		enter("bg1", true)
		g.queued(t, 0, 1)
		enter("bg2", true)
		g.queued(t, 0, 2)
		time.Sleep(g.maxWait) // both have waited maxWait: bg1 goes before fg1, once
		enter("fg1", false)
		g.queued(t, 1, 2)
		g.release()
		if got, want := order(), "[bg1 fg1 bg2]"; got != want {
			t.Errorf("order: got %s, want %s", got, want)
		}
	})
}

// A waiter whose context ends leaves the queue, and a grant that races
// with the end is passed on, not lost.
func TestWriteGateCancelledWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g writeGate
		if err := g.acquire(context.Background(), false); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.acquire(ctx, true) }()
		g.queued(t, 0, 1)
		cancel()
		if err := <-done; err == nil {
			t.Fatal("acquire with a cancelled context: got no error")
		}
		g.queued(t, 0, 0)
		g.release()
		// Free again: a new caller gets it at once.
		if err := g.acquire(context.Background(), true); err != nil {
			t.Fatal(err)
		}
		g.release()
		if g.held {
			t.Error("the writer is still held")
		}
	})
}

// A writer that hands the gate over lets the next writer run first, on
// the one processor both have: without the yield the next writer would
// wait until the releaser blocked, here after a long piece of CPU work
// (a signature, a hash) that follows its commit. Go's scheduler takes
// the global queue first on one schedule in 61, so of 20 handovers a
// few may go the other way; without the yield none goes the waiter's way.
func TestWriteGateHandsOverAtOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var g writeGate
	first := 0
	for range 20 {
		if err := g.acquire(context.Background(), false); err != nil {
			t.Fatal(err)
		}
		var order []string
		var mu sync.Mutex
		note := func(s string) {
			mu.Lock()
			order = append(order, s)
			mu.Unlock()
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := g.acquire(context.Background(), false); err != nil {
				t.Error(err)
				return
			}
			note("waiter")
			g.release()
		}()
		for waiting := false; !waiting; {
			runtime.Gosched()
			g.mu.Lock()
			waiting = len(g.fg) == 1
			g.mu.Unlock()
		}
		g.release()
		note("releaser")
		<-done
		if order[0] == "waiter" {
			first++
		}
	}
	if first < 15 {
		t.Fatalf("the waiter ran before the releaser went on in %d of 20 handovers, want nearly all", first)
	}
}

// A request that is handed the writer as its context ends keeps it: a
// batch may be open in it (batch.go), which only the writer's holder can
// commit.
func TestWriteGateHandedRequestKeepsTheWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for range 20 {
			var g writeGate
			if err := g.acquire(context.Background(), false); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- g.acquire(ctx, false) }()
			g.queued(t, 1, 0)
			// The context ends, which wakes the waiter, and the writer is
			// handed to it before it can leave the queue (handOff's work,
			// under the lock the waiter needs to leave).
			g.mu.Lock()
			cancel()
			close(g.fg[0].grant)
			g.fg = g.fg[1:]
			g.mu.Unlock()
			if err := <-done; err != nil {
				t.Fatalf("acquire handed the writer as its context ended: got %v, want nil", err)
			}
			g.mu.Lock()
			held := g.held
			g.mu.Unlock()
			if !held {
				t.Fatal("the writer is not held")
			}
			g.release()
		}
	})
}
