package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// MaxURLLength bounds an endpoint's URL.
const MaxURLLength = 2048

// blocked are the ranges a webhook may not reach besides those netip
// names (loopback, private, link-local, multicast, unspecified): every
// range IANA's special-purpose registries mark as not globally reachable,
// and those that embed an IPv4 address another host would act on.
var blocked = []struct {
	prefix netip.Prefix
	name   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (CGNAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // 255.255.255.255 included
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use IPv4/IPv6 translation"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments"}, // Teredo, ORCHID, benchmarking...
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	{netip.MustParsePrefix("5f00::/16"), "segment routing"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// nat64 and sixToFour carry an IPv4 address that the translator or relay
// connects to, which is checked as such.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// CheckAddress returns nil when a webhook may connect to a, else an error
// that names the kind of address: loopback, private, link-local,
// unspecified, multicast, CGNAT, documentation and other reserved ranges,
// and IPv6 addresses that carry such an IPv4 address (IPv4-mapped, NAT64,
// 6to4). It is the one rule, checked at registration and at every
// connection.
func CheckAddress(a netip.Addr) error {
	if !a.IsValid() {
		return &AddressError{Addr: a, Kind: "invalid"}
	}
	if a.Zone() != "" {
		return &AddressError{Addr: a, Kind: "scoped"}
	}
	if a.Is4In6() {
		if err := CheckAddress(a.Unmap()); err != nil {
			return &AddressError{Addr: a, Kind: "IPv4-mapped " + err.(*AddressError).Kind}
		}
		return nil
	}
	kind := ""
	switch {
	case a.IsLoopback():
		kind = "loopback"
	case a.IsPrivate():
		kind = "private"
	case a.IsLinkLocalUnicast():
		kind = "link-local"
	case a.IsUnspecified():
		kind = "unspecified"
	case a.IsMulticast():
		kind = "multicast"
	}
	for _, b := range blocked {
		if kind == "" && b.prefix.Contains(a) {
			kind = b.name
		}
	}
	if kind == "" && a.Is6() {
		if inner, ok := embeddedIPv4(a); ok {
			if err := CheckAddress(inner); err != nil {
				kind = "IPv6 carrying " + err.(*AddressError).Kind
			}
		}
	}
	if kind != "" {
		return &AddressError{Addr: a, Kind: kind}
	}
	return nil
}

// embeddedIPv4 returns the IPv4 address a NAT64 or 6to4 address leads to.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// AddressError is an address a webhook may not reach.
type AddressError struct {
	Addr netip.Addr
	Kind string
}

// Error names the kind of address and not the address itself: company
// admins read it (a refused registration, a delivery's error), and the
// address a name of the internal network resolves to is none of theirs.
func (e *AddressError) Error() string {
	return fmt.Sprintf("the host resolves to a %s address, which webhooks may not reach", e.Kind)
}

// Policy is where webhooks may go: public addresses only, unless
// AllowPrivate (development and tests). Resolver looks names up; nil means
// the system's (net.DefaultResolver). A test points it at a DNS server of
// its own, to play DNS rebinding: the check that counts is the one at
// connection time (Client), on the address actually dialled.
type Policy struct {
	AllowPrivate bool
	Resolver     *net.Resolver
}

// lookupTimeout bounds the lookup of a name at registration.
const lookupTimeout = 3 * time.Second

func (p *Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	r := net.DefaultResolver
	if p != nil && p.Resolver != nil {
		r = p.Resolver
	}
	return r.LookupNetIP(ctx, "ip", host)
}

func (p *Policy) allowPrivate() bool { return p != nil && p.AllowPrivate }

// CheckURL returns the endpoint URL in its stored form, or a refusal:
// EWebhookURLInvalid for anything but an absolute https URL (http too with
// AllowPrivate) without credentials or fragment, whose host is a name or
// an IP address; EWebhookAddressNotAllowed when the host is, or its name
// resolves to, an address CheckAddress refuses. A name that does not
// resolve now is accepted: its addresses are checked at every connection
// anyway, and DNS may be set up after the endpoint.
func (p *Policy) CheckURL(ctx context.Context, raw string) (string, error) {
	u, host, err := p.parse(raw)
	if err != nil {
		return "", err
	}
	if p.allowPrivate() {
		return u.String(), nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if err := CheckAddress(a); err != nil {
			return "", addressRefused(err)
		}
		return u.String(), nil
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "", addressRefused(fmt.Errorf("%s is a loopback name", host))
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := p.resolve(ctx, host)
	if err != nil {
		return u.String(), nil
	}
	for _, a := range addrs {
		if err := CheckAddress(a); err != nil {
			return "", addressRefused(err)
		}
	}
	return u.String(), nil
}

func addressRefused(err error) error {
	return gatehouse.Errorf(gatehouse.EWebhookAddressNotAllowed,
		"The URL leads to an address webhooks may not reach (%v). Use a public address.", err)
}

func invalidURL(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.EWebhookURLInvalid, format, args...)
}

// parse checks the URL's form and returns it with its host, lower-cased
// and without brackets.
func (p *Policy) parse(raw string) (*url.URL, string, error) {
	if raw == "" || len(raw) > MaxURLLength {
		return nil, "", invalidURL("The URL must be from 1 to %d characters long.", MaxURLLength)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, "", invalidURL("The URL cannot contain spaces or control characters.")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return nil, "", invalidURL("The URL must be absolute, such as https://example.com/webhooks.")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.allowPrivate():
	case u.Scheme == "http":
		return nil, "", invalidURL("The URL must start with https://: events carry personal data.")
	default:
		return nil, "", invalidURL("The URL must start with https://.")
	}
	if u.User != nil {
		return nil, "", invalidURL("The URL cannot contain a user name or password.")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, "", invalidURL("The URL cannot contain a fragment (#...).")
	}
	host := strings.ToLower(u.Hostname())
	if port := u.Port(); port != "" {
		if n, err := netip.ParseAddrPort("0.0.0.0:" + port); err != nil || n.Port() == 0 {
			return nil, "", invalidURL("The URL's port must be a number from 1 to 65535.")
		}
	}
	if strings.Contains(host, "%") {
		return nil, "", invalidURL("The URL's host cannot name a network interface.")
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHostname(host) {
		return nil, "", invalidURL("The URL's host must be a domain name or an IP address.")
	}
	u.Host = strings.ToLower(u.Host)
	return u, host, nil
}

// validHostname accepts DNS names of letters, digits and hyphens whose
// last label is not numeric: resolvers read "2130706433", "0x7f.1" or
// "127.1" as 127.0.0.1, so such a host is no name.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	numeric := true
	for i, c := range last {
		if !(c >= '0' && c <= '9' || i == 1 && c == 'x' || strings.HasPrefix(last, "0x") && (c >= 'a' && c <= 'f')) {
			numeric = false
		}
	}
	return !numeric
}
