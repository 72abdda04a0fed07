package argon2id

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrAccelerated is wrapped by SelfTest's error when the assembly's G gave
// a wrong answer: the package has turned it off, and derivations run in Go
// from then on, right but about 3 times slower.
var ErrAccelerated = errors.New("argon2id: the AVX2 compression function failed its self-test and is turned off; derivations use the Go one")

// A selfTestCase is a derivation the self-test computes.
type selfTestCase struct {
	name                         string
	password, salt, secret, data []byte
	time, memory                 uint32
	threads                      uint8
	keyLen                       uint32
	want                         []byte // RFC 9106's tag; nil where the Go path is the reference
}

// selfTestCases are RFC 9106's argon2id vector (section 5.3: 4 lanes, 3
// passes, a secret and associated data) and two derivations beside it, one
// lane in two passes and two lanes in one, compared with the Go path.
// Together they run G about 500 times on varied blocks, in each of its
// forms (first pass, later passes, the address stream), in 160 KiB: a
// millisecond, most of it the page faults of fresh memory. What they do
// not cover is the same code for either G (the address stream's refill
// past 128 blocks a segment, say), which the package's tests check.
var selfTestCases = []selfTestCase{
	{
		name:     "RFC 9106 section 5.3",
		password: bytes.Repeat([]byte{1}, 32), salt: bytes.Repeat([]byte{2}, 16),
		secret: bytes.Repeat([]byte{3}, 8), data: bytes.Repeat([]byte{4}, 12),
		time: 3, memory: 32, threads: 4, keyLen: 32,
		want: []byte{
			0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c, 0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b, 0x53, 0xc9,
			0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e, 0xb5, 0x25, 0x20, 0xe9, 0x6b, 0x01, 0xe6, 0x59,
		},
	},
	{name: "m=64 t=2 p=1", password: []byte("correct horse battery staple"), salt: []byte("0123456789abcdef"),
		time: 2, memory: 64, threads: 1, keyLen: 32},
	{name: "m=128 t=1 p=2", password: []byte("correct horse battery staple"), salt: []byte("fedcba9876543210"),
		time: 1, memory: 128, threads: 2, keyLen: 64},
}

// implementation derives a self-test case's key in m with one G.
type implementation func(m *Memory, c *selfTestCase) []byte

// withG returns the implementation of the assembly's G (avx2) or Go's.
func withG(avx2 bool) implementation {
	return func(m *Memory, c *selfTestCase) []byte {
		return m.derive(avx2, c.password, c.salt, c.secret, c.data, c.time, c.memory, c.threads, c.keyLen)
	}
}

// SelfTest checks, in about a millisecond, that the derivations of this package
// are right on this machine: Go's G against RFC 9106's argon2id vector, and
// the assembly's G, where the CPU has AVX2, against the vector and against
// Go's on derivations that take every path of the filling. When the
// assembly is wrong, SelfTest turns it off for every later derivation and
// returns an error wrapping ErrAccelerated that says what differed: a
// caller logs it and goes on. Any other error means Go's G is wrong, and
// no key derived here can be trusted. Run it before the first derivation:
// one that has begun keeps the G it began with.
func SelfTest() error {
	var accel implementation
	if haveAVX2 && Accelerated() {
		accel = withG(true)
	}
	return selfTestOrFallBack(accel, withG(false))
}

// selfTestOrFallBack is SelfTest with the implementations as parameters,
// so that tests can hand it a wrong one.
func selfTestOrFallBack(accel, generic implementation) error {
	err := selfTest(accel, generic)
	if errors.Is(err, ErrAccelerated) {
		accelerated.Store(false)
	}
	return err
}

// selfTest runs the cases with the generic implementation, and with the
// accelerated one unless it is nil.
func selfTest(accel, generic implementation) error {
	var size uint32
	for _, c := range selfTestCases {
		size = max(size, Blocks(c.memory, c.threads))
	}
	m, err := NewMemory(size)
	if err != nil {
		return fmt.Errorf("argon2id: self-test: %w", err)
	}
	defer m.Free()
	for i := range selfTestCases {
		c := &selfTestCases[i]
		reference := generic(m, c)
		if c.want != nil && !bytes.Equal(reference, c.want) {
			return fmt.Errorf("argon2id: self-test: the Go compression function fails %s: got %x, want %x", c.name, reference, c.want)
		}
		if accel == nil {
			continue
		}
		if got := accel(m, c); !bytes.Equal(got, reference) {
			return fmt.Errorf("%w: %s: AVX2 gives %x, Go gives %x", ErrAccelerated, c.name, got, reference)
		}
	}
	return nil
}
