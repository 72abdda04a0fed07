package clip

import (
	"testing"
	"unicode/utf8"
)

func TestPrefix(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"abcé", 4, "abc"}, // é is 2 bytes: not cut in half
		{"abcé", 5, "abcé"},
		{"日本語", 4, "日"},
		{"日本語", 2, ""},
		{"😀x", 3, ""},
		{"abc", 0, ""},
	} {
		got := Prefix(tc.s, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("Prefix(%q, %d): got %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
