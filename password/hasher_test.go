package password

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/password/internal/argon2id"
)

// TestConcurrencyBounded runs 50 real hashes at once through 2 slots. In
// a synctest bubble each hash's extra millisecond passes only once every
// other caller waits, so the callers always pile up behind the slots.
func TestConcurrencyBounded(t *testing.T) {
	bubble(t, func(t *testing.T) {
		const callers, slots = 50, 2
		_, keptBefore := hasherGoroutines() // another test's, ending
		h := NewHasher(Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, slots, time.Minute)
		var running, most atomic.Int64
		h.derive = func(password, salt []byte, p Params) []byte {
			n := running.Add(1)
			defer running.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			return deriveArgon2id(password, salt, p)
		}
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for i := range callers {
			wg.Go(func() {
				var err error
				if i%2 == 0 {
					_, err = h.Hash(t.Context(), "correct horse battery staple")
				} else {
					err = h.VerifyDummy(t.Context(), "correct horse battery staple")
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Hash or VerifyDummy: got %v, want nil", err)
			}
		}
		if got := most.Load(); got != slots {
			t.Errorf("most hashes at once: got %d, want %d", got, slots)
		}
		if running, waiting, busy := h.Stats(); running != 0 || waiting != 0 || busy != 0 {
			t.Errorf("Stats after: got %d, %d, %d, want 0, 0, 0", running, waiting, busy)
		}
		// No goroutine outlives its call but the hashing threads kept for
		// the next hashes, one a slot at most. Counted by their stacks:
		// runtime.NumGoroutine counts the whole process, where other
		// tests' goroutines come and go (CI saw one more than allowed).
		synctest.Wait()
		if callers, kept := hasherGoroutines(); callers != 0 || kept-keptBefore > slots {
			t.Errorf("goroutines: %d callers still in the Hasher, %d hashing threads kept (%d before), want 0 and at most %d more",
				callers, kept, keptBefore, slots)
		}
	})
}

// hasherGoroutines counts, from every goroutine's stack, those still in a
// Hasher's call (Hash, Verify, VerifyDummy and what they wait on) and the
// hashing threads the priority pool keeps.
func hasherGoroutines() (callers, kept int) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range strings.Split(string(buf), "\n\n") {
		switch {
		case strings.Contains(g, "internal/priority.(*Pool)"):
			kept++
		case strings.Contains(g, "password.(*Hasher)"):
			callers++
		}
	}
	return callers, kept
}

// bubble runs f in a synctest bubble (fake time, and a check that no
// goroutine is left), then lets that time pass until the Hasher's idle
// release and its kept hashing threads, idle, have ended.
func bubble(t *testing.T, f func(t *testing.T)) {
	synctest.Test(t, func(t *testing.T) {
		f(t)
		time.Sleep(time.Hour)
	})
}

// holdingHasher returns a Hasher whose hashes block until release is closed.
func holdingHasher(slots int, queueWait time.Duration) (h *Hasher, release chan struct{}) {
	h = NewHasher(testParams, slots, queueWait)
	release = make(chan struct{})
	h.derive = func(password, salt []byte, p Params) []byte {
		<-release
		return deriveArgon2id(password, salt, p)
	}
	return h, release
}

func TestBusyAfterQueueWait(t *testing.T) {
	bubble(t, func(t *testing.T) {
		const callers, slots, queueWait = 50, 2, 500 * time.Millisecond
		h, release := holdingHasher(slots, queueWait)
		type result struct {
			err     error
			elapsed time.Duration
		}
		results := make(chan result, callers)
		start := time.Now()
		for range callers {
			go func() {
				_, err := h.Hash(t.Context(), "correct horse battery staple")
				results <- result{err, time.Since(start)}
			}()
		}
		synctest.Wait()
		if running, waiting, busy := h.Stats(); running != slots || waiting != callers-slots || busy != 0 {
			t.Errorf("Stats while full: got %d, %d, %d, want %d, %d, 0", running, waiting, busy, slots, callers-slots)
		}
		time.Sleep(queueWait)
		synctest.Wait()
		for range callers - slots {
			r := <-results
			if !errors.Is(r.err, ErrBusy) || r.elapsed != queueWait {
				t.Errorf("waiting caller: got %v after %v, want ErrBusy after %v", r.err, r.elapsed, queueWait)
			}
		}
		if running, waiting, busy := h.Stats(); running != slots || waiting != 0 || busy != callers-slots {
			t.Errorf("Stats after the wait: got %d, %d, %d, want %d, 0, %d", running, waiting, busy, slots, callers-slots)
		}
		close(release)
		for range slots {
			if r := <-results; r.err != nil {
				t.Errorf("running caller: got %v, want nil", r.err)
			}
		}
		if running, _, _ := h.Stats(); running != 0 {
			t.Errorf("running at the end: got %d, want 0", running)
		}
	}) // synctest fails if any goroutine is left blocked
}

func TestWaiterGetsSlotWhenOneFrees(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h, release := holdingHasher(1, time.Second)
		done := make(chan error, 2)
		go func() { _, err := h.Hash(t.Context(), "first"); done <- err }()
		synctest.Wait()
		go func() { _, err := h.Hash(t.Context(), "second"); done <- err }()
		time.Sleep(999 * time.Millisecond)
		close(release)
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Hash: got %v, want nil", err)
			}
		}
	})
}

func TestContextEndsWait(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h, release := holdingHasher(1, time.Hour)
		go h.Hash(t.Context(), "holds the only slot")
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { _, _, err := h.Verify(ctx, referenceHash, "password"); done <- err }()
		synctest.Wait()
		if _, waiting, _ := h.Stats(); waiting != 1 {
			t.Errorf("waiting: got %d, want 1", waiting)
		}
		cancel()
		err := <-done
		if !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
			t.Errorf("Verify after cancel: got %v, want ErrBusy and context.Canceled", err)
		}
		if running, waiting, busy := h.Stats(); running != 1 || waiting != 0 || busy != 1 {
			t.Errorf("Stats: got %d, %d, %d, want 1, 0, 1", running, waiting, busy)
		}
		close(release)
	})
}

// Once the slots have shown their throughput, a caller whose estimated
// wait exceeds the queue wait is refused at once, with that wait, and
// every caller within it is served. Hashes take exactly 100 ms of the
// bubble's clock on 2 slots: 20 a second.
func TestBusyAtOnceWhenQueueCannotBeServed(t *testing.T) {
	bubble(t, func(t *testing.T) {
		const slots, queueWait, hashTime = 2, 500 * time.Millisecond, 100 * time.Millisecond
		h := NewHasher(testParams, slots, queueWait)
		h.derive = func(password, salt []byte, p Params) []byte {
			time.Sleep(hashTime)
			return deriveArgon2id(password, salt, p)
		}
		// Before any throughput is measured nobody is refused at once.
		if l := h.Load(); l.Throughput != 0 || l.Wait != 0 {
			t.Errorf("Load before any hash: got throughput %v, wait %v, want 0, 0", l.Throughput, l.Wait)
		}
		// Three rounds of both slots: 6 hashes in 300 ms of full use.
		var wg sync.WaitGroup
		for range slots {
			wg.Go(func() {
				for range 3 {
					if _, err := h.Hash(t.Context(), "sets the pace"); err != nil {
						t.Errorf("Hash: %v", err)
					}
				}
			})
		}
		wg.Wait()
		if l := h.Load(); l.Throughput != 20 {
			t.Errorf("throughput: got %v hashes/s, want 20 (6 in 300 ms)", l.Throughput)
		}
		// Two run, and the k-th waiter is estimated to wait k × 50 ms:
		// ten are admitted (the tenth at 500 ms), the eleventh is not.
		const admitted = slots + 10
		results := make(chan error, admitted)
		start := time.Now()
		for range admitted {
			go func() { _, err := h.Hash(t.Context(), "waits"); results <- err }()
			synctest.Wait()
		}
		if l := h.Load(); l.Running != slots || l.Waiting != 10 || l.Wait != 550*time.Millisecond {
			t.Errorf("Load with the queue full: got %d running, %d waiting, wait %v, want %d, 10, 550ms", l.Running, l.Waiting, l.Wait, slots)
		}
		err := h.CheckCapacity()
		if wait, ok := RetryAfter(err); !errors.Is(err, ErrBusy) || !ok || wait != time.Second {
			t.Errorf("CheckCapacity with the queue full: got %v (Retry-After %v), want ErrBusy, Retry-After 1s", err, wait)
		}
		_, err = h.Hash(t.Context(), "one too many")
		var busy *BusyError
		if !errors.As(err, &busy) || busy.Wait != 550*time.Millisecond || time.Since(start) != 0 {
			t.Errorf("the eleventh waiter: got %v after %v, want ErrBusy at once, estimated wait 550ms", err, time.Since(start))
		}
		for range admitted {
			if err := <-results; err != nil {
				t.Errorf("admitted caller: got %v, want nil", err)
			}
		}
		if got := time.Since(start); got != 600*time.Millisecond {
			t.Errorf("last admitted caller served after %v, want 600ms (5 × 100 ms waiting, 100 ms hashing)", got)
		}
		l := h.Load()
		if l.Refused != 2 || l.RefusedAtOnce != 2 || l.TimedOut != 0 || l.RefusedWaitSum != 1100*time.Millisecond {
			t.Errorf("refusals: got %d, %d at once (estimates summing to %v), %d timed out; want 2, 2 (1.1s), 0",
				l.Refused, l.RefusedAtOnce, l.RefusedWaitSum, l.TimedOut)
		}
		if err := h.CheckCapacity(); err != nil {
			t.Errorf("CheckCapacity with the queue empty: got %v, want nil", err)
		}
	})
}

// A caller admitted on an estimate is served late rather than refused
// when the pace falls while it waits, up to admittedWaits queue waits.
// The slots show 20 hashes a second (100 ms each), then slow to 300 ms.
func TestAdmittedCallerOutlastsASlowerPace(t *testing.T) {
	bubble(t, func(t *testing.T) {
		const slots, queueWait = 2, 500 * time.Millisecond
		var hashTime atomic.Int64
		hashTime.Store(int64(100 * time.Millisecond))
		h := NewHasher(testParams, slots, queueWait)
		h.derive = func(password, salt []byte, p Params) []byte {
			time.Sleep(time.Duration(hashTime.Load()))
			return deriveArgon2id(password, salt, p)
		}
		var wg sync.WaitGroup
		for range slots {
			wg.Go(func() {
				for range 3 {
					h.Hash(t.Context(), "sets the pace")
				}
			})
		}
		wg.Wait()
		hashTime.Store(int64(300 * time.Millisecond))
		// Two run and ten wait, all admitted at 20 a second (the tenth
		// for 500 ms). At 300 ms a hash, waiters 1–4 get a slot at 300
		// and 600 ms, 5–6 at 900 ms: past the queue wait, within twice
		// it. 7–10 would at 1,200 and 1,500 ms, and are refused at 1 s.
		type result struct {
			err     error
			elapsed time.Duration
		}
		results := make([]chan result, slots+10)
		start := time.Now()
		for i := range results {
			results[i] = make(chan result, 1)
			go func() {
				_, err := h.Hash(t.Context(), "waits")
				results[i] <- result{err, time.Since(start)}
			}()
			synctest.Wait()
		}
		for i, c := range results {
			r := <-c
			waiter := i - slots + 1
			switch {
			case waiter <= 6 && r.err != nil:
				t.Errorf("waiter %d: got %v after %v, want served", waiter, r.err, r.elapsed)
			case waiter > 6 && (!errors.Is(r.err, ErrBusy) || r.elapsed != 2*queueWait):
				t.Errorf("waiter %d: got %v after %v, want ErrBusy after %v", waiter, r.err, r.elapsed, 2*queueWait)
			}
		}
		if l := h.Load(); l.TimedOut != 4 || l.RefusedAtOnce != 0 {
			t.Errorf("refusals: got %d after waiting, %d at once; want 4, 0", l.TimedOut, l.RefusedAtOnce)
		}
	})
}

// BenchmarkHashParallel saturates the machine: with one slot per core,
// ns/op is the reciprocal of logins per second for the whole machine.
func BenchmarkHashParallel(b *testing.B) {
	h := NewHasher(DefaultParams, 0, time.Minute)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := h.VerifyDummy(b.Context(), "correct horse battery staple"); err != nil {
				b.Error(err)
			}
		}
	})
}

func TestHasherString(t *testing.T) {
	got := NewHasher(DefaultParams, 3, time.Second).String()
	g := "Go"
	if argon2id.Accelerated() {
		g = "AVX2"
	}
	if want := "argon2id m=65536 t=1 p=1, 3 at once, " + g + ", queue wait 1s"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestOnHashing: the callback hears true before the first hash of a busy
// period runs, nothing more while hashes follow each other, and false once
// none ran for hashingIdle; the next hash makes it true again.
func TestOnHashing(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h, release := holdingHasher(2, time.Minute)
		var mu sync.Mutex
		var calls []bool
		h.OnHashing(func(hashing bool) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, hashing)
		})
		got := func() []bool {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(calls)
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if _, err := h.Hash(t.Context(), "correct horse battery staple"); err != nil {
					t.Errorf("Hash: %v", err)
				}
			})
		}
		synctest.Wait() // both hashes hold their slots
		if c := got(); !slices.Equal(c, []bool{true}) {
			t.Fatalf("while two hashes run: got calls %v, want [true]", c)
		}
		close(release)
		wg.Wait()
		time.Sleep(hashingIdle / 2)
		if _, err := h.Hash(t.Context(), "another one"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(hashingIdle - time.Millisecond)
		synctest.Wait()
		if c := got(); !slices.Equal(c, []bool{true}) {
			t.Fatalf("just under %v after the last hash: got calls %v, want [true]", hashingIdle, c)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if c := got(); !slices.Equal(c, []bool{true, false}) {
			t.Fatalf("%v after the last hash: got calls %v, want [true false]", hashingIdle, c)
		}
		if _, err := h.Hash(t.Context(), "after a pause"); err != nil {
			t.Fatal(err)
		}
		if c := got(); !slices.Equal(c, []bool{true, false, true}) {
			t.Fatalf("a hash after the pause: got calls %v, want [true false true]", c)
		}
	})
}
