//go:build amd64 && !purego

package argon2id

import (
	"math/rand/v2"
	"testing"
)

// TestCompress compares the assembly's G with the Go one on random blocks,
// with and without XOR, and with the output in place of an input.
func TestCompress(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	random := func() *block {
		var b block
		for i := range b {
			b[i] = rng.Uint64()
		}
		return &b
	}
	for i := range 200 {
		x, y, out := random(), random(), random()
		xor := i%2 == 1
		want, got := *out, *out
		var scratch block
		compressGeneric(&want, x, y, &scratch, xor)
		compress(&got, x, y, &scratch, xor, true)
		if got != want {
			t.Fatalf("xor %v: assembly and Go differ", xor)
		}
		aliased := *y
		compressGeneric(y, x, y, &scratch, false)
		compress(&aliased, x, &aliased, &scratch, false, true)
		if aliased != *y {
			t.Fatalf("out = y: assembly and Go differ")
		}
	}
}
