package testenv

import (
	"regexp"
	"strings"
	"testing"
)

// GoodPassword and OtherPassword pass the password policy.
const (
	GoodPassword  = "plum tractor velvet oyster"
	OtherPassword = "copper lantern meadow violin"
)

var linkPattern = regexp.MustCompile(`\S+/(?:reset-password|setup)\?token=[A-Za-z0-9_-]{43}`)

// Link returns the first reset, invitation or setup link in text; it fails
// the test when there is none.
func Link(t testing.TB, text string) string {
	t.Helper()
	link := linkPattern.FindString(text)
	if link == "" {
		t.Fatalf("no link with a token in:\n%s", text)
	}
	return link
}

// LinkToken returns the token of the first link in text.
func LinkToken(t testing.TB, text string) string {
	t.Helper()
	_, token, _ := strings.Cut(Link(t, text), "?token=")
	return token
}
