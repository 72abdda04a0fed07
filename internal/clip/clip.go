// Package clip shortens text to a number of bytes without splitting a
// character: what is stored (PostgreSQL refuses invalid UTF-8), logged or
// estimated is cut at a boundary.
package clip

import "unicode/utf8"

// Prefix returns the longest prefix of s of at most n bytes that ends on a
// character boundary: s itself when it is no longer than n.
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
