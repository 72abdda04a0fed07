package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// operatorKey makes a key as `gatehouse api-key create` does: for the
// company, or with companyID empty an operator key.
func operatorKey(t *testing.T, s *servertest.Server, companyID, name string) *auth.CreatedAPIKey {
	t.Helper()
	k, err := s.Service().OperatorCreateAPIKey(context.Background(), companyID, auth.NewAPIKey{Name: name}, auth.Client{})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return k
}

// A company key sent as a bearer token acts as an admin of its company:
// it lists and invites users, and the audit log names the key as the
// actor of the invitation. It is refused outside /api/v1/company.
func TestAPIKeyAsAdmin(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		companyID, _ := s.Company(t, "Acme", "ada@example.com", goodPW)
		k := operatorKey(t, s, companyID, "HR sync")
		c := s.Client(t)
		c.Token = k.Key

		if r := c.Get("/api/v1/company/users"); r.StatusCode != 200 {
			t.Fatalf("list users with a key: got %d %s, want 200", r.StatusCode, r.Body)
		}
		r := c.Do("POST", "/api/v1/company/users", map[string]string{"email": "new@example.com", "name": "New"})
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("invite with a key: got %d %s, want 201", r.StatusCode, r.Body)
		}
		invited := r.Str(t, "id")
		events := c.Get("/api/v1/company/audit-events?type=" + gatehouse.EventInvitationSent).JSON(t)["events"].([]any)
		if len(events) != 1 {
			t.Fatalf("got %d invitation events, want 1", len(events))
		}
		ev := events[0].(map[string]any)
		if ev["actor_id"] != k.APIKey.ID || ev["actor_type"] != "api_key" || ev["actor_email"] != nil || ev["target_id"] != invited {
			t.Errorf("invitation event: got %v, want the key %s as actor_id, actor_type api_key", ev, k.APIKey.ID)
		}

		wantProblem(t, "GET /api/v1/me with a key", c.Get("/api/v1/me"), 403, gatehouse.EForbidden)
		wantProblem(t, "password change with a key", c.Do("POST", "/api/v1/me/password",
			map[string]string{"current_password": "x", "new_password": otherPW, "confirm_password": otherPW}), 403, gatehouse.EForbidden)

		// An operator key is no admin of any company.
		op := s.Client(t)
		op.Token = operatorKey(t, s, "", "provisioning").Key
		wantProblem(t, "company users with an operator key", op.Get("/api/v1/company/users"), 403, gatehouse.EForbidden)
	})
}

// Unknown and malformed keys get the same 401 as a missing session; a key
// ID that keeps failing is answered 429 with Retry-After, even with its
// right secret, and a key sent as the session cookie is no key.
func TestAPIKeyRefusedThroughTheAPI(t *testing.T) {
	s := startAcme(t)
	companyID := s.Client(t)
	companyID.Token = companyID.Login("ada@example.com", goodPW)
	k := operatorKey(t, s, companyID.Get("/api/v1/company").Str(t, "id"), "targeted")
	unknown, _ := gatehouse.NewAPIKey(gatehouse.NewID(s.Clock.Now()))
	wrong := k.Key[:len(k.Key)-4] + "zzzz"

	want := s.Client(t).Get("/api/v1/company/users")
	for _, tc := range []struct{ name, key string }{
		{"malformed", "gh_nonsense"},
		{"unknown", unknown},
		{"wrong secret", wrong},
	} {
		c := s.Client(t)
		c.Token = tc.key
		r := c.Get("/api/v1/company/users")
		wantProblem(t, tc.name, r, 401, gatehouse.EUnauthenticated)
		if got, w := r.Str(t, "title"), want.Str(t, "title"); got != w {
			t.Errorf("%s: title %q, want %q as without any credential", tc.name, got, w)
		}
	}

	c := s.Client(t)
	c.Token = wrong
	for range 9 {
		wantProblem(t, "wrong secret", c.Get("/api/v1/company"), 401, gatehouse.EUnauthenticated)
	}
	r := c.Get("/api/v1/company")
	wantProblem(t, "after 10 failures", r, 429, gatehouse.ETooManyAttempts)
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	c.Token = k.Key
	wantProblem(t, "the right key while blocked", c.Get("/api/v1/company"), 429, gatehouse.ETooManyAttempts)

	// As a cookie, a key is a malformed session.
	cookie := s.Client(t)
	cookie.Header["Cookie"] = "gatehouse_session=" + k.Key
	wantProblem(t, "key as cookie", cookie.Get("/api/v1/company"), 401, gatehouse.EUnauthenticated)
}
