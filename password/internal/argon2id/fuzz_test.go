package argon2id

import (
	"bytes"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
)

// fuzzMemory is reused by every input of FuzzIDKey, so that each also
// runs over what the previous one left (see TestStaleMemory).
var fuzzMemory struct {
	sync.Mutex
	m *Memory
}

// FuzzIDKey compares our derivation, with each G this machine has, with
// x/crypto/argon2.IDKey on any password and salt and small parameters: up
// to 128 KiB, 3 passes, 4 lanes and 256 bytes of key, so that an input
// costs a fraction of a millisecond and the fuzzer tries many (what larger
// memory adds, more blocks of the address stream, TestMatchesXCrypto
// covers).
func FuzzIDKey(f *testing.F) {
	f.Add([]byte("password"), []byte("somesalt"), uint8(0), uint16(64), uint8(0), uint8(23))
	f.Add([]byte(""), []byte(""), uint8(2), uint16(0), uint8(3), uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 100), []byte("0123456789abcdef"), uint8(1), uint16(128), uint8(3), uint8(255))
	f.Fuzz(func(t *testing.T, password, salt []byte, passes uint8, kib uint16, lanes uint8, key uint8) {
		time := 1 + uint32(passes%3)
		memory := uint32(kib % 129) // below 8 × lanes, rounded up as RFC 9106 says
		threads := 1 + lanes%4
		keyLen := 1 + uint32(key)
		want := argon2.IDKey(password, salt, time, memory, threads, keyLen)

		fuzzMemory.Lock()
		defer fuzzMemory.Unlock()
		if fuzzMemory.m == nil {
			m, err := NewMemory(Blocks(128, 4))
			if err != nil {
				t.Fatal(err)
			}
			fuzzMemory.m = m
		}
		m := fuzzMemory.m
		for _, avx2 := range []bool{false, true} {
			if avx2 && !haveAVX2 {
				continue
			}
			if got := m.derive(avx2, password, salt, nil, nil, time, memory, threads, keyLen); !bytes.Equal(got, want) {
				t.Fatalf("t=%d m=%d p=%d key %d, AVX2 %v: got %x, want %x", time, memory, threads, keyLen, avx2, got, want)
			}
		}
	})
}
