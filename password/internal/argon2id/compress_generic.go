//go:build !amd64 || purego

package argon2id

// Accelerated reports whether G runs in assembly: never in this build.
func Accelerated() bool { return false }

// compressHead is G; see compressGeneric. In this build it does all of
// it, and compressTail nothing.
func compressHead(out, x, y, scratch *block, xor bool) { compressGeneric(out, x, y, scratch, xor) }

func compressTail(out, x, y, scratch *block, xor bool) {}

func prefetchBlock(*block) {}
