package api_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/password"
)

// mathBold writes the ASCII letters of s in Mathematical Bold (U+1D400…):
// 4 bytes each as typed, the plain letter (1 byte) after NFKC.
func mathBold(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			b.WriteRune(0x1D400 + r - 'A')
		case r >= 'a' && r <= 'z':
			b.WriteRune(0x1D41A + r - 'a')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestPasswordLengthIsMeasuredNormalised: the 1,024-byte limit holds on
// the NFKC form, the form that is hashed and judged, on every path. A
// password that normalisation shortens below the limit is accepted as a
// new password and at login, typed either way; one that normalisation
// lengthens past it is refused the same way everywhere.
func TestPasswordLengthIsMeasuredNormalised(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	c.Token = c.Login("ada@example.com", goodPW)

	plain := "quokka mandolin vortex saffron glimmer tundra walrus pickle nebula copper falcon meadow lantern " +
		"quartz river ember orchid basalt cobalt juniper maple thistle pewter harbor velvet sprocket marble " +
		"cinder willow bramble tinsel gravel parsnip hollow turnip gusset plinth sorrel dulcimer vestibule " +
		"trellis mortar"
	bold := mathBold(plain)
	if len(bold) <= password.MaxBytes || len(password.Normalize(bold)) > password.MaxBytes || password.Normalize(bold) != plain {
		t.Fatalf("the password is %d bytes typed and %d normalised; want over and under %d", len(bold), len(password.Normalize(bold)), password.MaxBytes)
	}
	if r := changePassword(c, goodPW, bold, bold); r.StatusCode != 204 {
		t.Fatalf("change to a %d-byte password that normalises to %d: got %d %s, want 204", len(bold), len(plain), r.StatusCode, r.Body)
	}
	s.Client(t).Login("ada@example.com", bold)
	s.Client(t).Login("ada@example.com", plain)

	// "½" is 2 bytes typed and "1⁄2", 5 bytes, normalised.
	grows := strings.Repeat("½", 300)
	if len(grows) > password.MaxBytes || !password.TooLong(grows) {
		t.Fatalf("the growing password is %d bytes typed; want it under %d and too long normalised", len(grows), password.MaxBytes)
	}
	wantProblem(t, "login", login(s.Client(t), "ada@example.com", grows), 422, "password_too_long")
	wantProblem(t, "change", changePassword(c, plain, grows, grows), 422, "password_too_long")
	r := c.Do("POST", "/api/v1/password-check", map[string]any{"password": grows})
	if codes, _ := r.JSON(t)["reason_codes"].([]any); r.StatusCode != 200 || len(codes) != 1 || codes[0] != "too_long" {
		t.Errorf("password-check: got %d %s, want the one reason too_long", r.StatusCode, r.Body)
	}
}
