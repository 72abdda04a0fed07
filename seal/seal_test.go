package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func testKey(fill byte) Key {
	var k Key
	for i := range k {
		k[i] = fill + byte(i)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	s := New(testKey(0))
	for _, plaintext := range [][]byte{nil, []byte("x"), []byte("12345678901234567890"), bytes.Repeat([]byte("mail body "), 1000)} {
		sealed := s.Seal(plaintext, []byte("totp:42"))
		if len(sealed) != len(plaintext)+Overhead {
			t.Errorf("sealed %d bytes to %d, want %d", len(plaintext), len(sealed), len(plaintext)+Overhead)
		}
		got, err := s.Open(sealed, []byte("totp:42"))
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Errorf("Open: got (%q, %v), want (%q, nil)", got, err, plaintext)
		}
	}
}

// A value sealed by an earlier build must open in every later one: this
// fixes the format and the key derivation. The value was also checked with
// Python's cryptography package (HKDF-SHA256, AESGCM).
func TestOpensKnownValue(t *testing.T) {
	sealed, _ := hex.DecodeString("01560de37e6b59f815a18391baa9258f66a8164417ba46d8c3b36a3a5862acc038e16c12c4a67e6235a8de0d97d8dc981b0d335601")
	got, err := New(testKey(0)).Open(sealed, []byte("totp:42"))
	if err != nil || string(got) != "12345678901234567890" {
		t.Fatalf("got (%q, %v), want the RFC 6238 seed", got, err)
	}
}

func TestWrongAAD(t *testing.T) {
	s := New(testKey(0))
	sealed := s.Seal([]byte("secret"), []byte("totp:42"))
	for _, aad := range []string{"totp:43", "mail:42", "", "totp:42 "} {
		if _, err := s.Open(sealed, []byte(aad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("aad %q: got %v, want ErrCorrupt", aad, err)
		}
	}
}

func TestWrongKey(t *testing.T) {
	sealed := New(testKey(0)).Seal([]byte("secret"), []byte("totp:42"))
	_, err := New(testKey(1)).Open(sealed, []byte("totp:42"))
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("got %v, want ErrWrongKey", err)
	}
	if want := "sealed under a different --secret-key-file key"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

// Every single-byte change is caught. A change in the key id reads as a
// wrong key, which is what it looks like; anything else is corrupt.
func TestTamper(t *testing.T) {
	s := New(testKey(0))
	sealed := s.Seal([]byte("12345678901234567890"), []byte("totp:42"))
	for i := range sealed {
		for _, flip := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= flip
			want := ErrCorrupt
			if 1 <= i && i < headerSize {
				want = ErrWrongKey
			}
			if _, err := s.Open(bad, []byte("totp:42")); !errors.Is(err, want) {
				t.Errorf("byte %d ^ %#x: got %v, want %v", i, flip, err, want)
			}
		}
	}
	for n := range sealed {
		if _, err := s.Open(sealed[:n], []byte("totp:42")); !errors.Is(err, ErrCorrupt) {
			t.Errorf("truncated to %d bytes: got %v, want ErrCorrupt", n, err)
		}
	}
	if _, err := s.Open(append(bytes.Clone(sealed), 0), []byte("totp:42")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("extended by a byte: got %v, want ErrCorrupt", err)
	}
}

func TestNoncesDiffer(t *testing.T) {
	s := New(testKey(0))
	seen := map[string]bool{}
	for range 1000 {
		sealed := s.Seal([]byte("same"), []byte("same"))
		nonce := string(sealed[headerSize : headerSize+nonceSize])
		if seen[nonce] {
			t.Fatalf("nonce %x repeated", nonce)
		}
		seen[nonce] = true
	}
}

// The key id and the AES key come from the file key by different labels;
// neither is the file key itself.
func TestDerivedKeysDiffer(t *testing.T) {
	k := testKey(0)
	aesKey, id := derive(k, labelAESKey, 32), derive(k, labelKeyID, keyIDSize)
	if bytes.Equal(aesKey, k[:]) || bytes.Equal(id, k[:keyIDSize]) || bytes.Equal(id, aesKey[:keyIDSize]) {
		t.Fatalf("derived keys overlap: aes %x id %x", aesKey, id)
	}
}

func FuzzOpen(f *testing.F) {
	s := New(testKey(0))
	f.Add(s.Seal([]byte("12345678901234567890"), []byte("totp:42")), []byte("totp:42"))
	f.Add(New(testKey(1)).Seal([]byte("x"), nil), []byte(nil))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{version}, []byte("a"))
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		plaintext, err := s.Open(sealed, aad)
		if err != nil {
			if plaintext != nil || !(errors.Is(err, ErrCorrupt) || errors.Is(err, ErrWrongKey)) {
				t.Fatalf("got (%q, %v), want (nil, ErrCorrupt or ErrWrongKey)", plaintext, err)
			}
			return
		}
		// Whatever opens must seal again and open to the same thing.
		again, err := s.Open(s.Seal(plaintext, aad), aad)
		if err != nil || !bytes.Equal(again, plaintext) {
			t.Fatalf("reseal: got (%q, %v), want (%q, nil)", again, err, plaintext)
		}
	})
}

func BenchmarkSealOpen(b *testing.B) {
	s := New(testKey(0))
	secret := []byte("12345678901234567890")
	aad := []byte("totp:42")
	for b.Loop() {
		if _, err := s.Open(s.Seal(secret, aad), aad); err != nil {
			b.Fatal(err)
		}
	}
}
