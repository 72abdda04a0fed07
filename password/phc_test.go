package password

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestEncodeDecodePHC(t *testing.T) {
	h, err := decodePHC(referenceHash)
	if err != nil {
		t.Fatalf("decodePHC(reference): got error %v, want nil", err)
	}
	want := Params{Memory: 65536, Time: 2, Threads: 1, SaltLen: 8, KeyLen: 32}
	if h.params != want || string(h.salt) != "somesalt" {
		t.Errorf("decodePHC(reference): got %+v, salt %q, want %+v, salt \"somesalt\"", h.params, h.salt, want)
	}
	if got := encodePHC(h); got != referenceHash {
		t.Errorf("encodePHC(decodePHC(reference)): got %q, want %q", got, referenceHash)
	}
}

// FuzzVerify feeds arbitrary encoded hashes to Verify's decoders. A hash
// that decodes must be within the limits, encode back to itself, and be
// computed with exactly its own parameters; any other must be refused with
// ErrInvalidHash before a key is derived. Keys are not really derived
// (the fake returns zeros), so the fuzzer can try hashes of any cost.
func FuzzVerify(f *testing.F) {
	bcryptHash, _ := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	for _, seed := range []string{referenceHash, string(bcryptHash), "",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$2a$31$" + strings.Repeat("a", 53)} {
		f.Add(seed)
	}
	h := NewHasher(testParams, 1, time.Second)
	f.Fuzz(func(t *testing.T, encoded string) {
		if isBcrypt(encoded) {
			// bcrypt's own parser; Verify would run a real bcrypt.
			if cost, err := bcrypt.Cost([]byte(encoded)); err == nil && (cost < bcrypt.MinCost || cost > bcrypt.MaxCost) {
				t.Fatalf("bcrypt.Cost(%q): got %d, want %d to %d", encoded, cost, bcrypt.MinCost, bcrypt.MaxCost)
			}
			return
		}
		decoded, decodeErr := decodePHC(encoded)
		var derived []Params
		h.derive = func(password, salt []byte, p Params) []byte {
			derived = append(derived, p)
			return make([]byte, p.KeyLen)
		}
		_, _, err := h.Verify(t.Context(), encoded, "password")
		if decodeErr != nil {
			if !errors.Is(err, ErrInvalidHash) || !errors.Is(decodeErr, ErrInvalidHash) || len(derived) != 0 {
				t.Fatalf("Verify(%q): got %v and %d keys derived, want ErrInvalidHash and none", encoded, err, len(derived))
			}
			return
		}
		if err := decoded.params.Validate(); err != nil {
			t.Fatalf("decodePHC(%q): got parameters %+v (%v), want valid ones", encoded, decoded.params, err)
		}
		if again := encodePHC(decoded); again != encoded {
			t.Fatalf("encodePHC(decodePHC(%q)): got %q, want the same", encoded, again)
		}
		if err != nil || len(derived) != 1 || derived[0] != decoded.params {
			t.Fatalf("Verify(%q): got %v and keys derived with %+v, want nil and %+v once", encoded, err, derived, decoded.params)
		}
	})
}
