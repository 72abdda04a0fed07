package argon2id

import (
	"errors"
	"strings"
	"testing"
)

// TestSelfTest: on this machine, whichever G it uses, the self-test passes
// and leaves the choice as it was.
func TestSelfTest(t *testing.T) {
	before := Accelerated()
	if err := SelfTest(); err != nil {
		t.Fatalf("SelfTest: %v", err)
	}
	if Accelerated() != before {
		t.Errorf("Accelerated after a passed self-test: got %v, want %v", Accelerated(), before)
	}
}

// wrongIn returns impl with one bit of its key flipped in the case named.
func wrongIn(impl implementation, name string) implementation {
	return func(m *Memory, c *selfTestCase) []byte {
		key := impl(m, c)
		if c.name == name {
			key[len(key)-1] ^= 1
		}
		return key
	}
}

// A wrong accelerated G, even in one case only, is found and turned off;
// the Go one stays in use and derivations stay right.
func TestSelfTestTurnsOffAWrongAccelerated(t *testing.T) {
	defer forceGeneric()() // restores the choice after the test
	accelerated.Store(haveAVX2)
	accel := withG(haveAVX2) // where the CPU has no AVX2, Go's G stands in for it
	for _, c := range selfTestCases {
		accelerated.Store(haveAVX2)
		err := selfTestOrFallBack(wrongIn(accel, c.name), withG(false))
		if !errors.Is(err, ErrAccelerated) || !strings.Contains(err.Error(), c.name) {
			t.Errorf("accelerated G wrong in %s: got %v, want ErrAccelerated naming the case", c.name, err)
		}
		if Accelerated() {
			t.Errorf("accelerated G wrong in %s: still in use", c.name)
		}
	}
	if err := selfTest(nil, withG(false)); err != nil {
		t.Errorf("after the fallback, the Go G: %v", err)
	}
}

// A Go G that fails RFC 9106's vector is an error of another kind: no
// derivation can be trusted, and there is nothing to fall back to.
func TestSelfTestFindsAWrongGo(t *testing.T) {
	defer forceGeneric()()
	accelerated.Store(haveAVX2)
	err := selfTestOrFallBack(nil, wrongIn(withG(false), "RFC 9106 section 5.3"))
	if err == nil || errors.Is(err, ErrAccelerated) || !strings.Contains(err.Error(), "RFC 9106") {
		t.Errorf("Go G wrong: got %v, want an error naming RFC 9106, not ErrAccelerated", err)
	}
	if Accelerated() != haveAVX2 {
		t.Errorf("Go G wrong: the accelerated G was turned off, want it left alone")
	}
	// Wrong elsewhere than the vector, Go's G is the reference: only the
	// accelerated G can be found to differ from it.
	if err := selfTest(withG(haveAVX2), wrongIn(withG(false), "m=64 t=2 p=1")); !errors.Is(err, ErrAccelerated) {
		t.Errorf("Go G wrong off the vector: got %v, want the difference reported", err)
	}
}

// BenchmarkSelfTest is what the self-test adds to a start.
func BenchmarkSelfTest(b *testing.B) {
	for b.Loop() {
		if err := SelfTest(); err != nil {
			b.Fatal(err)
		}
	}
}
