//go:build !amd64 || purego

package argon2id

import "sync/atomic"

// haveAVX2: this build has no assembly.
const haveAVX2 = false

// accelerated is never set in this build.
var accelerated atomic.Bool

// Accelerated reports whether G runs in assembly: never in this build.
func Accelerated() bool { return false }

// compressHead is G; see compressGeneric. In this build it does all of
// it, and compressTail nothing, whatever avx2 says.
func compressHead(out, x, y, scratch *block, xor, avx2 bool) {
	compressGeneric(out, x, y, scratch, xor)
}

func compressTail(out, x, y, scratch *block, xor, avx2 bool) {}

func prefetchBlock(*block) {}
