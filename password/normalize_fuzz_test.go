package password

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize: the normaliser that every password passes before hashing
// is bounded and stable: a password over 4,096 bytes, or one that
// normalises to more than MaxBytes, is refused before any work that grows
// with it; anything accepted is at most MaxBytes and normalises to itself,
// so that the same password typed twice hashes alike.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"plum tractor velvet oyster", "ｐｌｕｍ", "ﬁ", "\ufdfa", "e\u0301", "\u212b", "\xff\xfe", "",
		string(make([]byte, MaxBytes+1)), string([]rune{'a', 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301,
			0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301, 0x301})} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		got, err := normalizeBounded(pw)
		if err != nil {
			if !errors.Is(err, ErrTooLong) {
				t.Fatalf("normalizeBounded(%q): %v, want ErrTooLong or nothing", pw, err)
			}
			if len(pw) <= maxRawBytes && len(Normalize(pw)) <= MaxBytes {
				t.Fatalf("normalizeBounded(%q): refused a password that fits", pw)
			}
			return
		}
		if len(got) > MaxBytes {
			t.Fatalf("normalizeBounded(%q) = %d bytes, over %d", pw, len(got), MaxBytes)
		}
		if utf8.ValidString(pw) && Normalize(got) != got {
			t.Fatalf("normalizeBounded(%q) = %q, which normalises again to %q", pw, got, Normalize(got))
		}
	})
}
