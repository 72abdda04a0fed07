package totp

import "testing"

func TestParseCode(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"123456", "123456", true},
		{"000000", "000000", true},
		{" 123456 ", "123456", true},
		{"123 456", "123456", true},
		{"1 2 3 4 5 6", "123456", true},
		{"123-456", "123456", true},
		{"123 - 456", "123456", true},
		{"\t123456\r\n", "123456", true},
		{"", "", false},
		{"      ", "", false},
		{"12345", "", false},
		{"1234567", "", false},
		{"12345a", "", false},
		{"abcdef", "", false},
		{"١٢٣٤٥٦", "", false},       // Arabic-Indic digits
		{"１２３４５６", "", false},       // full-width digits
		{"123\u00a0456", "", false}, // no-break space
		{"12-3456", "", false},
		{"-123456", "", false},
		{"123456-", "", false},
		{"123--456", "", false},
		{"123-45-6", "", false},
		{"+123456", "", false},
		{"123.456", "", false},
		{"12345\x00", "", false},
	}
	for _, tc := range tests {
		got, ok := ParseCode(tc.in)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("ParseCode(%q): got (%q, %v), want (%q, %v)", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123456", " 123 456 ", "123-456", "12345", "1234567", "١٢٣٤٥٦", "１２３４５６", "12345a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := ParseCode(s)
		if !ok {
			if code != "" {
				t.Fatalf("refused %q but returned %q", s, code)
			}
			return
		}
		if len(code) != Digits {
			t.Fatalf("ParseCode(%q) = %q: want %d digits", s, code, Digits)
		}
		// The code is exactly the digits of the input, in order.
		var digits []byte
		for i := 0; i < len(s); i++ {
			if '0' <= s[i] && s[i] <= '9' {
				digits = append(digits, s[i])
			}
		}
		if string(digits) != code {
			t.Fatalf("ParseCode(%q) = %q: want the input's digits %q", s, code, digits)
		}
		if again, ok := ParseCode(code); !ok || again != code {
			t.Fatalf("ParseCode(%q) = (%q, %v): a parsed code must parse to itself", code, again, ok)
		}
	})
}
