package gatehouse_test

import (
	"encoding/base64"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// FuzzTokenLooksValid: the shape check lets through exactly the canonical
// base64url spelling of 32 bytes, the form NewToken makes, so that no two
// strings name one token and garbage never reaches the database.
func FuzzTokenLooksValid(f *testing.F) {
	good, _ := gatehouse.NewToken()
	for _, s := range []string{good, "", "short", good + "=", good[:42] + "B", good[:42] + "\x00", "+" + good[1:], good[:42] + "é",
		"0000000000000000000000\n\n\n\n00000000000000000", good[:20] + "\r\n" + good[22:]} { // line breaks the decoder skipped
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		canonical := err == nil && len(b) == 32 && base64.RawURLEncoding.EncodeToString(b) == s
		if got := gatehouse.TokenLooksValid(s); got != canonical {
			t.Fatalf("TokenLooksValid(%q) = %v, want %v", s, got, canonical)
		}
	})
}
