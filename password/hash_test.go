package password

import (
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/password/internal/argon2id"
	"golang.org/x/crypto/bcrypt"
)

// testParams are cheap, so that tests run in microseconds; DefaultParams
// are exercised by TestHashDefaultParams and the benchmarks.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)

// countDerive makes h count the argon2id keys it derives.
func countDerive(h *Hasher) *atomic.Int64 {
	var n atomic.Int64
	h.derive = func(password, salt []byte, p Params) []byte {
		n.Add(1)
		return deriveArgon2id(password, salt, p)
	}
	return &n
}

func TestHashVerify(t *testing.T) {
	h := NewHasher(testParams, 2, time.Second)
	ctx := t.Context()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: got error %v, want nil", err)
	}
	if !phcPattern.MatchString(encoded) || !strings.HasPrefix(encoded, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("Hash: got %q, want $argon2id$v=19$m=64,t=1,p=1$salt$hash", encoded)
	}
	again, _ := h.Hash(ctx, "correct horse battery staple")
	if again == encoded {
		t.Errorf("Hash twice: got the same string %q, want different salts", encoded)
	}
	for _, tt := range []struct {
		password   string
		ok, rehash bool
	}{
		{"correct horse battery staple", true, false},
		{"correct horse battery stapler", false, false},
		{"", false, false},
	} {
		ok, rehash, err := h.Verify(ctx, encoded, tt.password)
		if ok != tt.ok || rehash != tt.rehash || err != nil {
			t.Errorf("Verify(%q): got %v, %v, %v, want %v, %v, nil", tt.password, ok, rehash, err, tt.ok, tt.rehash)
		}
	}
}

func TestHashDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with 64 MiB")
	}
	h := NewHasher(DefaultParams, 0, time.Second)
	encoded, err := h.Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: got error %v, want nil", err)
	}
	if want := "$argon2id$v=19$m=65536,t=1,p=1$"; !strings.HasPrefix(encoded, want) || !phcPattern.MatchString(encoded) {
		t.Errorf("Hash: got %q, want prefix %q", encoded, want)
	}
	if ok, rehash, err := h.Verify(t.Context(), encoded, "correct horse battery staple"); !ok || rehash || err != nil {
		t.Errorf("Verify: got %v, %v, %v, want true, false, nil", ok, rehash, err)
	}
}

// The argon2id test vector of the reference implementation (test.c).
const referenceHash = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

func TestVerifyArgon2idOtherParams(t *testing.T) {
	ctx := t.Context()
	other := NewHasher(Params{Memory: 128, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16}, 2, time.Second)
	otherHash, err := other.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: got error %v, want nil", err)
	}
	h := NewHasher(testParams, 2, time.Second)
	for _, tt := range []struct {
		name, encoded, password string
		ok, rehash              bool
	}{
		{"other parameters", otherHash, "correct horse battery staple", true, true},
		{"other parameters, wrong password", otherHash, "correct horse battery", false, false},
		{"reference vector", referenceHash, "password", true, true},
		{"reference vector, wrong password", referenceHash, "Password", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, tt.encoded, tt.password)
			if ok != tt.ok || rehash != tt.rehash || err != nil {
				t.Errorf("got %v, %v, %v, want %v, %v, nil", ok, rehash, err, tt.ok, tt.rehash)
			}
		})
	}
}

func TestVerifyRehashWhenAnyParameterDiffers(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(testParams, 2, time.Second)
	for _, p := range []Params{
		{Memory: 72, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64},
	} {
		encoded, _ := NewHasher(p, 1, time.Second).Hash(ctx, "correct horse battery staple")
		if ok, rehash, err := h.Verify(ctx, encoded, "correct horse battery staple"); !ok || !rehash || err != nil {
			t.Errorf("Verify %+v: got %v, %v, %v, want true, true, nil", p, ok, rehash, err)
		}
	}
}

func TestVerifyBcrypt(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(testParams, 2, time.Second)
	hashed, err := bcrypt.GenerateFromPassword([]byte("correct horse battery staple"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a := string(hashed)                           // x/crypto writes $2a$; $2b$ and $2y$ are the same algorithm
	long := strings.Repeat("long passphrase ", 5) // 80 bytes: bcrypt reads 72
	longHashed, _ := bcrypt.GenerateFromPassword([]byte(long[:72]), bcrypt.MinCost)
	ligature, _ := bcrypt.GenerateFromPassword([]byte("ﬁsh and chips forever"), bcrypt.MinCost)
	for _, tt := range []struct {
		name, encoded, password string
		ok, rehash              bool
	}{
		{"$2a$", a, "correct horse battery staple", true, true},
		{"$2b$", "$2b$" + a[4:], "correct horse battery staple", true, true},
		{"$2y$", "$2y$" + a[4:], "correct horse battery staple", true, true},
		{"wrong password", a, "correct horse battery", false, false},
		{"past 72 bytes, as bcrypt always did", string(longHashed), long, true, true},
		{"made before normalisation", string(ligature), "ﬁsh and chips forever", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, tt.encoded, tt.password)
			if ok != tt.ok || rehash != tt.rehash || err != nil {
				t.Errorf("got %v, %v, %v, want %v, %v, nil", ok, rehash, err, tt.ok, tt.rehash)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	valid := "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	bcryptValid := "$2a$04$" + strings.Repeat("a", 53)
	for _, tt := range []struct{ name, encoded string }{
		{"empty", ""},
		{"plain text", "correct horse battery staple"},
		{"argon2i", strings.Replace(valid, "argon2id", "argon2i", 1)},
		{"scrypt", "$scrypt$ln=16,r=8,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
		{"version 16", strings.Replace(valid, "v=19", "v=16", 1)},
		{"no version", strings.Replace(valid, "v=19$", "", 1)},
		{"memory 4294967295 KiB", strings.Replace(valid, "m=64", "m=4294967295", 1)},
		{"memory past uint32", strings.Replace(valid, "m=64", "m=4294967296", 1)},
		{"memory 257 MiB", strings.Replace(valid, "m=64", "m=263168", 1)},
		{"memory below 8 KiB per thread", strings.Replace(valid, "m=64,t=1,p=1", "m=8,t=1,p=2", 1)},
		{"time 0", strings.Replace(valid, "t=1", "t=0", 1)},
		{"time 4294967295", strings.Replace(valid, "t=1", "t=4294967295", 1)},
		{"threads 0", strings.Replace(valid, "p=1", "p=0", 1)},
		{"threads 255", strings.Replace(valid, "p=1", "p=255", 1)},
		{"threads past uint8", strings.Replace(valid, "p=1", "p=257", 1)},
		{"leading zero", strings.Replace(valid, "m=64", "m=064", 1)},
		{"plus sign", strings.Replace(valid, "m=64", "m=+64", 1)},
		{"negative", strings.Replace(valid, "t=1", "t=-1", 1)},
		{"parameters out of order", strings.Replace(valid, "m=64,t=1", "t=1,m=64", 1)},
		{"extra parameter", strings.Replace(valid, "p=1", "p=1,keyid=1", 1)},
		{"missing hash", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ"},
		{"extra field", valid + "$AAAA"},
		{"padded base64", strings.Replace(valid, "$c29tZXNhbHQ$", "$c29tZXNhbHQ=$", 1)},
		{"line break in base64", strings.Replace(valid, "CTFh", "CT\r\nFh", 1)},
		{"URL base64", strings.Replace(valid, "CTFh", "-_Fh", 1)},
		{"salt of 4 bytes", strings.Replace(valid, "$c29tZXNhbHQ$", "$c29tZQ$", 1)},
		{"key of 8 bytes", strings.Replace(valid, "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "CTFhFdXPJO0", 1)},
		{"very long", valid + strings.Repeat("A", 10000)},
		{"bcrypt truncated", "$2a$10$abc"},
		{"bcrypt cost 31", strings.Replace(bcryptValid, "$04$", "$31$", 1)},
		{"bcrypt cost 15", strings.Replace(bcryptValid, "$04$", "$15$", 1)},
		{"bcrypt unknown minor", strings.Replace(bcryptValid, "$2a$", "$2x$", 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHasher(testParams, 1, time.Second)
			derived := countDerive(h)
			ok, rehash, err := h.Verify(t.Context(), tt.encoded, "password")
			if ok || rehash || !errors.Is(err, ErrInvalidHash) {
				t.Errorf("got %v, %v, %v, want false, false, ErrInvalidHash", ok, rehash, err)
			}
			if n := derived.Load(); n != 0 {
				t.Errorf("keys derived: got %d, want 0", n)
			}
		})
	}
}

func TestNormalization(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(testParams, 2, time.Second)
	for _, tt := range []struct{ hashed, typed string }{
		{"ﬁsh and chips forever", "fish and chips forever"},  // ligature U+FB01
		{"fish and chips forever", "ﬁsh and chips forever"},  // either way round
		{"ｃｏｒｒｅｃｔ ｈｏｒｓｅ", "correct horse"},                   // full-width
		{"café au lait please", "cafe\u0301 au lait please"}, // precomposed and combining accent
		{"𝐛𝐨𝐥𝐝 𝐩𝐚𝐬𝐬𝐰𝐨𝐫𝐝", "bold password"},                   // mathematical bold
		{"Ⅻ o'clock at night", "XII o'clock at night"},       // Roman numeral
		{"ｶﾞｰﾃﾞﾝﾊﾟｰﾃｨｰ", "ガーデンパーティー"},                        // half-width katakana
	} {
		encoded, err := h.Hash(ctx, tt.hashed)
		if err != nil {
			t.Fatalf("Hash(%q): got error %v, want nil", tt.hashed, err)
		}
		if ok, _, err := h.Verify(ctx, encoded, tt.typed); !ok || err != nil {
			t.Errorf("Verify(Hash(%q), %q): got %v, %v, want true, nil", tt.hashed, tt.typed, ok, err)
		}
	}
	if got, want := Normalize("ﬁｘ𝐀"), "fixA"; got != want {
		t.Errorf("Normalize: got %q, want %q", got, want)
	}
}

func TestTooLong(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(testParams, 1, time.Second)
	derived := countDerive(h)
	encoded, _ := h.Hash(ctx, "correct horse battery staple")
	for _, tt := range []struct {
		name     string
		password string
		want     error
	}{
		{"MaxBytes", strings.Repeat("a", MaxBytes), nil},
		{"MaxBytes+1", strings.Repeat("a", MaxBytes+1), ErrTooLong},
		{"MaxBytes after normalising 4-byte letters", strings.Repeat("𝐀", MaxBytes), nil},
		{"MaxBytes+1 after normalising", strings.Repeat("𝐀", MaxBytes+1), ErrTooLong},
		{"grows past MaxBytes when normalised", strings.Repeat("½", 300), ErrTooLong}, // 600 bytes, 1,500 as "1⁄2"
		{"a megabyte", strings.Repeat("a", 1<<20), ErrTooLong},
	} {
		t.Run(tt.name, func(t *testing.T) {
			derived.Store(0)
			_, err := h.Hash(ctx, tt.password)
			_, _, verr := h.Verify(ctx, encoded, tt.password)
			derr := h.VerifyDummy(ctx, tt.password)
			if !errors.Is(err, tt.want) || !errors.Is(verr, tt.want) || !errors.Is(derr, tt.want) {
				t.Errorf("Hash, Verify, VerifyDummy: got %v, %v, %v, want %v", err, verr, derr, tt.want)
			}
			wantDerived := int64(3)
			if tt.want != nil {
				wantDerived = 0 // refused before hashing
			}
			if n := derived.Load(); n != wantDerived {
				t.Errorf("keys derived: got %d, want %d", n, wantDerived)
			}
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	h := NewHasher(testParams, 1, time.Second)
	var got []Params
	h.derive = func(password, salt []byte, p Params) []byte {
		got = append(got, p)
		return deriveArgon2id(password, salt, p)
	}
	for _, password := range []string{"", "correct horse battery staple"} {
		if err := h.VerifyDummy(t.Context(), password); err != nil {
			t.Errorf("VerifyDummy(%q): got %v, want nil", password, err)
		}
	}
	if len(got) != 2 || got[0] != testParams || got[1] != testParams {
		t.Errorf("keys derived with: got %+v, want the Hasher's %+v twice", got, testParams)
	}
}

func TestNewHasher(t *testing.T) {
	if got, want := cap(NewHasher(testParams, 0, 0).slots), runtime.NumCPU(); got != want {
		t.Errorf("slots by default: got %d, want runtime.NumCPU() = %d", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("NewHasher with Time 0: got no panic, want one")
		}
	}()
	NewHasher(Params{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 0)
}

func TestParamsValidate(t *testing.T) {
	for _, tt := range []struct {
		p  Params
		ok bool
	}{
		{DefaultParams, true},
		{testParams, true},
		{Params{Memory: 256 * 1024, Time: 10, Threads: 16, SaltLen: 64, KeyLen: 64}, true},
		{Params{Memory: 256*1024 + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 15, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 64, Time: 11, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 1024, Time: 1, Threads: 17, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 7, KeyLen: 32}, false},
		{Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 15}, false},
		{Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 65}, false},
	} {
		if err := tt.p.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate(): got %v, want ok %v", tt.p, err, tt.ok)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams, 1, time.Minute)
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParams measures OWASP's argon2id configurations and the
// neighbours of DefaultParams, one hash at a time in memory reused from one
// hash to the next, as a Hasher's slot does: docs/PASSWORDS.md.
func BenchmarkParams(b *testing.B) {
	for _, p := range []struct {
		name string
		p    Params
	}{
		{"m=19MiB,t=2,p=1", Params{Memory: 19 * 1024, Time: 2, Threads: 1}},
		{"m=46MiB,t=1,p=1", Params{Memory: 46 * 1024, Time: 1, Threads: 1}},
		{"m=64MiB,t=1,p=1", Params{Memory: 64 * 1024, Time: 1, Threads: 1}},
		{"m=64MiB,t=2,p=1", Params{Memory: 64 * 1024, Time: 2, Threads: 1}},
		{"m=64MiB,t=1,p=2", Params{Memory: 64 * 1024, Time: 1, Threads: 2}},
		{"m=64MiB,t=3,p=4", Params{Memory: 64 * 1024, Time: 3, Threads: 4}},
	} {
		p.p.SaltLen, p.p.KeyLen = 16, 32
		b.Run(p.name, func(b *testing.B) {
			salt := randomBytes(16)
			mem, err := argon2id.NewMemory(p.p.Memory)
			if err != nil {
				b.Fatal(err)
			}
			defer mem.Free()
			for b.Loop() {
				mem.Key([]byte("correct horse battery staple"), salt, p.p.Time, p.p.Memory, p.p.Threads, p.p.KeyLen)
			}
		})
	}
}
