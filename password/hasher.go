package password

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/priority"
	"github.com/gatehouse/gatehouse/password/internal/argon2id"
)

// Hasher hashes and verifies with bounded concurrency: at most slots hashes
// run at once, further callers wait up to queueWait (or until their context
// ends) for a slot and then get ErrBusy. This bounds memory and keeps cheap
// requests fast. Each slot owns the argon2id memory of one hash, allocated
// by its first hash outside the Go heap and reused by every later one, so
// hashing costs slots × Memory and nothing more (a stored hash with more
// memory than the Hasher's borrows its own for that one hash); after
// idleRelease without a hash the pages go back to the operating system.
// A caller who could not get a slot within queueWait, at the pace hashes
// are finishing, gets ErrBusy at once rather than after waiting for
// nothing. Hashes run on threads of lower priority (priority.Hash), kept
// from hash to hash (at most one a slot), so that the requests served
// beside a flood of logins stay fast. A Hasher is safe for concurrent use.
type Hasher struct {
	params    Params
	slots     chan *workspace // the free slots: a semaphore whose tokens carry memory
	queueWait time.Duration
	waiting   atomic.Int64
	busyTotal atomic.Uint64
	hashed    atomic.Uint64 // hashes computed, including verifications
	pace      atomic.Int64  // recent time of one hash in nanoseconds, a moving average; 0 until one finished
	dummy     string        // an argon2id hash no password matches, for VerifyDummy
	threads   *priority.Pool

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

// workspace is a slot's argon2id memory. Only the goroutine that holds the
// slot (took it from Hasher.slots) touches it.
type workspace struct {
	mem      *argon2id.Memory // nil until the first hash
	resident bool             // hashed in since the last release
}

// NewHasher returns a Hasher for p with at most slots hashes at once
// (runtime.NumCPU() when slots <= 0). It panics if p is invalid: validate
// configured parameters with Params.Validate first.
func NewHasher(p Params, slots int, queueWait time.Duration) *Hasher {
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("password.NewHasher: %v", err))
	}
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
// m=65536 t=1 p=1, 2 at once, AVX2". Without "AVX2" (a CPU without it, or
// a build with -tags purego) a hash takes about 2.5 times as long, and a
// node serves that many fewer logins.
func (h *Hasher) String() string {
	g := "Go"
	if argon2id.Accelerated() {
		g = "AVX2"
	}
	return fmt.Sprintf("argon2id m=%d t=%d p=%d, %d at once, %s", h.params.Memory, h.params.Time, h.params.Threads, cap(h.slots), g)
}

// Hash returns the argon2id PHC string of the normalised password, salted
// at random. Errors: ErrTooLong, ErrBusy, or the system's when it has no

// Stats reports hashes running now, callers waiting for a slot now, and how
// many callers got ErrBusy since the Hasher was made: for Prometheus.
func (h *Hasher) Stats() (running, waiting int, busyTotal uint64) {
	return cap(h.slots) - len(h.slots), int(h.waiting.Load()), h.busyTotal.Load()
}

// Hashed reports how many hashes (Hash, Verify, VerifyDummy) took a slot
// since the Hasher was made: for Prometheus, and for tests that check a
// request was refused before any hashing.
func (h *Hasher) Hashed() uint64 { return h.hashed.Load() }

// run derives a key in the slot's memory on a thread of lower priority
// and records how long it took in the moving average that acquire's
// estimate uses.
func (h *Hasher) run(ws *workspace, password, salt []byte, p Params) ([]byte, error) {
	start := time.Now()
	var key []byte
	var err error
	h.threads.Run(func() {
		if h.derive != nil {
			key = h.derive(password, salt, p)
		} else {
			key, err = ws.derive(h, password, salt, p)
		}
	})
	took := int64(time.Since(start))
	for {
		old := h.pace.Load()
		next := took
		if old != 0 {
			next = old + (took-old)/8
		}
		if h.pace.CompareAndSwap(old, next) {
			return key, err
		}
	}
}

// CheckCapacity returns ErrBusy, counted as a refusal, when a hash asked
// for now would be refused at once (see acquire), so that a caller can
// refuse before doing any other work for it: a login flood then costs the
// database nothing beyond capacity.
func (h *Hasher) CheckCapacity() error {
	if h.cannotServe(h.waiting.Load() + 1) {
		h.busyTotal.Add(1)
		return ErrBusy
	}
	return nil
}

// cannotServe reports whether the waiting-th caller in the queue would wait
// longer than queueWait for a slot at the recent pace of hashes.
func (h *Hasher) cannotServe(waiting int64) bool {
	slots := int64(cap(h.slots))
	pace := time.Duration(h.pace.Load())
	return len(h.slots) == 0 && pace > 0 && time.Duration((waiting+slots-1)/slots)*pace >= h.queueWait
}

// acquire takes a hashing slot, waiting up to queueWait or until ctx ends.
// When the callers already waiting would take longer than queueWait to be
// served at the recent pace, it refuses at once: a client told to come back
// at once is better served than one that waits two seconds to hear it.
func (h *Hasher) acquire(ctx context.Context) (*workspace, error) {
	select {
	case ws := <-h.slots:
		h.hashed.Add(1)
		return ws, nil
	default:
	}
	waiting := h.waiting.Add(1)
	defer h.waiting.Add(-1)
	if h.cannotServe(waiting) {
		h.busyTotal.Add(1)
		return nil, ErrBusy
	}
	timer := time.NewTimer(h.queueWait)
	defer timer.Stop()
	select {
	case ws := <-h.slots:
		h.hashed.Add(1)
		return ws, nil
	case <-timer.C:
		h.busyTotal.Add(1)
		return nil, ErrBusy
	case <-ctx.Done():
		h.busyTotal.Add(1)
		return nil, fmt.Errorf("%w: %w", ErrBusy, context.Cause(ctx))
	}
}

// release frees the slot, and when its memory was used, makes sure that
// releaseIdle will run: a timer per idle period, not per hash.
func (h *Hasher) release(ws *workspace) {
	used := ws.resident // read before another caller can take ws
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
