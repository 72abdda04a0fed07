//go:build amd64 && !purego

package argon2id

import "golang.org/x/sys/cpu"

// useAVX2 selects compressAVX2; tests clear it to check compressGeneric.
var useAVX2 = cpu.X86.HasAVX2

// Accelerated reports whether G runs in assembly (AVX2) rather than in Go,
// about 2.5 times slower a hash.
func Accelerated() bool { return useAVX2 }

// compress is G; see compressGeneric.
func compress(out, x, y, scratch *block, xor bool) {
	if useAVX2 {
		compressAVX2(out, x, y, scratch, xor)
	} else {
		compressGeneric(out, x, y, scratch, xor)
	}
}

// compressAVX2 is compressGeneric in AVX2: a row of 16 words is four YMM
// registers, a column's 8 pairs of words are gathered into four.
//
//go:noescape
func compressAVX2(out, x, y, scratch *block, xor bool)
