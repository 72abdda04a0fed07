// Package argon2id derives argon2id keys (RFC 9106, version 0x13) in memory
// that the caller owns and reuses, instead of allocating the block array
// afresh for every key as golang.org/x/crypto/argon2 does.
//
// A Memory holds the blocks of one derivation at a time. On Linux it is an
// anonymous private mapping, outside the Go heap: the collector neither
// scans nor zeroes it, and it does not count towards the heap goal, so a
// server hashing all day keeps slots × m resident and nothing more.
// Release gives the pages back to the kernel when the memory is idle.
//
// The compression function G runs in AVX2 assembly on amd64 CPUs that have
// it, and in Go elsewhere and under the purego build tag. SelfTest checks
// both against RFC 9106's test vector and each other, and turns the
// assembly off should it give another answer.
package argon2id
