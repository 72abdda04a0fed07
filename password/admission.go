package password

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Admission: a caller who finds every slot taken is refused at once when
// the wait it faces exceeds the queue wait, and otherwise waits. The wait
// is estimated from the throughput the slots have shown over a recent
// window, not from how long one hash took: under contention a hash takes
// longer while the slots, all busy, still finish as many a second, and it
// is that rate at which a queue moves.

// BusyError is the ErrBusy of a caller the Hasher turned away, with what
// it knew of the queue: errors.Is(err, ErrBusy) holds.
type BusyError struct {
	// Wait is the estimated wait that was refused (the time the callers
	// in front would take to be served), or, for a caller refused after
	// waiting, the wait a newcomer faces now; 0 when the Hasher has not
	// measured its throughput yet. It is what Retry-After should say: the
	// queue the caller saw has been served by then.
	Wait time.Duration
	// QueueWait is the Hasher's queue wait, which Wait exceeded.
	QueueWait time.Duration
	// cause is why a waiting caller stopped waiting: the end of its
	// context, or nil.
	cause error
}

func (e *BusyError) Error() string {
	msg := ErrBusy.Error()
	if e.Wait > 0 {
		msg += fmt.Sprintf(": estimated wait %s, queue wait %s", e.Wait.Round(time.Millisecond), e.QueueWait)
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Unwrap returns the context's cause when the caller's context ended the wait.
func (e *BusyError) Unwrap() error { return e.cause }

// RetryAfter returns how long a caller refused with err should wait before
// trying again: the estimated wait of its BusyError, at least a second.
// ok is false when err is not a refusal of the Hasher.
func RetryAfter(err error) (d time.Duration, ok bool) {
	var b *BusyError
	if !errors.As(err, &b) {
		return 0, false
	}
	return max(b.Wait, time.Second), true
}

const (
	// throughputWindow is how far back the throughput is measured: long
	// enough to hold many hashes (about 180 on two cores), short enough
	// to follow a change of pace (neighbours taking the cores) within a
	// couple of seconds.
	throughputWindow = 2 * time.Second
	windowBuckets    = 8
	bucketWidth      = throughputWindow / windowBuckets
	// minCompletions is how many hashes the window must hold for its rate
	// to be believed; with fewer, the last rate believed stands.
	minCompletions = 4
)

// throughput measures how many hashes a second the slots finish when all
// of them are used, over the last throughputWindow: completions ÷ the
// time the slots were in demand, that time weighted by the share of the
// slots in demand (min(demand, slots) ÷ slots). While callers queue, every
// slot is in demand and this is plainly completions a second, the gaps
// between a slot's release and its next hash included. While fewer
// callers than slots hash (a quiet hour before a crowd), it is what the
// slots would give if all were used, where completions a second alone
// would measure the demand, not the capacity. A throughput is safe for
// concurrent use; its methods take the time of the event.
type throughput struct {
	mu      sync.Mutex
	slots   int
	epoch   time.Time // bucket k covers [epoch + k·bucketWidth, epoch + (k+1)·bucketWidth)
	demand  int       // callers holding a slot or waiting for one
	last    time.Time // the demand's time is counted up to here
	buckets [windowBuckets]bucket
	known   float64 // the last rate measured over minCompletions or more; 0 before
}

type bucket struct {
	index       int64         // which bucketWidth since epoch this holds
	completions int           // hashes finished
	used        time.Duration // Σ min(demand, slots) × time, in slot-time
}

func newThroughput(slots int, now time.Time) *throughput {
	t := &throughput{slots: slots, epoch: now, last: now}
	for i := range t.buckets {
		t.buckets[i].index = -1
	}
	return t
}

// bucket returns the bucket of index, emptied if it held an older one.
func (t *throughput) bucket(index int64) *bucket {
	b := &t.buckets[index%windowBuckets]
	if b.index != index {
		*b = bucket{index: index}
	}
	return b
}

// advance counts the demand's slot-time up to now into the buckets it
// falls in (only the last windowBuckets matter).
func (t *throughput) advance(now time.Time) {
	if !now.After(t.last) {
		return
	}
	used := min(t.demand, t.slots)
	from := t.last
	t.last = now
	if used == 0 {
		return
	}
	if now.Sub(from) > throughputWindow {
		from = now.Add(-throughputWindow)
	}
	for from.Before(now) {
		index := int64(from.Sub(t.epoch) / bucketWidth)
		end := t.epoch.Add(time.Duration(index+1) * bucketWidth)
		if end.After(now) || !end.After(from) { // the last piece, or rounding at a boundary
			end = now
		}
		t.bucket(index).used += time.Duration(used) * end.Sub(from)
		from = end
	}
}

// enter counts a caller who wants a slot.
func (t *throughput) enter(now time.Time) {
	t.mu.Lock()
	t.advance(now)
	t.demand++
	t.mu.Unlock()
}

// leave counts a caller who gave up wanting a slot without hashing.
func (t *throughput) leave(now time.Time) {
	t.mu.Lock()
	t.advance(now)
	t.demand--
	t.mu.Unlock()
}

// complete counts a finished hash, whose caller leaves.
func (t *throughput) complete(now time.Time) {
	t.mu.Lock()
	t.advance(now)
	t.demand--
	t.bucket(int64(now.Sub(t.epoch)/bucketWidth)).completions++
	t.mu.Unlock()
}

// rate returns hashes a second at full use over the window ending at now,
// or the last rate measured when the window holds too few hashes; 0 when
// there has never been one.
func (t *throughput) rate(now time.Time) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.advance(now)
	current := int64(now.Sub(t.epoch) / bucketWidth)
	completions, used := 0, time.Duration(0)
	for i := range t.buckets {
		b := &t.buckets[i]
		if b.index > current-windowBuckets && b.index <= current {
			completions += b.completions
			used += b.used
		}
	}
	if completions >= minCompletions && used > 0 {
		t.known = float64(completions) / (used.Seconds() / float64(t.slots))
	}
	return t.known
}

// wait estimates how long the position-th caller in the queue (1 for the
// next to get a slot) waits for its slot: the time the slots take to
// finish position hashes at the measured rate. ok is false while nothing
// has been measured.
func (t *throughput) wait(position int64, now time.Time) (d time.Duration, ok bool) {
	r := t.rate(now)
	if r <= 0 {
		return 0, false
	}
	return time.Duration(float64(position) / r * float64(time.Second)), true
}
