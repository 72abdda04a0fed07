//go:build !amd64 || purego

package argon2id

// Accelerated reports whether G runs in assembly: never in this build.
func Accelerated() bool { return false }

// compress is G; see compressGeneric.
func compress(out, x, y, scratch *block, xor bool) { compressGeneric(out, x, y, scratch, xor) }
