package httpx

import "net/http"

// contentSecurityPolicy allows only this site's own scripts, styles and
// images (and data: images, for QR codes); no frames, no plugins.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders are set on every answer a browser may read. The values
// are shared, never modified: Header.Set and Add replace or copy a slice,
// and a header map of net/http is per response.
var securityHeaders = []struct {
	name  string
	value []string
}{
	{"Content-Security-Policy", []string{contentSecurityPolicy}},
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"X-Frame-Options", []string{"DENY"}},
	{"Referrer-Policy", []string{"same-origin"}},
	{"Cross-Origin-Opener-Policy", []string{"same-origin"}},
	{"Cross-Origin-Resource-Policy", []string{"same-origin"}},
	{"Permissions-Policy", []string{"camera=(), microphone=(), geolocation=(), payment=()"}},
	{hstsName, hsts},
}

const hstsName = "Strict-Transport-Security"

var hsts = []string{"max-age=31536000"}

// SetSecurityHeaders sets the headers that tell a browser how to treat
// an answer; Strict-Transport-Security only when the site is served over
// https (secure).
func SetSecurityHeaders(h http.Header, secure bool) {
	for _, sh := range securityHeaders {
		if sh.name != hstsName || secure {
			h[sh.name] = sh.value
		}
	}
}

// DropSecurityHeaders removes SetSecurityHeaders' headers from an answer
// that no browser reads: the 200 of a forward-auth check, of which the
// proxy keeps the identity headers alone (nginx's auth_request_set,
// Traefik's authResponseHeaders, Caddy's copy_headers). Every header
// costs both sides on every proxied request: net/http copies, sorts and
// writes it, and the proxy parses it.
func DropSecurityHeaders(h http.Header) {
	for _, sh := range securityHeaders {
		delete(h, sh.name)
	}
}
