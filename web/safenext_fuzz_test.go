package web

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: a redirect target that survives safeNext stays on this
// site however a browser reads it: one leading slash, no backslash (read
// as a slash), no control characters (stripped before parsing), no scheme
// or host, a resolved URL on the same origin, and never the login flow.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/settings/profile", "//evil.example", "/\\evil.example", "%2F%5Cevil", "/%2F%5Cevil", "javascript:alert(1)",
		"/\t/evil", "/ /evil", "https://evil", "/settings?next=//evil", "/login?x=1", "/logout", "///evil", "/.//evil", "/a/../..//evil",
		"/\x00", "/%00", "/@evil.example", "/:evil", "\\/evil", "/#\x17", "/\x01/evil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://gatehouse.example/settings/profile")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "" {
			return
		}
		if got != next {
			t.Fatalf("safeNext(%q) = %q: it should keep or drop, never rewrite", next, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\") {
			t.Fatalf("safeNext(%q) = %q: not one leading slash", next, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("safeNext(%q) = %q: control character %q", next, got, r)
			}
		}
		u, err := base.Parse(got)
		if err != nil || u.Scheme != "https" || u.Host != "gatehouse.example" {
			t.Fatalf("safeNext(%q) = %q, which resolves to %v (%v)", next, got, u, err)
		}
		if u.Path == "/login" || strings.HasPrefix(u.Path, "/login/") || u.Path == "/logout" {
			t.Fatalf("safeNext(%q) = %q: back into the login flow", next, got)
		}
	})
}
