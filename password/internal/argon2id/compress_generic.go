//go:build !amd64 || purego

package argon2id

// compress is G; see compressGeneric.
func compress(out, x, y, scratch *block, xor bool) { compressGeneric(out, x, y, scratch, xor) }
