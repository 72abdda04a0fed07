package password

import (
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Hashes made by golang.org/x/crypto/argon2.IDKey before this package
// had an argon2id of its own, of "correct horse battery staple".
var xcryptoHashes = []string{
	"$argon2id$v=19$m=65536,t=1,p=1$Z2F0ZWhvdXNlLXNhbHQtMQ$LloDTxcoHxpYZo/SPKnlTgUDzAR3El2eyOF/AeAeNrg",
	"$argon2id$v=19$m=1024,t=3,p=4$YW5vdGhlciBzYWx0$LaA0DSi7yNNnUQH8l7PAWYfHll3z3GRBnbSi7zXGIcA",
}

func TestVerifyXCryptoHashes(t *testing.T) {
	for _, p := range []Params{DefaultParams, testParams} { // the slot's memory, or memory of its own
		h := NewHasher(p, 1, time.Second)
		for _, encoded := range xcryptoHashes {
			for _, tt := range []struct {
				password string
				ok       bool
			}{
				{"correct horse battery staple", true},
				{"correct horse battery stapler", false},
			} {
				if ok, _, err := h.Verify(t.Context(), encoded, tt.password); ok != tt.ok || err != nil {
					t.Errorf("Hasher m=%d: Verify(%s, %q): got %v, %v, want %v, nil", p.Memory, encoded, tt.password, ok, err, tt.ok)
				}
			}
		}
	}
}

// TestMemoryBounded runs many hashes through two slots: the Go heap must
// not see their memory, and there must be no more than one block array
// per slot.
func TestMemoryBounded(t *testing.T) {
	const callers, slots = 16, 2
	p := Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := NewHasher(p, slots, time.Minute)
	bigger, _ := NewHasher(Params{Memory: 16 * 1024, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, 1, time.Minute).
		Hash(t.Context(), "correct horse battery staple")
	smaller, _ := NewHasher(testParams, 1, time.Minute).Hash(t.Context(), "correct horse battery staple")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var err error
			switch i % 4 {
			case 0:
				_, err = h.Hash(t.Context(), "correct horse battery staple")
			case 1:
				err = h.VerifyDummy(t.Context(), "correct horse battery staple")
			case 2:
				_, _, err = h.Verify(t.Context(), bigger, "correct horse battery staple") // memory of its own
			case 3:
				_, _, err = h.Verify(t.Context(), smaller, "correct horse battery staple") // fits in a slot's
			}
			if err != nil {
				t.Errorf("hash %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	// x/crypto/argon2 allocated callers × 8 MiB or more here.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("Go heap allocated by %d hashes of 8 MiB: got %d bytes, want under 1 MiB", callers, grew)
	}
	if n := h.workspaces.Load(); n != slots {
		t.Errorf("slots' memory allocated: got %d, want %d", n, slots)
	}
}

// TestIdleRelease: the slots' memory is released idleRelease after the
// last hash, not before, and the next hash takes it again.
func TestIdleRelease(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := NewHasher(testParams, 2, time.Second)
		if _, err := h.Hash(t.Context(), "correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
		if got := residentSlots(h); got != 1 {
			t.Errorf("resident slots after a hash: got %d, want 1", got)
		}
		time.Sleep(idleRelease - time.Second)
		h.VerifyDummy(t.Context(), "correct horse battery staple")
		time.Sleep(idleRelease - time.Second) // idleRelease after the first hash, not the second
		synctest.Wait()
		if got := residentSlots(h); got != 2 {
			t.Errorf("resident slots %v after the last hash: got %d, want 2", idleRelease-time.Second, got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := residentSlots(h); got != 0 {
			t.Errorf("resident slots %v after the last hash: got %d, want 0", idleRelease+time.Second, got)
		}
		if n := h.workspaces.Load(); n != 2 {
			t.Errorf("slots' memory allocated: got %d, want 2 (released, not freed)", n)
		}
		// Verify reads the released memory again.
		encoded, _ := h.Hash(t.Context(), "correct horse battery staple")
		if ok, _, err := h.Verify(t.Context(), encoded, "correct horse battery staple"); !ok || err != nil {
			t.Errorf("Verify after release: got %v, %v, want true, nil", ok, err)
		}
	})
}

// residentSlots counts the slots whose memory holds pages; every slot
// must be free.
func residentSlots(h *Hasher) int {
	n := 0
	for range cap(h.slots) {
		ws := <-h.slots
		if ws.resident {
			n++
		}
		h.slots <- ws
	}
	return n
}
