package argon2id

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/argon2"
)

// implementations runs f once per compression function this machine has.
func implementations(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	t.Run("generic", func(t *testing.T) {
		restore := forceGeneric()
		defer restore()
		f(t)
	})
	if hasAssembly() {
		t.Run("assembly", f)
	}
}

func newMemory(t testing.TB, kib uint32) *Memory {
	t.Helper()
	m, err := NewMemory(kib)
	if err != nil {
		t.Fatalf("NewMemory(%d): %v", kib, err)
	}
	t.Cleanup(m.Free)
	return m
}

// TestRFC9106 is the argon2id test vector of RFC 9106, section 5.3, which
// has a secret and associated data.
func TestRFC9106(t *testing.T) {
	want, _ := hex.DecodeString("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
	implementations(t, func(t *testing.T) {
		m := newMemory(t, 32)
		got := m.derive(Accelerated(), bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16),
			bytes.Repeat([]byte{3}, 8), bytes.Repeat([]byte{4}, 12), 3, 32, 4, 32)
		if !bytes.Equal(got, want) {
			t.Errorf("tag: got %x, want %x", got, want)
		}
	})
}

// TestMatchesXCrypto derives keys for random inputs and parameters with
// IDKey and with one reused Memory, whose stale blocks must not matter.
func TestMatchesXCrypto(t *testing.T) {
	implementations(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		m := newMemory(t, 2048)
		n := 300
		if testing.Short() {
			n = 50
		}
		for i := range n {
			password := randomBytes(rng, rng.IntN(80))
			salt := randomBytes(rng, 8+rng.IntN(57))
			threads := uint8(1 + rng.IntN(4))
			if rng.IntN(8) == 0 {
				threads = uint8(5 + rng.IntN(12))
			}
			memory := uint32(8*int(threads) + rng.IntN(2048-8*int(threads)+1))
			if rng.IntN(4) == 0 {
				memory = uint32(rng.IntN(64)) // below the minimum: rounded up
			}
			time := uint32(1 + rng.IntN(3))
			keyLen := uint32(4 + rng.IntN(200))
			name := fmt.Sprintf("%d: password %x, salt %x, t=%d, m=%d, p=%d, key %d", i, password, salt, time, memory, threads, keyLen)
			want := argon2.IDKey(password, salt, time, memory, threads, keyLen)
			if !m.Fits(memory, threads) {
				t.Fatalf("%s: does not fit in the test's memory", name)
			}
			if got := m.Key(password, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
				t.Fatalf("%s: got %x, want %x", name, got, want)
			}
		}
	})
}

// TestXCryptoVectors are the argon2id vectors of x/crypto/argon2's tests
// and the reference implementation's.
func TestXCryptoVectors(t *testing.T) {
	for _, tt := range []struct {
		time, memory uint32
		threads      uint8
		want         string
	}{
		{1, 64, 1, "655ad15eac652dc59f7170a7332bf49b8469be1fdb9c28bb"},
		{2, 64, 1, "068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7"},
		{2, 64, 2, "350ac37222f436ccb5c0972f1ebd3bf6b958bf2071841362"},
		{3, 256, 2, "4668d30ac4187e6878eedeacf0fd83c5a0a30db2cc16ef0b"},
		{4, 4096, 4, "145db9733a9f4ee43edf33c509be96b934d505a4efb33c5a"},
		{4, 1024, 8, "8dafa8e004f8ea96bf7c0f93eecf67a6047476143d15577f"},
		{2, 64, 3, "4a15b31aec7c2590b87d1f520be7d96f56658172deaa3079"},
		{3, 1024, 6, "1640b932f4b60e272f5d2207b9a9c626ffa1bd88d2349016"},
	} {
		want, _ := hex.DecodeString(tt.want)
		implementations(t, func(t *testing.T) {
			m := newMemory(t, tt.memory)
			if got := m.Key([]byte("password"), []byte("somesalt"), tt.time, tt.memory, tt.threads, uint32(len(want))); !bytes.Equal(got, want) {
				t.Errorf("t=%d, m=%d, p=%d: got %x, want %x", tt.time, tt.memory, tt.threads, got, want)
			}
		})
	}
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestStaleMemory: what a Memory held before a derivation does not
// change its result.
func TestStaleMemory(t *testing.T) {
	implementations(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		m := newMemory(t, 256)
		for _, p := range []struct {
			time, memory uint32
			threads      uint8
		}{{1, 256, 1}, {2, 100, 3}, {3, 64, 2}, {1, 16, 1}} {
			want := argon2.IDKey([]byte("password"), []byte("somesalt"), p.time, p.memory, p.threads, 32)
			for i := range m.blocks {
				for w := range m.blocks[i] {
					m.blocks[i][w] = rng.Uint64()
				}
			}
			if got := m.Key([]byte("password"), []byte("somesalt"), p.time, p.memory, p.threads, 32); !bytes.Equal(got, want) {
				t.Errorf("%+v over random blocks: got %x, want %x", p, got, want)
			}
		}
	})
}
