package totp

import (
	"strconv"
	"strings"
)

// URI returns the otpauth:// URI that enrolls secret in an authenticator app,
// in the Key URI Format that Google Authenticator defined and the others
// follow:
//
//	otpauth://totp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30
//
// The issuer appears twice on purpose: older apps read the label, newer ones
// the parameter. An empty issuer is left out of both.
//
// Issuer and account are percent-encoded byte by byte except for RFC 3986
// unreserved characters and '@', in the label and in the parameters alike.
// That is stricter than url.PathEscape and url.QueryEscape, and it is needed:
// ':' must not be literal in the label (it separates issuer from account),
// and a space must be "%20", not "+", which some apps display literally.
// '@' stays literal (it is a path and query character in RFC 3986) so that
// the label reads "Gatehouse:ada@example.com", as in Google's key URI
// examples and in what help centres show.
func URI(issuer, account string, secret []byte) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(escape(issuer))
		b.WriteByte(':')
	}
	b.WriteString(escape(account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escape(issuer))
	}
	b.WriteString("&algorithm=SHA1&digits=")
	b.WriteString(strconv.Itoa(Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(int(Period.Seconds())))
	return b.String()
}

// escape percent-encodes every byte of s except RFC 3986 unreserved
// characters and '@', which mean the same in a path and in a query.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || c == '@' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
