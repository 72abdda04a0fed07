package auth_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

// The shape check of a return address (/login?rd=): every open-redirect
// form is refused, and what passes names its host plainly.
func TestParseReturnURL(t *testing.T) {
	tests := []struct {
		raw  string
		host string // "" : refused
	}{
		{"https://app.example.com/", "app.example.com"},
		{"https://app.example.com", "app.example.com"},
		{"http://app.example.com/path?q=1&r=%2F#frag", "app.example.com"},
		{"HTTPS://APP.Example.com/x", "app.example.com"},
		{"https://app.example.com:8443/x", "app.example.com"},
		{"https://10.0.0.7/x", "10.0.0.7"},
		{"https://app.example.com/a/../b", "app.example.com"},
		{"https://app.example.com/?next=https://evil.example.com", "app.example.com"},

		{"", ""},
		{"/local/path", ""},
		{"//evil.example.com/x", ""},
		{"///evil.example.com/x", ""},
		{"https:evil.example.com", ""},
		{"https:/evil.example.com", ""},
		{"https:///evil.example.com", ""},
		{"https:\\\\evil.example.com", ""},
		{"https://evil.example.com\\@app.example.com/", ""},
		{"https://app.example.com\\evil.example.com", ""},
		{"https://app.example.com\\@evil.example.com", ""},
		{"/\\evil.example.com", ""},
		{"\\\\evil.example.com", ""},
		{"https://user@app.example.com/", ""},
		{"https://user:pw@app.example.com/", ""},
		{"https://app.example.com@evil.example.com/", ""},
		{"https://evil.example.com#@app.example.com", "evil.example.com"}, // the host is evil's, so its registration decides
		{"https://evil.example.com?@app.example.com", "evil.example.com"},
		{"javascript:alert(1)", ""},
		{"JavaScript://app.example.com/%0aalert(1)", ""},
		{"data:text/html,hi", ""},
		{"ftp://app.example.com/", ""},
		{"ws://app.example.com/", ""},
		{" https://app.example.com/", ""},
		{"https://app.example.com/ x", ""},
		{"https://app.example.com/\tx", ""},
		{"https://app.example.com/\nx", ""},
		{"https://app.example.com/\rx", ""},
		{"https://app.example.com/\x00", ""},
		{"https://app.example.com/\x7f", ""},
		{"\x01https://app.example.com/", ""},
		{"https://app.example.com/é", ""},
		{"https://app\u3002example.com/", ""},
		{"https://xn--app-zza.example.com/", "xn--app-zza.example.com"},
		{"https://app%2eexample.com/", ""},
		{"https://%61pp.example.com/", ""},
		{"https://[::1]/", ""},
		{"https://app.example.com:0/", ""},
		{"https://app.example.com:99999/", ""},
		{"https://app.example.com:-1/", ""},
		{"https://app.example.com:+443/", ""},
		{"https://app.example.com:/", ""},
		{"https://app.example.com:443:443/", ""},
		{"https://app.example.com./", ""},
		{"https://.app.example.com/", ""},
		{"https:///", ""},
		{"https://", ""},
		{"https://app.example.com/" + strings.Repeat("a", auth.MaxReturnURLLen), ""},
		{"https://" + strings.Repeat("a", 64) + ".com/", ""},
	}
	for _, tt := range tests {
		u, host, ok := auth.ParseReturnURL(tt.raw)
		if host != tt.host || ok != (tt.host != "") {
			t.Errorf("ParseReturnURL(%q): got %q, %v; want %q", tt.raw, host, ok, tt.host)
			continue
		}
		if ok && (u == nil || strings.ToLower(u.Hostname()) != host) {
			t.Errorf("ParseReturnURL(%q): URL %v does not name %q", tt.raw, u, host)
		}
	}
}

// FuzzParseReturnURL holds what a browser would do with an accepted
// address to what the check said: it goes to an http(s) URL whose host is
// the host returned, with nothing in it a browser reads otherwise
// (backslashes, controls, spaces, user information).
func FuzzParseReturnURL(f *testing.F) {
	for _, s := range []string{"https://app.example.com/x?y#z", "//evil.example.com", "https://a@b/", "https:\\\\x",
		"http://app.example.com:8080/", "javascript:alert(1)", "https://app.example.com\\@evil/", "HTTP://A.B/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, host, ok := auth.ParseReturnURL(raw)
		if !ok {
			if u != nil || host != "" {
				t.Fatalf("refused %q but returned %v, %q", raw, u, host)
			}
			return
		}
		if strings.ContainsAny(raw, "\\ \t\r\n\x00") || strings.ContainsFunc(raw, func(r rune) bool { return r < ' ' || r >= 0x7f }) {
			t.Fatalf("accepted %q with a character a browser may read otherwise", raw)
		}
		again, err := url.Parse(raw)
		if err != nil || (again.Scheme != "http" && again.Scheme != "https") || again.User != nil ||
			strings.ToLower(again.Hostname()) != host || host == "" {
			t.Fatalf("accepted %q as host %q, but it parses as %v (%v)", raw, host, again, err)
		}
		if _, err := auth.CheckForwardAuthHost(host); err != nil {
			t.Fatalf("accepted %q with host %q that no app can register: %v", raw, host, err)
		}
		// What a browser resolves against any page lands on the same host.
		base, _ := url.Parse("https://gatehouse.example.org/login")
		if got := strings.ToLower(base.ResolveReference(again).Hostname()); got != host {
			t.Fatalf("accepted %q: resolved against the login page it goes to %q, want %q", raw, got, host)
		}
	})
}

// URLAuthority is the one reading of an absolute URL's host, for the
// return address and nginx's original URL alike.
func TestURLAuthority(t *testing.T) {
	for _, tt := range []struct {
		raw, want string
		ok        bool
	}{
		{"https://wiki.example.com/x?y=1", "wiki.example.com", true},
		{"HTTP://Wiki.Example.COM:8443", "Wiki.Example.COM:8443", true},
		{"hTtPs://a.b?x=/y", "a.b", true},
		{"https://a.b#frag/x", "a.b", true},
		{"https://evil@wiki.example.com/", "evil@wiki.example.com", true},
		{"https:///x", "", true},
		{"https://", "", true},
		{"//wiki.example.com/x", "", false},
		{"/x", "", false},
		{"javascript:alert(1)", "", false},
		{"ftp://a.b/", "", false},
		{"https:/a.b/", "", false},
		{"httpſ://a.b/", "", false}, // a long s folds to s in Unicode, not here
		{" https://a.b/", "", false},
		{"", "", false},
	} {
		got, ok := auth.URLAuthority(tt.raw)
		if got != tt.want || ok != tt.ok {
			t.Errorf("URLAuthority(%q): got %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzURLAuthority holds the authority to what it is: the bytes right
// after an http:// or https:// that the address starts with (in any
// ASCII case), up to the first /, ? or # or the end; and where net/url
// reads a host name out of the address, the same one.
func FuzzURLAuthority(f *testing.F) {
	for _, s := range []string{"https://app.example.com/x?y#z", "//evil.example.com", "https://a@b/", "https:\\\\x",
		"HTTP://A.B:80", "javascript:alert(1)", "https://app.example.com\\@evil/", "http://a?b/c", "https://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		authority, ok := auth.URLAuthority(raw)
		prefix := ""
		for _, p := range []string{"https://", "http://"} {
			if len(raw) >= len(p) && asciiLower(raw[:len(p)]) == p {
				prefix = raw[:len(p)]
				break
			}
		}
		if ok != (prefix != "") {
			t.Fatalf("URLAuthority(%q) = %v, but its scheme prefix is %q", raw, ok, prefix)
		}
		if !ok {
			if authority != "" {
				t.Fatalf("refused %q but returned %q", raw, authority)
			}
			return
		}
		if !strings.HasPrefix(raw, prefix+authority) || strings.ContainsAny(authority, "/?#") {
			t.Fatalf("URLAuthority(%q) = %q: not the bytes after the scheme", raw, authority)
		}
		if rest := raw[len(prefix+authority):]; rest != "" && !strings.ContainsRune("/?#", rune(rest[0])) {
			t.Fatalf("URLAuthority(%q) = %q stops before %q", raw, authority, rest)
		}
		host, hostOK := auth.RequestHost(authority)
		if !hostOK {
			return
		}
		if u, err := url.Parse(raw); err == nil && u.User == nil && strings.ToLower(u.Hostname()) != host {
			t.Fatalf("URLAuthority(%q) = %q (host %q), but net/url reads host %q", raw, authority, host, u.Hostname())
		}
	})
}

// asciiLower lowers ASCII letters only.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
