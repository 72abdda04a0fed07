package auth

import (
	"net/mail"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// maxEmailBytes is the longest email address (RFC 5321's path limit, less
// its angle brackets).
const maxEmailBytes = 254

// ParseEmail validates and normalises an email address: one plain address
// (no display name, no list, no comments), ASCII only, lower-cased, at most
// 254 bytes. Refusing non-ASCII closes the look-alike tricks (a dotless ı, a
// Kelvin sign K) that would otherwise fold onto another user's address.
// Mail always goes to the address stored, never to the one typed.
func ParseEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	invalid := gatehouse.Errorf(gatehouse.EInvalidEmail, "Enter a valid email address, like name@example.com.")
	if s == "" || len(s) > maxEmailBytes {
		return "", invalid
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return "", invalid
		}
	}
	if strings.ContainsAny(s, `,;<>()[]"\`) {
		return "", invalid
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", invalid
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(local) > 64 || domain == "" || strings.Contains(domain, "@") {
		return "", invalid
	}
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", invalid
	}
	return strings.ToLower(s), nil
}
