package password

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/priority"
	"github.com/gatehouse/gatehouse/password/internal/argon2id"
)

// Hasher hashes and verifies with bounded concurrency: at most slots hashes
// run at once, and further callers queue for a slot. This bounds memory and
// keeps cheap requests fast. A caller is admitted to the queue only when
// the wait it faces, estimated from the throughput the slots have shown
// over the last seconds (admission.go), is within queueWait; otherwise it
// gets a BusyError (ErrBusy) at once, with that estimate for Retry-After.
// An admitted caller waits for its slot (see acquire for the bounds), or
// until its context ends. Each slot owns the argon2id memory of one hash,
// allocated by its first hash outside the Go heap and reused by every later
// one, so hashing costs slots × Memory and nothing more (a stored hash with
// more memory than the Hasher's borrows its own for that one hash); after
// idleRelease without a hash the pages go back to the operating system.
// Hashes run on threads of lower priority (priority.Hash), kept from hash
// to hash (at most one a slot), so that the requests served beside a flood
// of logins stay fast. A Hasher is safe for concurrent use.
type Hasher struct {
	params    Params
	slots     chan *workspace // the free slots: a semaphore whose tokens carry memory
	queueWait time.Duration
	waiting   atomic.Int64
	hashed    atomic.Uint64 // hashes computed, including verifications
	load      *throughput   // the slots' recent rate, for admission
	dummy     string        // an argon2id hash no password matches, for VerifyDummy
	threads   *priority.Pool

	// Refusals since the Hasher was made (see Load).
	refused        atomic.Uint64
	refusedAtOnce  atomic.Uint64
	refusedWaitSum atomic.Int64 // nanoseconds
	timedOut       atomic.Uint64

	// OnHashing: the callback, and its state under hashingMu.
	onHashing    func(bool)
	hashingMu    sync.Mutex
	hashingOn    bool      // onHashing(true) was the last call
	hashingRuns  int       // hashes running
	hashingEnd   time.Time // when the last hash ended
	hashingTimer bool      // a hashingOff is scheduled

	epoch      time.Time    // when the Hasher was made: lastHash counts from it
	lastHash   atomic.Int64 // when a hash that used a slot's memory ended, in nanoseconds since epoch
	idleTimer  atomic.Bool  // a releaseIdle is scheduled
	workspaces atomic.Int64 // slots whose memory is allocated, for tests

	// derive, when set, computes argon2id keys instead of the slots'
	// memory; tests set it to observe and hold hashes in flight.
	derive func(password, salt []byte, p Params) []byte
}

// idleRelease is how long the Hasher goes without a hash before the slots'
// memory goes back to the operating system: long enough that a steady
// trickle of logins keeps it, short enough that a server a flood has left
// does not keep slots × Memory resident.
const idleRelease = 30 * time.Second

// hashingIdle is how long no hash runs before OnHashing's callback hears
// that hashing stopped: long enough that a login flood, whose hashes
// follow each other, never switches off and on, short enough that a node
// serving only cheap requests after a few logins does so within a second.
const hashingIdle = time.Second

// workspace is a slot's argon2id memory. Only the goroutine that holds the
// slot (took it from Hasher.slots) touches it.
type workspace struct {
	mem      *argon2id.Memory // nil until the first hash
	resident bool             // hashed in since the last release
}

// NewHasher returns a Hasher for p with at most slots hashes at once
// (runtime.NumCPU() when slots <= 0). It panics if p is invalid: validate
// configured parameters with Params.Validate first. The first Hasher of a
// process runs SelfTest, and panics if argon2id cannot be computed right.
func NewHasher(p Params, slots int, queueWait time.Duration) *Hasher {
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("password.NewHasher: %v", err))
	}
	selfTestPassed()
	if slots <= 0 {
		slots = runtime.NumCPU()
	}
	h := &Hasher{
		params:    p,
		slots:     make(chan *workspace, slots),
		queueWait: max(queueWait, 0),
		dummy:     encodePHC(phcHash{params: p, salt: randomBytes(p.SaltLen), key: randomBytes(p.KeyLen)}),
		epoch:     time.Now(),
		threads:   priority.NewPool(priority.Hash),
	}
	h.load = newThroughput(slots, h.epoch)
	for range slots {
		h.slots <- &workspace{}
	}
	return h
}

// derive computes the argon2id key in the slot's memory, which its first
// use allocates for the Hasher's parameters. Parameters that need more
// (stored hashes may have up to maxMemory) get memory of their own for
// this hash.
func (w *workspace) derive(h *Hasher, password, salt []byte, p Params) ([]byte, error) {
	if w.mem == nil && argon2id.Blocks(p.Memory, p.Threads) <= h.params.Memory {
		mem, err := argon2id.NewMemory(h.params.Memory)
		if err != nil {
			return nil, fmt.Errorf("password: argon2id memory: %w", err)
		}
		w.mem = mem
		h.workspaces.Add(1)
	}
	if w.mem == nil || !w.mem.Fits(p.Memory, p.Threads) {
		return deriveOnce(password, salt, p)
	}
	w.resident = true
	return w.mem.Key(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// deriveOnce computes an argon2id key in memory allocated for it alone.
func deriveOnce(password, salt []byte, p Params) ([]byte, error) {
	mem, err := argon2id.NewMemory(argon2id.Blocks(p.Memory, p.Threads))
	if err != nil {
		return nil, fmt.Errorf("password: argon2id memory: %w", err)
	}
	defer mem.Free()
	return mem.Key(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// String says how the Hasher hashes, for the log at start-up: "argon2id
// m=65536 t=1 p=1, 2 at once, AVX2, queue wait 2s". Without "AVX2" (a CPU
// without it, a build with -tags purego, or an AVX2 path that failed its
// self-test) a hash takes about 3 times as long, and a node serves that
// many fewer logins.
func (h *Hasher) String() string {
	g := "Go"
	if argon2id.Accelerated() {
		g = "AVX2"
	}
	return fmt.Sprintf("argon2id m=%d t=%d p=%d, %d at once, %s, queue wait %s",
		h.params.Memory, h.params.Time, h.params.Threads, cap(h.slots), g, h.queueWait)
}

// Stats reports hashes running now, callers waiting for a slot now, and how
// many callers got ErrBusy since the Hasher was made: for Prometheus.
func (h *Hasher) Stats() (running, waiting int, busyTotal uint64) {
	return cap(h.slots) - len(h.slots), int(h.waiting.Load()), h.refused.Load()
}

// Load is what a Hasher knows of its queue, for metrics and the log.
type Load struct {
	Running, Waiting int
	// Refused counts every ErrBusy since the Hasher was made: RefusedAtOnce
	// on arrival, for an estimated wait beyond the queue wait (their
	// estimates sum to RefusedWaitSum); TimedOut after waiting as long as
	// an admitted caller may; the rest because the caller's context ended
	// while it waited.
	Refused, RefusedAtOnce, TimedOut uint64
	RefusedWaitSum                   time.Duration
	// Throughput is hashes a second at full use over the last seconds (0
	// before any was measured); Wait is the wait a caller arriving now
	// would face, 0 when a slot is free or nothing was measured.
	Throughput float64
	Wait       time.Duration
	QueueWait  time.Duration
}

// Load reports the queue now and the refusals so far.
func (h *Hasher) Load() Load {
	now := time.Now()
	l := Load{
		Running: cap(h.slots) - len(h.slots), Waiting: int(h.waiting.Load()),
		Refused: h.refused.Load(), RefusedAtOnce: h.refusedAtOnce.Load(), TimedOut: h.timedOut.Load(),
		RefusedWaitSum: time.Duration(h.refusedWaitSum.Load()),
		Throughput:     h.load.rate(now), QueueWait: h.queueWait,
	}
	if l.Running == cap(h.slots) {
		l.Wait, _ = h.load.wait(int64(l.Waiting)+1, now)
	}
	return l
}

// Hashed reports how many hashes (Hash, Verify, VerifyDummy) took a slot
// since the Hasher was made: for Prometheus, and for tests that check a
// request was refused before any hashing.
func (h *Hasher) Hashed() uint64 { return h.hashed.Load() }

// OnHashing sets fn to be called with true before a hash starts when none
// ran for the last second, and with false once none has run for a second.
// Calls never overlap and alternate, true first; a hash waits for its
// true to return. Call it before the first hash. gatehouse serve gives the
// Go runtime one more processor per slot only while hashes run
// (cmd/gatehouse, tuneRuntime).
func (h *Hasher) OnHashing(fn func(hashing bool)) { h.onHashing = fn }

// hashStarts tells onHashing, if set, that a hash starts.
func (h *Hasher) hashStarts() {
	if h.onHashing == nil {
		return
	}
	h.hashingMu.Lock()
	defer h.hashingMu.Unlock()
	h.hashingRuns++
	if !h.hashingOn {
		h.hashingOn = true
		h.onHashing(true)
	}
}

// hashEnds schedules, if onHashing is set, the look at whether hashing
// stopped: a timer per busy period, not per hash.
func (h *Hasher) hashEnds() {
	if h.onHashing == nil {
		return
	}
	h.hashingMu.Lock()
	defer h.hashingMu.Unlock()
	h.hashingRuns--
	h.hashingEnd = time.Now()
	if !h.hashingTimer {
		h.hashingTimer = true
		time.AfterFunc(hashingIdle, h.hashingOff)
	}
}

// hashingOff calls onHashing(false) if no hash ran for hashingIdle, and
// otherwise looks again hashingIdle after the last one ended.
func (h *Hasher) hashingOff() {
	h.hashingMu.Lock()
	defer h.hashingMu.Unlock()
	h.hashingTimer = false
	if h.hashingRuns > 0 {
		return // the hash's end schedules the next look
	}
	if idle := time.Since(h.hashingEnd); idle < hashingIdle {
		h.hashingTimer = true
		time.AfterFunc(hashingIdle-idle, h.hashingOff)
		return
	}
	if h.hashingOn {
		h.hashingOn = false
		h.onHashing(false)
	}
}

// run derives a key in the slot's memory on a thread of lower priority.
func (h *Hasher) run(ws *workspace, password, salt []byte, p Params) ([]byte, error) {
	var key []byte
	var err error
	h.hashStarts()
	defer h.hashEnds()
	h.threads.Run(func() {
		if h.derive != nil {
			key = h.derive(password, salt, p)
		} else {
			key, err = ws.derive(h, password, salt, p)
		}
	})
	return key, err
}

// CheckCapacity returns a BusyError, counted as a refusal, when a hash
// asked for now would be refused at once (see acquire), so that a caller
// can refuse before doing any other work for it: a login flood then costs
// the database nothing beyond capacity.
func (h *Hasher) CheckCapacity() error {
	if len(h.slots) > 0 {
		return nil
	}
	if wait, ok := h.load.wait(h.waiting.Load()+1, time.Now()); ok && wait > h.queueWait {
		return h.refuseAtOnce(wait)
	}
	return nil
}

func (h *Hasher) refuseAtOnce(wait time.Duration) error {
	h.refused.Add(1)
	h.refusedAtOnce.Add(1)
	h.refusedWaitSum.Add(int64(wait))
	return &BusyError{Wait: wait, QueueWait: h.queueWait}
}

// admittedWaits is how many queue waits a caller admitted on an estimate
// waits at most. The estimate is a mean, and the pace may fall while the
// caller waits (other work takes the cores): one admitted is served a
// little late rather than refused after waiting, the worst answer of all.
// The bound is for a pace that collapses.
const admittedWaits = 2

// acquire takes a hashing slot. When none is free, a caller whose
// estimated wait exceeds queueWait is refused at once: a client told at
// once when to come back is better served than one that waits two seconds
// to hear it. Others wait until a slot frees or ctx ends, at most
// admittedWaits × queueWait, or queueWait while the Hasher has measured
// no throughput yet (and so admits without an estimate).
func (h *Hasher) acquire(ctx context.Context) (*workspace, error) {
	h.load.enter(time.Now())
	select {
	case ws := <-h.slots:
		h.hashed.Add(1)
		return ws, nil
	default:
	}
	waiting := h.waiting.Add(1)
	defer h.waiting.Add(-1)
	now := time.Now()
	limit := h.queueWait
	if wait, ok := h.load.wait(waiting, now); ok {
		if wait > h.queueWait {
			h.load.leave(now)
			return nil, h.refuseAtOnce(wait)
		}
		limit = admittedWaits * h.queueWait
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case ws := <-h.slots:
		h.hashed.Add(1)
		return ws, nil
	case <-timer.C:
		now := time.Now()
		h.load.leave(now)
		h.refused.Add(1)
		h.timedOut.Add(1)
		wait, _ := h.load.wait(h.waiting.Load(), now)
		return nil, &BusyError{Wait: max(wait, h.queueWait), QueueWait: h.queueWait}
	case <-ctx.Done():
		h.load.leave(time.Now())
		h.refused.Add(1)
		return nil, &BusyError{QueueWait: h.queueWait, cause: context.Cause(ctx)}
	}
}

// release frees the slot, and when its memory was used, makes sure that
// releaseIdle will run: a timer per idle period, not per hash.
func (h *Hasher) release(ws *workspace) {
	used := ws.resident // read before another caller can take ws
	h.load.complete(time.Now())
	h.slots <- ws
	if !used {
		return
	}
	h.lastHash.Store(int64(time.Since(h.epoch)))
	if h.idleTimer.CompareAndSwap(false, true) {
		time.AfterFunc(idleRelease, h.releaseIdle)
	}
}

// releaseIdle gives the pages of the free slots' memory back to the
// operating system if no hash ended for idleRelease, and otherwise looks
// again idleRelease after the last one. A slot busy now is left alone: its
// release schedules another look.
func (h *Hasher) releaseIdle() {
	h.idleTimer.Store(false)
	if idle := time.Since(h.epoch) - time.Duration(h.lastHash.Load()); idle < idleRelease {
		if h.idleTimer.CompareAndSwap(false, true) {
			time.AfterFunc(idleRelease-idle, h.releaseIdle)
		}
		return
	}
	for range cap(h.slots) {
		select {
		case ws := <-h.slots:
			if ws.resident {
				ws.mem.Release()
				ws.resident = false
			}
			h.slots <- ws
		default:
			return
		}
	}
}
