package auth

import (
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// FuzzParseEmail: what ParseEmail accepts is one plain, lower-case ASCII
// address that parses back to itself (so that lookups, throttle keys and
// mail all see the same address), and what it refuses, it refuses with
// invalid_email.
func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", " Ada@Example.COM ", "a@b.c, d@e.f", "Ada <ada@example.com>", "k\u0131te@example.com",
		"\u212Aate@example.com", "a@b@c", `"a b"@example.com`, "a..b@example.com", "a@example..com", "a@-example.com", "x@[127.0.0.1]",
		"a&b=c?d#e@example.com", "ada@example.com\r\nBcc: eve@evil.example", "ada@example.com\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseEmail(s)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidEmail {
				t.Fatalf("ParseEmail(%q): error %v, want invalid_email", s, err)
			}
			return
		}
		if got != strings.ToLower(got) || len(got) > 254 || strings.Count(got, "@") != 1 || strings.ContainsAny(got, ",;<>()[]\"\\ ") {
			t.Fatalf("ParseEmail(%q) = %q: not one plain lower-case address", s, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 0x21 || got[i] > 0x7e {
				t.Fatalf("ParseEmail(%q) = %q: byte %#x is not printable ASCII", s, got, got[i])
			}
		}
		if again, err := ParseEmail(got); err != nil || again != got {
			t.Fatalf("ParseEmail(%q) = %q, which parses again as (%q, %v)", s, got, again, err)
		}
		if a, err := mail.ParseAddress(got); err != nil || a.Address != got || a.Name != "" {
			t.Fatalf("ParseEmail(%q) = %q, which net/mail reads as (%v, %v)", s, got, a, err)
		}
	})
}

// FuzzNormalizeRecoveryCode: a typed recovery code normalises to the one
// spelling that is hashed, or to nothing; normalising is idempotent, and
// every code handed out normalises to itself however it is typed back.
func FuzzNormalizeRecoveryCode(f *testing.F) {
	codes, _ := newRecoveryCodes("user")
	for _, s := range append(codes, strings.ToLower(codes[0]), " "+codes[1][:3]+" "+codes[1][3:]+" ", "AAAAA-AAAAA", "00000-00000", "ÄAAAA-AAAAA", "") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := normalizeRecoveryCode(s)
		if !ok {
			return
		}
		if len(got) != 11 || got[5] != '-' {
			t.Fatalf("normalizeRecoveryCode(%q) = %q: want XXXXX-XXXXX", s, got)
		}
		for i, c := range got {
			if i != 5 && !strings.ContainsRune(recoveryAlphabet, c) {
				t.Fatalf("normalizeRecoveryCode(%q) = %q: %q is not in the alphabet", s, got, c)
			}
		}
		if again, ok := normalizeRecoveryCode(got); !ok || again != got {
			t.Fatalf("normalizeRecoveryCode(%q) = %q, which normalises again to (%q, %v)", s, got, again, ok)
		}
	})
}

// FuzzCursor: a cursor from a client reads as a key of at most the bound,
// valid UTF-8, or is refused with invalid_request; every key newCursor
// encodes reads back as itself.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"", "YWRhQGV4YW1wbGUuY29t", "_w", "-1", "%%%", "***", strings.Repeat("A", 400)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := readCursor(s, maxEmailBytes)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("readCursor(%q): error %v, want invalid_request", s, err)
			}
		} else if len(key) > maxEmailBytes || !utf8.ValidString(key) || (key == "") != (s == "") {
			t.Fatalf("readCursor(%q) = %q: want a valid key of 1 to %d bytes, or none for no cursor", s, key, maxEmailBytes)
		}
		if s == "" || len(s) > maxEmailBytes || !utf8.ValidString(s) {
			return
		}
		if back, err := readCursor(newCursor(s), maxEmailBytes); err != nil || back != s {
			t.Fatalf("readCursor(newCursor(%q)) = (%q, %v), want the key back", s, back, err)
		}
	})
}
