// Package httpx holds what the JSON API and the web pages share about
// requests: who the client is (address behind trusted proxies, request ID),
// where the session token travels (cookie or bearer), the cookie's
// attributes, and the HTTP status of each error code (Status).
package httpx

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Proxies are the peers whose X-Forwarded-For is believed.
type Proxies []netip.Prefix

// ParseProxies reads --trusted-proxies: comma-separated addresses or CIDR
// prefixes.
func ParseProxies(s string) (Proxies, error) {
	var ps Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is not an address or prefix", f)
			}
			ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is not an address or prefix", f)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

func (ps Proxies) trusts(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client: the direct peer, or, when
// the peer is a trusted proxy, the rightmost address in X-Forwarded-For
// that is not itself a trusted proxy. Addresses to the left of that were
// written by the client and prove nothing. It walks the header from the
// right in place and returns an IPv4 address as it was written (netip
// reads IPv4 only in the form it writes), so that the usual request
// allocates nothing here.
func (ps Proxies) ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if len(ps) == 0 || !ps.trusts(peer) {
		return addrString(peer, host)
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for {
			hop, more := rest, false
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				hop, rest, more = rest[j+1:], rest[:j], true
			}
			hop = strings.TrimSpace(hop)
			a, err := netip.ParseAddr(hop)
			if err != nil {
				return addrString(peer, host)
			}
			if !ps.trusts(a) {
				return addrString(a, hop)
			}
			if !more {
				break
			}
		}
	}
	return addrString(peer, host)
}

// addrString is a.Unmap().String(), where s is the text a was parsed from:
// s itself when it is IPv4 (no colon), which is already that string.
func addrString(a netip.Addr, s string) string {
	if a.Is4() && strings.IndexByte(s, ':') < 0 {
		return s
	}
	return a.Unmap().String()
}

type ctxKey int

const keyRequestInfo ctxKey = 0

// requestInfo is what WithRequestInfo learns about a request. It is also
// the request's context (its parent's, plus Value answering
// keyRequestInfo) and holds the X-Request-Id header's value, so that
// every request pays one allocation for the three, not four.
// context.WithCancel below it still finds the parent's cancelCtx through
// Value, so it starts no goroutine.
type requestInfo struct {
	context.Context
	id       string
	clientIP string
	header   [1]string
}

func (info *requestInfo) Value(key any) any {
	if key == keyRequestInfo {
		return info
	}
	return info.Context.Value(key)
}

// WithRequestInfo stores the request ID and client address in the
// request's context, and echoes the ID in X-Request-Id for support.
//
// A request ID only ties an answer to its log lines (it is logged and
// shown, never trusted), so it comes from math/rand/v2's generator
// (ChaCha8 seeded by the runtime, no system call) rather than
// crypto/rand's: random still, so that it does not tell a client how many
// requests others make, as a counter would.
func WithRequestInfo(ps Proxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], mathrand.Uint64())
		var id [16]byte
		hex.Encode(id[:], b[:])
		info := &requestInfo{Context: r.Context(), id: string(id[:]), clientIP: ps.ClientIP(r)}
		info.header[0] = info.id
		w.Header()["X-Request-Id"] = info.header[:]
		next.ServeHTTP(w, r.WithContext(info))
	})
}

// RequestID returns the ID WithRequestInfo gave the request.
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(keyRequestInfo).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// ClientIPFrom returns the client address WithRequestInfo found.
func ClientIPFrom(r *http.Request) string {
	if info, ok := r.Context().Value(keyRequestInfo).(*requestInfo); ok {
		return info.clientIP
	}
	return Proxies(nil).ClientIP(r)
}

// Cookies knows the session and challenge cookies' names and attributes.
// Behind https the names take the __Host- prefix, which browsers only
// accept with Secure, Path=/ and no Domain: a sibling subdomain cannot
// plant one.
//
// With a Domain (--cookie-domain), the session cookie alone is set for
// that domain, so that apps on its subdomains send it to their reverse
// proxy for forward auth; behind https its name takes the __Secure- prefix
// (__Host- forbids a Domain). The other cookies stay on Gatehouse's host.
type Cookies struct {
	Secure bool
	Domain string
}

// SessionCookieName is the contract's cookie name, prefixed behind https.
const SessionCookieName = "gatehouse_session"

// ChallengeCookieName carries a login in progress between pages.
const ChallengeCookieName = "gatehouse_challenge"

// The pages' other cookies: the language chosen, and a success message
// that survives one redirect. They go through Set, Get and Clear like the
// session's, so that behind https they too carry __Host- and Secure: a
// sibling subdomain cannot plant them either.
const (
	LangCookieName  = "gatehouse_lang"
	FlashCookieName = "gatehouse_flash"
)

func (c Cookies) name(base string) string {
	if c.Secure {
		return "__Host-" + base
	}
	return base
}

// SessionName is the session cookie's name on this installation.
func (c Cookies) SessionName() string {
	if c.Domain != "" && c.Secure {
		return "__Secure-" + SessionCookieName
	}
	return c.name(SessionCookieName)
}

// SetSession sets the session cookie until expires.
func (c Cookies) SetSession(w http.ResponseWriter, token string, expires time.Time) {
	c.setSession(w, token, expires)
}

// ClearSession removes the session cookie.
func (c Cookies) ClearSession(w http.ResponseWriter) {
	c.setSession(w, "", time.Unix(1, 0))
}

func (c Cookies) setSession(w http.ResponseWriter, token string, expires time.Time) {
	if c.Domain == "" {
		c.set(w, SessionCookieName, token, expires)
		return
	}
	ck := &http.Cookie{
		Name: c.SessionName(), Value: token, Path: "/", Domain: c.Domain, Expires: expires,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode,
	}
	if token == "" {
		ck.MaxAge = -1
	}
	http.SetCookie(w, ck)
}

// SetChallenge keeps a login in progress for the next page.
func (c Cookies) SetChallenge(w http.ResponseWriter, token string, expires time.Time) {
	c.set(w, ChallengeCookieName, token, expires)
}

// ClearChallenge removes the challenge cookie.
func (c Cookies) ClearChallenge(w http.ResponseWriter) {
	c.set(w, ChallengeCookieName, "", time.Unix(1, 0))
}

// Challenge returns the challenge cookie's value.
func (c Cookies) Challenge(r *http.Request) string { return c.Get(r, ChallengeCookieName) }

// Set sets the cookie base (prefixed behind https) until expires, with the
// attributes every cookie of Gatehouse has: HttpOnly, SameSite=Lax,
// Path=/, and Secure behind https.
func (c Cookies) Set(w http.ResponseWriter, base, value string, expires time.Time) {
	c.set(w, base, value, expires)
}

// Get returns the value of the cookie base, or "".
func (c Cookies) Get(r *http.Request, base string) string {
	if ck, err := r.Cookie(c.name(base)); err == nil {
		return ck.Value
	}
	return ""
}

// Clear removes the cookie base.
func (c Cookies) Clear(w http.ResponseWriter, base string) { c.set(w, base, "", time.Unix(1, 0)) }

func (c Cookies) set(w http.ResponseWriter, base, value string, expires time.Time) {
	ck := &http.Cookie{
		Name: c.name(base), Value: value, Path: "/", Expires: expires,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode,
	}
	if value == "" {
		ck.MaxAge = -1
	}
	http.SetCookie(w, ck)
}

// SessionInCookie reports whether the request's session token came in the
// cookie (no Authorization header), so that an answer can replace it.
func (c Cookies) SessionInCookie(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return false
	}
	ck, err := r.Cookie(c.SessionName())
	return err == nil && ck.Value != ""
}

// SessionToken returns the session token of a request: the bearer token
// when an Authorization header is present, else the cookie.
func (c Cookies) SessionToken(r *http.Request) string {
	if r.Header.Get("Authorization") != "" {
		return BearerToken(r)
	}
	if ck, err := r.Cookie(c.SessionName()); err == nil {
		return ck.Value
	}
	return ""
}

// BearerToken returns the credential of an Authorization: Bearer header,
// or "" when there is none (a cookie never carries an API key).
func BearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}
