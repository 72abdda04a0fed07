package totp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/hex"
	"hash"
	"testing"
	"time"
)

// RFC 6238 Appendix B. Each hash has its own seed: the ASCII digits
// "1234567890" repeated to the hash's output size.
func TestRFC6238Vectors(t *testing.T) {
	seed20 := []byte("12345678901234567890")
	seed32 := []byte("12345678901234567890123456789012")
	seed64 := []byte("1234567890123456789012345678901234567890123456789012345678901234")
	algs := []struct {
		name   string
		h      func() hash.Hash
		secret []byte
	}{
		{"SHA1", sha1.New, seed20},
		{"SHA256", sha256.New, seed32},
		{"SHA512", sha512.New, seed64},
	}
	vectors := []struct {
		unix int64
		want [3]string // SHA1, SHA256, SHA512
	}{
		{59, [3]string{"94287082", "46119246", "90693936"}},
		{1111111109, [3]string{"07081804", "68084774", "25091201"}},
		{1111111111, [3]string{"14050471", "67062674", "99943326"}},
		{1234567890, [3]string{"89005924", "91819424", "93441116"}},
		{2000000000, [3]string{"69279037", "90698825", "38618901"}},
		{20000000000, [3]string{"65353130", "77737706", "47863826"}},
	}
	for _, v := range vectors {
		step := Step(time.Unix(v.unix, 0))
		for i, a := range algs {
			if got := HOTP(a.h, a.secret, uint64(step), 8); got != v.want[i] {
				t.Errorf("%s at %d: got %s, want %s", a.name, v.unix, got, v.want[i])
			}
		}
		// Code is the SHA-1, 6-digit case: the last six digits.
		if got, want := Code(seed20, step), v.want[0][2:]; got != want {
			t.Errorf("Code at %d: got %s, want %s", v.unix, got, want)
		}
	}
}

// RFC 4226 Appendix D.
func TestRFC4226Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, w := range want {
		if got := HOTP(sha1.New, secret, uint64(counter), 6); got != w {
			t.Errorf("counter %d: got %s, want %s", counter, got, w)
		}
	}
}

func TestStep(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		want int64
	}{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {1111111109, 37037036}, {1111111111, 37037037}} {
		if got := Step(time.Unix(tc.unix, 999_999_999)); got != tc.want {
			t.Errorf("Step(%d): got %d, want %d", tc.unix, got, tc.want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if len(a) != 20 || len(b) != 20 {
		t.Fatalf("got %d and %d bytes, want 20", len(a), len(b))
	}
	if string(a) == string(b) {
		t.Fatal("two secrets are equal")
	}
}

func TestEncodeSecret(t *testing.T) {
	if got, want := EncodeSecret([]byte("12345678901234567890")), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// A length that base32 would pad: no '=' for the apps that refuse it.
	secret := []byte("1234567890123456")
	enc := EncodeSecret(secret)
	if got, want := enc, "GEZDGNBVGY3TQOJQGEZDGNBVGY"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	dec, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enc)
	if err != nil || string(dec) != string(secret) {
		t.Errorf("decode %s: got %q, %v, want %q", enc, dec, err, secret)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	n := Step(now)
	code := func(delta int64) string { return Code(secret, n+delta) }

	// The table relies on the five codes around now being distinct.
	seen := map[string]int64{}
	for d := int64(-2); d <= 2; d++ {
		if prev, dup := seen[code(d)]; dup {
			t.Fatalf("steps %d and %d share code %s; pick another time", prev, d, code(d))
		}
		seen[code(d)] = d
	}

	tests := []struct {
		name     string
		code     string
		lastUsed int64
		wantOK   bool
		wantStep int64
	}{
		{"current step, never used", code(0), 0, true, n},
		{"current step, typed with a space", code(0)[:3] + " " + code(0)[3:], 0, true, n},
		{"previous step", code(-1), 0, true, n - 1},
		{"next step", code(+1), 0, true, n + 1},
		{"two steps behind", code(-2), 0, false, 0},
		{"two steps ahead", code(+2), 0, false, 0},
		{"same step replayed", code(0), n, false, 0},
		{"older step after a newer one was used", code(-1), n, false, 0},
		{"previous step replayed", code(-1), n - 1, false, 0},
		{"current step after the previous was used", code(0), n - 1, true, n},
		{"next step after current was used", code(+1), n, true, n + 1},
		{"wrong code", "000000", 0, code(0) == "000000" || code(-1) == "000000" || code(1) == "000000", 0},
		{"five digits", code(0)[:5], 0, false, 0},
		{"not digits", "abcdef", 0, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, ok := Verify(secret, tc.code, now, tc.lastUsed)
			if ok != tc.wantOK || (ok && step != tc.wantStep) {
				t.Errorf("Verify(%q, lastUsed %d): got (%d, %v), want (%d, %v)", tc.code, tc.lastUsed, step, ok, tc.wantStep, tc.wantOK)
			}
		})
	}
}

// The full login sequence: a code is accepted once, and the recorded step
// then refuses it for the rest of its window.
func TestVerifyRecordsStep(t *testing.T) {
	secret := NewSecret()
	now := time.Unix(1700000000, 0)
	c := Code(secret, Step(now))
	var lastUsed int64
	step, ok := Verify(secret, c, now, lastUsed)
	if !ok {
		t.Fatal("first use refused")
	}
	lastUsed = step
	for _, later := range []time.Duration{0, 10 * time.Second, Period, 2 * Period} {
		if _, ok := Verify(secret, c, now.Add(later), lastUsed); ok {
			t.Errorf("replay %v later accepted", later)
		}
	}
}

// When two steps in the window share a code, the later step must be returned:
// recording the earlier would let the same digits pass again at the later one.
func TestVerifyCollisionReturnsLaterStep(t *testing.T) {
	// Found by search: steps 1000 and 1001 both give 450340 for this secret.
	secret, _ := hex.DecodeString("000000000018e1e3000000000000000000000000")
	if Code(secret, 1000) != Code(secret, 1001) {
		t.Fatal("precondition: steps 1000 and 1001 should share a code")
	}
	at := time.Unix(1000*30, 0) // window 999..1001
	step, ok := Verify(secret, Code(secret, 1000), at, 0)
	if !ok || step != 1001 {
		t.Fatalf("got (%d, %v), want (1001, true)", step, ok)
	}
	if _, ok := Verify(secret, Code(secret, 1000), at.Add(Period), step); ok {
		t.Error("code replayed after recording the later step")
	}
}

func TestVerifyEmptySecret(t *testing.T) {
	now := time.Unix(1700000000, 0)
	if _, ok := Verify(nil, Code(nil, Step(now)), now, 0); ok {
		t.Error("empty secret accepted a code")
	}
}
