package argon2id

import "runtime"

// Memory is the block array of one derivation at a time, reused from one
// derivation to the next. It is not safe for concurrent use.
//
// Nothing is cleared between derivations, and nothing needs to be: the
// first pass writes every block it uses before any block is read (block i
// of a lane is computed from block i-1 and a block before it in the order
// of computation), so what a previous derivation left is never an input.
//
// Nor is anything wiped after a derivation. The blocks are derived from the
// password, but reading them needs access to the process's memory, which
// would show the password itself; x/crypto/argon2 leaves the same blocks in
// freed heap. Wiping 64 MiB would cost about a tenth of a hash. What is
// done instead: on Linux the mapping is excluded from core dumps, Release
// hands the pages back to the kernel (which zeroes them before any other
// use), and Free unmaps them.
type Memory struct {
	blocks  []block // the derivation's blocks
	scratch *block  // the compression function's workspace
	size    uint32  // len(blocks)
	mapped  []byte  // the mapping on Linux; nil elsewhere
	cleanup runtime.Cleanup
}

// NewMemory returns memory for derivations of up to kib KiB (see Fits),
// on Linux mapped outside the Go heap, with no page of it resident until
// a derivation touches it.
func NewMemory(kib uint32) (*Memory, error) {
	kib = max(kib, 8)
	all, mapped, err := allocate(int(kib) + 1)
	if err != nil {
		return nil, err
	}
	m := &Memory{blocks: all[:kib:kib], scratch: &all[kib], size: kib, mapped: mapped}
	if mapped != nil {
		// In case the owner forgets Free; never while a derivation runs
		// (derive keeps m alive to its end).
		m.cleanup = runtime.AddCleanup(m, func(b []byte) { unmap(b) }, mapped)
	}
	return m, nil
}

// Fits reports whether m can hold a derivation of memory KiB in threads lanes.
func (m *Memory) Fits(memory uint32, threads uint8) bool {
	return threads >= 1 && Blocks(memory, threads) <= m.size
}

// Release gives the memory's pages back to the operating system, keeping
// the address range: the next derivation takes fresh zeroed pages from the
// kernel as it touches them. It is for memory that will stay idle a while.
// It does nothing where the memory is not a mapping of its own.
func (m *Memory) Release() {
	if m.mapped != nil {
		release(m.mapped)
	}
}

// Free unmaps the memory. m must not be used afterwards.
func (m *Memory) Free() {
	if m.mapped != nil {
		m.cleanup.Stop() // the kernel may give the range to the next mapping
		unmap(m.mapped)
	}
	m.blocks, m.scratch, m.size, m.mapped = nil, nil, 0, nil
}
