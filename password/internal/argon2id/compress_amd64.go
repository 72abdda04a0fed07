//go:build amd64 && !purego

package argon2id

import (
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

// haveAVX2 reports whether the CPU can run the assembly.
var haveAVX2 = cpu.X86.HasAVX2

// accelerated selects the assembly for the derivations that start from
// now on: set where the CPU has AVX2, cleared by a failed SelfTest (and by
// tests, to check compressGeneric).
var accelerated atomic.Bool

func init() { accelerated.Store(haveAVX2) }

// Accelerated reports whether G runs in assembly (AVX2) rather than in Go,
// about 3 times slower a hash.
func Accelerated() bool { return accelerated.Load() }

// compressHead is G (see compressGeneric) up to the moment out[0] is
// final: the rows and the first column. compressTail finishes it. A
// derivation learns the next block's reference from out[0], and asks
// memory for that block while the other columns are computed. avx2 says
// which G: the assembly, or compressGeneric.
func compressHead(out, x, y, scratch *block, xor, avx2 bool) {
	if avx2 {
		compressRowsAVX2(x, y, scratch)
		compressColumnsAVX2(out, x, y, scratch, xor, 0, 1)
	} else {
		compressGeneric(out, x, y, scratch, xor)
	}
}

// compressTail finishes what compressHead began, with the same arguments.
func compressTail(out, x, y, scratch *block, xor, avx2 bool) {
	if avx2 {
		compressColumnsAVX2(out, x, y, scratch, xor, 1, 7)
	}
}

// compressRowsAVX2 is the first half of compressGeneric in AVX2: scratch
// = x ⊕ y with the round applied to each row of 16 words, which is four
// YMM registers.
//
//go:noescape
func compressRowsAVX2(x, y, scratch *block)

// compressColumnsAVX2 is the second half of compressGeneric in AVX2, for
// n of the 8 columns from first: the round on each column of 8 pairs of
// words of scratch (gathered into four YMM registers), then out = that ⊕
// x ⊕ y, or out ⊕= that.
//
//go:noescape
func compressColumnsAVX2(out, x, y, scratch *block, xor bool, first, n int)

// prefetchBlock asks for the cache lines of b, a block needed soon.
//
//go:noescape
func prefetchBlock(b *block)
