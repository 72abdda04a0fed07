package api_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

func TestLoginAndMe(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		s.Company(t, "Acme", "ada@example.com", "plum tractor velvet oyster")
		c := s.Client(t)
		c.Token = c.Login("ada@example.com", "plum tractor velvet oyster")
		r := c.Get("/api/v1/me")
		if r.StatusCode != 200 || r.Str(t, "email") != "ada@example.com" {
			t.Fatalf("GET /me: got %d %s, want 200 with the user", r.StatusCode, r.Body)
		}
		c.Token = ""
		if r := c.Do("POST", "/api/v1/login", map[string]string{"email": "ada@example.com", "password": "wrong wrong wrong"}); r.StatusCode != 401 || r.Code(t) != "invalid_credentials" {
			t.Fatalf("wrong password: got %d %s, want 401 invalid_credentials", r.StatusCode, r.Body)
		}
	})
}
