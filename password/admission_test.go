package password

import (
	"errors"
	"testing"
	"time"
)

// clock hands out the times a test's events happen at.
type clock struct{ now time.Time }

func (c *clock) at(d time.Duration) time.Time { return c.now.Add(d) }

// TestThroughputArithmetic pins the estimate: completions ÷ the slots'
// time in demand, over the last throughputWindow, and waits from it.
func TestThroughputArithmetic(t *testing.T) {
	ms := time.Millisecond
	t0 := time.Unix(1_000_000, 0)
	c := clock{t0}

	t.Run("nothing measured", func(t *testing.T) {
		tp := newThroughput(2, t0)
		if r := tp.rate(c.at(time.Second)); r != 0 {
			t.Errorf("rate: got %v, want 0", r)
		}
		if _, ok := tp.wait(1, c.at(time.Second)); ok {
			t.Errorf("wait: got ok, want no estimate")
		}
	})

	t.Run("saturated", func(t *testing.T) {
		// 2 slots, 12 callers in demand throughout, one completion (and
		// one newcomer) every 10 ms for a second: 100 a second.
		tp := newThroughput(2, t0)
		for range 12 {
			tp.enter(t0)
		}
		for i := 1; i <= 100; i++ {
			tp.complete(c.at(time.Duration(i) * 10 * ms))
			tp.enter(c.at(time.Duration(i) * 10 * ms))
		}
		if r := tp.rate(c.at(time.Second)); r != 100 {
			t.Errorf("rate: got %v, want 100", r)
		}
		if w, ok := tp.wait(50, c.at(time.Second)); !ok || w != 500*ms {
			t.Errorf("wait of the 50th: got %v, %v, want 500ms", w, ok)
		}
	})

	t.Run("one caller at a time", func(t *testing.T) {
		// One hash at a time, 20 ms each, back to back, on 2 slots: 50
		// completions a second measure the demand; the slots, both used,
		// would give 100.
		tp := newThroughput(2, t0)
		for i := range 50 {
			tp.enter(c.at(time.Duration(i) * 20 * ms))
			tp.complete(c.at(time.Duration(i+1) * 20 * ms))
		}
		if r := tp.rate(c.at(time.Second)); r != 100 {
			t.Errorf("rate: got %v, want 100", r)
		}
	})

	t.Run("idle time does not count", func(t *testing.T) {
		// 12 callers for 2 slots; 10 hashes in 100 ms, then the two left
		// give up, and nothing happens for 900 ms.
		tp := newThroughput(2, t0)
		for range 12 {
			tp.enter(t0)
		}
		for i := 1; i <= 10; i++ {
			tp.complete(c.at(time.Duration(i) * 10 * ms))
		}
		tp.leave(c.at(100 * ms))
		tp.leave(c.at(100 * ms))
		if r := tp.rate(c.at(time.Second)); r != 100 {
			t.Errorf("rate: got %v, want 100", r)
		}
	})

	t.Run("the window moves on", func(t *testing.T) {
		// One slot: 100 a second for 2 s, then 40 a second for 2 s. The
		// window is the last windowBuckets-1 whole buckets and the current
		// one, here empty: 1.75 s, which holds the second pace alone.
		tp := newThroughput(1, t0)
		tp.enter(t0)
		for i := range 200 {
			at := c.at(time.Duration(5+10*i) * ms)
			tp.complete(at)
			tp.enter(at)
		}
		if r := tp.rate(c.at(2 * time.Second)); r != 100 {
			t.Errorf("rate after the fast part: got %v, want 100", r)
		}
		for i := range 80 {
			at := c.at(2*time.Second + time.Duration(5+25*i)*ms)
			tp.complete(at)
			tp.enter(at)
		}
		if r := tp.rate(c.at(4 * time.Second)); r != 40 {
			t.Errorf("rate after the slow part: got %v, want 40", r)
		}
	})

	t.Run("a long stretch in demand", func(t *testing.T) {
		// One hash holds the only slot for 10 s, then 7 take 50 ms each.
		// At 10.5 s the window starts at 8.75 s: 1.6 s in demand, 8 hashes.
		tp := newThroughput(1, t0)
		tp.enter(t0)
		at := 10 * time.Second
		tp.complete(c.at(at))
		for range 7 {
			tp.enter(c.at(at))
			at += 50 * ms
			tp.complete(c.at(at))
		}
		if r := tp.rate(c.at(10500 * ms)); r != 5 {
			t.Errorf("rate: got %v, want 5", r)
		}
	})

	t.Run("too few keep the last rate", func(t *testing.T) {
		// A measured rate outlives an idle minute, and a window of fewer
		// than minCompletions hashes does not replace it.
		tp := newThroughput(1, t0)
		for i := range 10 {
			tp.enter(c.at(time.Duration(i) * 10 * ms))
			tp.complete(c.at(time.Duration(i+1) * 10 * ms))
		}
		if r := tp.rate(c.at(100 * ms)); r != 100 {
			t.Fatalf("rate: got %v, want 100", r)
		}
		later := time.Minute
		for i := range minCompletions - 1 {
			tp.enter(c.at(later + time.Duration(i)*ms))
			tp.complete(c.at(later + time.Duration(i+1)*ms)) // 1000 a second, if believed
		}
		if r := tp.rate(c.at(later + time.Second)); r != 100 {
			t.Errorf("rate after an idle minute and %d quick hashes: got %v, want 100", minCompletions-1, r)
		}
	})

}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want time.Duration
		ok   bool
	}{
		{&BusyError{Wait: 5500 * time.Millisecond}, 5500 * time.Millisecond, true},
		{&BusyError{Wait: 300 * time.Millisecond}, time.Second, true},
		{&BusyError{}, time.Second, true},
		{errors.Join(errors.New("context"), &BusyError{Wait: 3 * time.Second}), 3 * time.Second, true},
		{ErrTooLong, 0, false},
		{nil, 0, false},
	} {
		if got, ok := RetryAfter(tt.err); got != tt.want || ok != tt.ok {
			t.Errorf("RetryAfter(%v): got %v, %v, want %v, %v", tt.err, got, ok, tt.want, tt.ok)
		}
	}
	if err := (&BusyError{}); !errors.Is(err, ErrBusy) {
		t.Errorf("errors.Is(BusyError, ErrBusy): got false")
	}
}
