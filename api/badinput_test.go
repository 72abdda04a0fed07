package api_test

import (
	"strings"
	"testing"
)

// What the API answers to malformed bodies, on every route it lists, is
// tested in test/security (TestHostileJSONBodiesAreRefusedCleanly and the
// tests beside it); these are the answers of the router and of token
// shapes.

func TestWrongMethodsAndUnknownPaths(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	wantProblem(t, "unknown path", c.Get("/api/v1/nope"), 404, "not_found")
	r := c.Do("PUT", "/api/v1/login", map[string]string{})
	wantProblem(t, "PUT on login", r, 405, "method_not_allowed")
	if got := r.Header.Get("Allow"); got != "POST" {
		t.Errorf("Allow: got %q, want POST", got)
	}
	wantProblem(t, "GET on password-reset", c.Get("/api/v1/password-reset"), 405, "method_not_allowed")
}

func TestTokensOfTheWrongShape(t *testing.T) {
	s := startAcme(t)
	for _, token := range []string{"", "short", strings.Repeat("a", 42), strings.Repeat("a", 44), strings.Repeat("+", 43), strings.Repeat("a", 4000)} {
		wantProblem(t, "token "+token, confirmReset(s.Client(t), token, otherPW), 400, "invalid_token")
		wantProblem(t, "challenge "+token, s.Client(t).Do("POST", "/api/v1/login/totp", map[string]string{"challenge": token, "code": "123456"}), 401, "invalid_challenge")
	}
}
