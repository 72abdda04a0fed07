package argon2id

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"

	"golang.org/x/crypto/blake2b"
)

const (
	version    = 0x13 // RFC 9106's only version
	typeID     = 2    // y: argon2id
	syncPoints = 4    // slices per pass
	blockWords = 128  // a block is 1 KiB: 128 little-endian 64-bit words
	blockBytes = 8 * blockWords
)

type block [blockWords]uint64

// Blocks returns how many 1 KiB blocks a derivation with memory KiB and
// threads lanes uses: memory rounded down to a multiple of 4 × threads,
// and at least 8 × threads (RFC 9106, section 3.2, step 3).
func Blocks(memory uint32, threads uint8) uint32 {
	quantum := syncPoints * uint32(threads)
	return max(memory/quantum*quantum, 2*quantum)
}

// Key derives a keyLen-byte argon2id key of password and salt with time
// passes over memory KiB in threads lanes, in m's blocks. It returns the
// same bytes as golang.org/x/crypto/argon2.IDKey for the same arguments.
// It panics if time or threads is 0, or if m is too small (see Fits).
// The lanes run one after another on the calling goroutine: p > 1 costs
// the CPU it would in parallel but saves no time, and the caller decides
// how many derivations run at once.
func (m *Memory) Key(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return m.derive(Accelerated(), password, salt, nil, nil, time, memory, threads, keyLen)
}

// derive is Key with RFC 9106's optional secret and associated data, with
// the assembly's G when avx2 is set (which the CPU must have), else Go's.
func (m *Memory) derive(avx2 bool, password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 || threads < 1 || keyLen < 1 {
		panic(fmt.Sprintf("argon2id: time %d, threads %d, key length %d: want at least 1", time, threads, keyLen))
	}
	if !m.Fits(memory, threads) {
		panic(fmt.Sprintf("argon2id: memory of %d blocks cannot hold m=%d KiB, p=%d", m.size, memory, threads))
	}
	h0 := initialHash(password, salt, secret, data, time, memory, uint32(threads), keyLen)
	f := filler{
		memory:  m.blocks[:Blocks(memory, threads)],
		scratch: m.scratch,
		lanes:   uint32(threads),
		passes:  time,
		avx2:    avx2,
	}
	f.laneLen = uint32(len(f.memory)) / f.lanes
	f.segmentLen = f.laneLen / syncPoints
	f.firstBlocks(&h0)
	for pass := range time {
		for slice := range uint32(syncPoints) {
			for lane := range f.lanes {
				f.fillSegment(pass, slice, lane)
			}
		}
	}
	key := f.finalize(keyLen)
	runtime.KeepAlive(m) // the blocks may be a mapping that a cleanup of m unmaps
	return key
}

// initialHash computes H0 over the parameters and inputs (RFC 9106,
// section 3.2, step 1), followed by 8 bytes of room for the block and lane
// numbers that firstBlocks appends.
func initialHash(password, salt, secret, data []byte, time, memory, threads, keyLen uint32) [blake2b.Size + 8]byte {
	h, _ := blake2b.New512(nil) // never fails without a key
	var word [4]byte
	writeWord := func(v uint32) {
		binary.LittleEndian.PutUint32(word[:], v)
		h.Write(word[:])
	}
	for _, v := range []uint32{threads, keyLen, memory, time, version, typeID} {
		writeWord(v)
	}
	for _, input := range [][]byte{password, salt, secret, data} {
		writeWord(uint32(len(input)))
		h.Write(input)
	}
	var h0 [blake2b.Size + 8]byte
	h.Sum(h0[:0])
	return h0
}

// hashVariable is H' (RFC 9106, section 3.3): BLAKE2b stretched to any
// length by chaining 64-byte digests and keeping 32 bytes of each.
func hashVariable(out, in []byte) {
	var prefix [4]byte
	binary.LittleEndian.PutUint32(prefix[:], uint32(len(out)))
	if len(out) <= blake2b.Size {
		sum(out, prefix[:], in)
		return
	}
	var v [blake2b.Size]byte
	sum(v[:], prefix[:], in)
	for len(out) > blake2b.Size {
		copy(out, v[:32])
		out = out[32:]
		if len(out) > blake2b.Size {
			v = blake2b.Sum512(v[:])
		}
	}
	sum(out, v[:])
}

// sum writes the BLAKE2b digest of the concatenated inputs, of len(out)
// bytes, to out.
func sum(out []byte, in ...[]byte) {
	h, _ := blake2b.New(len(out), nil) // 1 to 64 bytes: never fails
	for _, b := range in {
		h.Write(b)
	}
	h.Sum(out[:0])
}

// filler holds one derivation's state while it fills the memory.
type filler struct {
	memory     []block
	scratch    *block // the compression function's workspace
	lanes      uint32
	laneLen    uint32 // blocks per lane
	segmentLen uint32 // blocks per lane per slice
	passes     uint32
	avx2       bool // G in assembly
}

// firstBlocks writes blocks 0 and 1 of every lane from H0 (RFC 9106,
// section 3.2, steps 4 and 5).
func (f *filler) firstBlocks(h0 *[blake2b.Size + 8]byte) {
	var buf [blockBytes]byte
	for lane := range f.lanes {
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)
		for i := range uint32(2) {
			binary.LittleEndian.PutUint32(h0[blake2b.Size:], i)
			hashVariable(buf[:], h0[:])
			b := &f.memory[lane*f.laneLen+i]
			for w := range b {
				b[w] = binary.LittleEndian.Uint64(buf[8*w:])
			}
		}
	}
}

// fillSegment computes one lane's blocks of one slice of one pass
// (RFC 9106, sections 3.2 and 3.4). It reads only blocks finished before
// this slice began, or earlier in this segment, so segments of one slice
// may run in any order.
func (f *filler) fillSegment(pass, slice, lane uint32) {
	// argon2id takes its reference indices from a pseudo-random stream
	// independent of the password in the first half of the first pass
	// (resisting side channels), and from the previous block afterwards
	// (resisting time-memory trade-offs).
	independent := pass == 0 && slice < syncPoints/2
	var input, addresses, zero block
	if independent {
		input[0] = uint64(pass)
		input[1] = uint64(lane)
		input[2] = uint64(slice)
		input[3] = uint64(len(f.memory))
		input[4] = uint64(f.passes)
		input[5] = typeID
	}
	first := uint32(0)
	if pass == 0 && slice == 0 {
		first = 2 // firstBlocks wrote them
	}
	laneStart := lane * f.laneLen
	cur := laneStart + slice*f.segmentLen + first
	prev := cur - 1
	if cur == laneStart {
		prev = laneStart + f.laneLen - 1 // a lane wraps around after the first pass
	}
	last := &f.memory[prev]
	xor := pass > 0
	// ref is the reference of the block at index; known, when the block
	// before found it early.
	ref, known := uint32(0), false
	for index := first; index < f.segmentLen; index++ {
		if !known {
			pseudoRand := last[0]
			if independent {
				if index%blockWords == 0 || index == first {
					input[6]++
					compress(&addresses, &zero, &input, f.scratch, false, f.avx2)
					compress(&addresses, &zero, &addresses, f.scratch, false, f.avx2)
				}
				pseudoRand = addresses[index%blockWords]
			}
			ref = f.referenceBlock(pseudoRand, pass, slice, lane, index)
		}
		out, y := &f.memory[cur], &f.memory[ref]
		// Where the next block's reference is known before this block is
		// done (from the stream, or from out[0] once compressHead has
		// made it), memory is asked for it at once: the reference is
		// random, far from the cache, and its wait is otherwise the next
		// block's.
		next := index + 1
		known = false
		if independent && next%blockWords != 0 && next < f.segmentLen {
			ref, known = f.referenceBlock(addresses[next%blockWords], pass, slice, lane, next), true
			prefetchBlock(&f.memory[ref])
		}
		compressHead(out, last, y, f.scratch, xor, f.avx2)
		if !independent && next < f.segmentLen {
			ref, known = f.referenceBlock(out[0], pass, slice, lane, next), true
			prefetchBlock(&f.memory[ref])
		}
		compressTail(out, last, y, f.scratch, xor, f.avx2)
		last = out
		cur++
	}
}

// compress is G (see compressGeneric) in one go.
func compress(out, x, y, scratch *block, xor, avx2 bool) {
	compressHead(out, x, y, scratch, xor, avx2)
	compressTail(out, x, y, scratch, xor, avx2)
}

// referenceBlock maps 64 pseudo-random bits to the block that block index
// of the segment (pass, slice, lane) combines with its predecessor
// (RFC 9106, section 3.4.1 and 3.4.2).
func (f *filler) referenceBlock(pseudoRand uint64, pass, slice, lane, index uint32) uint32 {
	j1, j2 := uint32(pseudoRand), uint32(pseudoRand>>32)
	refLane := j2 % f.lanes
	if pass == 0 && slice == 0 {
		refLane = lane // other lanes have nothing yet
	}
	// The reference set: every block already finished, except the
	// predecessor (which is an input anyway), and in another lane only
	// whole finished segments, never the one being written now.
	var size, start uint32
	if pass == 0 {
		size = slice * f.segmentLen
	} else {
		size = (syncPoints - 1) * f.segmentLen
		start = (slice + 1) % syncPoints * f.segmentLen // just after this segment
	}
	if refLane == lane {
		size += index - 1
	} else if index == 0 {
		size--
	}
	// Squaring skews the choice towards recent blocks.
	x := uint64(j1) * uint64(j1) >> 32
	y := uint64(size) * x >> 32
	relative := uint64(size) - 1 - y
	return refLane*f.laneLen + uint32((uint64(start)+relative)%uint64(f.laneLen))
}

// finalize XORs the last block of every lane and hashes it to the key
// (RFC 9106, section 3.2, steps 7 and 8).
func (f *filler) finalize(keyLen uint32) []byte {
	last := f.memory[f.laneLen-1]
	for lane := uint32(1); lane < f.lanes; lane++ {
		b := &f.memory[lane*f.laneLen+f.laneLen-1]
		for w := range last {
			last[w] ^= b[w]
		}
	}
	var buf [blockBytes]byte
	for w, v := range last {
		binary.LittleEndian.PutUint64(buf[8*w:], v)
	}
	key := make([]byte, keyLen)
	hashVariable(key, buf[:])
	return key
}

// compressGeneric is G (RFC 9106, section 3.5) in Go: out = P(x ⊕ y) ⊕
// x ⊕ y, or out ⊕= that when xor is set (passes after the first). P runs
// the BlaMka round over each row of 16 words, then over each column of 8
// pairs of words. out may be x or y.
func compressGeneric(out, x, y, scratch *block, xor bool) {
	r := scratch
	for i := range r {
		r[i] = x[i] ^ y[i]
	}
	for row := 0; row < blockWords; row += 16 {
		blamka((*[16]uint64)(r[row : row+16]))
	}
	for col := 0; col < 16; col += 2 {
		var v [16]uint64
		for k := range 8 {
			v[2*k], v[2*k+1] = r[16*k+col], r[16*k+col+1]
		}
		blamka(&v)
		for k := range 8 {
			r[16*k+col], r[16*k+col+1] = v[2*k], v[2*k+1]
		}
	}
	if xor {
		for i := range out {
			out[i] ^= r[i] ^ x[i] ^ y[i]
		}
	} else {
		for i := range out {
			out[i] = r[i] ^ x[i] ^ y[i]
		}
	}
}

// blamka is BLAKE2b's round with its additions replaced by a + b + 2·lo(a)·lo(b),
// over a 4×4 matrix of words: the columns, then the diagonals.
func blamka(v *[16]uint64) {
	// Sixteen locals rather than v[i]: the compiler keeps them in registers.
	v0, v1, v2, v3, v4, v5, v6, v7 := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
	v8, v9, v10, v11, v12, v13, v14, v15 := v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]
	v0, v4, v8, v12 = halfMix(v0, v4, v8, v12, 32, 24)
	v0, v4, v8, v12 = halfMix(v0, v4, v8, v12, 16, 63)
	v1, v5, v9, v13 = halfMix(v1, v5, v9, v13, 32, 24)
	v1, v5, v9, v13 = halfMix(v1, v5, v9, v13, 16, 63)
	v2, v6, v10, v14 = halfMix(v2, v6, v10, v14, 32, 24)
	v2, v6, v10, v14 = halfMix(v2, v6, v10, v14, 16, 63)
	v3, v7, v11, v15 = halfMix(v3, v7, v11, v15, 32, 24)
	v3, v7, v11, v15 = halfMix(v3, v7, v11, v15, 16, 63)
	v0, v5, v10, v15 = halfMix(v0, v5, v10, v15, 32, 24)
	v0, v5, v10, v15 = halfMix(v0, v5, v10, v15, 16, 63)
	v1, v6, v11, v12 = halfMix(v1, v6, v11, v12, 32, 24)
	v1, v6, v11, v12 = halfMix(v1, v6, v11, v12, 16, 63)
	v2, v7, v8, v13 = halfMix(v2, v7, v8, v13, 32, 24)
	v2, v7, v8, v13 = halfMix(v2, v7, v8, v13, 16, 63)
	v3, v4, v9, v14 = halfMix(v3, v4, v9, v14, 32, 24)
	v3, v4, v9, v14 = halfMix(v3, v4, v9, v14, 16, 63)
	v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7] = v0, v1, v2, v3, v4, v5, v6, v7
	v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15] = v8, v9, v10, v11, v12, v13, v14, v15
}

// halfMix is half of GB (RFC 9106, section 3.6), which is
// halfMix(halfMix(a, b, c, d, 32, 24), 16, 63); small enough to inline.
func halfMix(a, b, c, d uint64, rd, rb int) (uint64, uint64, uint64, uint64) {
	a += b + 2*uint64(uint32(a))*uint64(uint32(b))
	d = bits.RotateLeft64(d^a, -rd)
	c += d + 2*uint64(uint32(c))*uint64(uint32(d))
	b = bits.RotateLeft64(b^c, -rb)
	return a, b, c, d
}
