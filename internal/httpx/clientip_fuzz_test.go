package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP: X-Forwarded-For is the client's to write, so the address
// that throttling and the audit log use comes from it only through a
// trusted proxy, is always a real address, and is never the address of a
// trusted proxy while the peer is one (a client cannot pose as the proxy).
func FuzzClientIP(f *testing.F) {
	for _, s := range [][2]string{{"10.0.0.1:1234", "198.51.100.7"}, {"10.0.0.1:1", "198.51.100.7, 10.0.0.2"}, {"203.0.113.5:9", "1.2.3.4"},
		{"[::1]:80", "::ffff:1.2.3.4"}, {"10.0.0.1:1", "garbage, 1.2.3.4"}, {"10.0.0.1:1", ""}, {"bad", "1.1.1.1"}, {"10.0.0.1:1", "10.0.0.3"}} {
		f.Add(s[0], s[1])
	}
	proxies, _ := ParseProxies("10.0.0.0/8, ::1")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		peerHost := remote
		if h, _, err := net.SplitHostPort(remote); err == nil {
			peerHost = h
		}
		peer, peerErr := netip.ParseAddr(peerHost)
		for _, ps := range []Proxies{nil, proxies} {
			got := ps.ClientIP(r)
			if want := clientIPPlain(ps, r); got != want {
				t.Fatalf("ClientIP(%q, %q) = %q with proxies %v, want %q as the plain reading gives", remote, xff, got, ps, want)
			}
			if peerErr != nil {
				if got != peerHost {
					t.Fatalf("ClientIP(%q, %q) = %q, want the unparsable peer %q as it is", remote, xff, got, peerHost)
				}
				continue
			}
			a, err := netip.ParseAddr(got)
			if err != nil || a.String() != got || a.Is4In6() {
				t.Fatalf("ClientIP(%q, %q) = %q, not an address in its canonical form", remote, xff, got)
			}
			if !ps.trusts(peer) && a != peer.Unmap() {
				t.Fatalf("ClientIP(%q, %q) = %q with proxies %v: an untrusted peer's header was believed", remote, xff, got, ps)
			}
			if ps.trusts(peer) && ps.trusts(a) && a != peer.Unmap() {
				t.Fatalf("ClientIP(%q, %q) = %q: a trusted proxy's address from the header", remote, xff, got)
			}
		}
	})
}

// clientIPPlain is ClientIP's rule written plainly, splitting the header
// into a slice: ClientIP walks it in place, and must agree.
func clientIPPlain(ps Proxies, r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if len(ps) == 0 || !ps.trusts(peer) {
		return peer.String()
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !ps.trusts(a) {
			return a.Unmap().String()
		}
	}
	return peer.String()
}
