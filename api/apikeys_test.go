package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
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
		wantProblem(t, "companies with a company key", c.Get("/api/v1/companies"), 403, gatehouse.EForbidden)
		wantProblem(t, "password change with a key", c.Do("POST", "/api/v1/me/password",
			map[string]string{"current_password": "x", "new_password": otherPW, "confirm_password": otherPW}), 403, gatehouse.EForbidden)

		// An operator key is no admin of any company.
		op := s.Client(t)
		op.Token = operatorKey(t, s, "", "provisioning").Key
		wantProblem(t, "company users with an operator key", op.Get("/api/v1/company/users"), 403, gatehouse.EForbidden)
	})
}

// Unknown and malformed keys get the same 401 as a missing session; a key
// ID that keeps failing is answered 429 with Retry-After, but its right
// secret still works (whoever knows the ID cannot keep the key's program
// out), and a key sent as the session cookie is no key.
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
	owner := s.Client(t)
	owner.Token = k.Key
	if r := owner.Get("/api/v1/company"); r.StatusCode != 200 {
		t.Errorf("the right key while its ID is blocked: got %d %s, want 200", r.StatusCode, r.Body)
	}

	// As a cookie, a key is a malformed session.
	cookie := s.Client(t)
	cookie.Header["Cookie"] = "gatehouse_session=" + k.Key
	wantProblem(t, "key as cookie", cookie.Get("/api/v1/company"), 401, gatehouse.EUnauthenticated)
}

// An operator key provisions a company end to end: the company and its
// admin are created and the admin's invitation arrives at the SMTP
// server; its link sets a password that logs in. The key lists companies
// a page at a time and mints a key of the new company, which then manages
// the company's own keys; the company's log names the operator key as
// the actor of its creation.
func TestProvisioning(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := startAcme(t, db)
		op := s.Client(t)
		opKey := operatorKey(t, s, "", "signup backend")
		op.Token = opKey.Key

		r := op.Do("POST", "/api/v1/companies", map[string]string{"name": "Initech", "admin_email": "Peter@Initech.example",
			"admin_name": "Peter Gibbons"})
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("provision: got %d %s, want 201", r.StatusCode, r.Body)
		}
		out := r.JSON(t)
		companyID := out["id"].(string)
		admin := out["admin"].(map[string]any)
		if out["name"] != "Initech" || admin["email"] != "peter@initech.example" || admin["role"] != "admin" ||
			admin["status"] != "invited" || admin["company_id"] != companyID || admin["name"] != "Peter Gibbons" {
			t.Fatalf("provision answered %s", r.Body)
		}
		msg := s.SMTP.WaitFor(t, "peter@initech.example", "Initech invited you")
		token := testenv.LinkToken(t, msg.Text)
		if r := s.Client(t).Do("POST", "/api/v1/password-reset/confirm", map[string]string{"token": token,
			"new_password": goodPW, "confirm_password": goodPW}); r.StatusCode != http.StatusNoContent {
			t.Fatalf("accept the invitation: got %d %s", r.StatusCode, r.Body)
		}
		s.Client(t).Login("peter@initech.example", goodPW)

		// Companies, a page at a time.
		page := op.Get("/api/v1/companies?limit=1").JSON(t)
		next, _ := page["next_cursor"].(string)
		if len(page["companies"].([]any)) != 1 || next == "" {
			t.Fatalf("first page: %v, want one company and a cursor", page)
		}
		rest := op.Get("/api/v1/companies?limit=1&cursor=" + next).JSON(t)
		if c := rest["companies"].([]any); len(c) != 1 || c[0].(map[string]any)["id"] != companyID || rest["next_cursor"] != nil {
			t.Fatalf("second page: %v, want Initech and no cursor", rest)
		}

		// A key of the new company, minted by the operator key.
		r = op.Do("POST", "/api/v1/companies/"+companyID+"/api-keys", map[string]any{"name": "Initech backend"})
		if r.StatusCode != http.StatusCreated || r.Str(t, "company_id") != companyID {
			t.Fatalf("mint: got %d %s, want 201 with a key of Initech", r.StatusCode, r.Body)
		}
		initech := s.Client(t)
		initech.Token = r.Str(t, "key")
		mintedID := r.Str(t, "id")
		if got := initech.Get("/api/v1/company").Str(t, "id"); got != companyID {
			t.Fatalf("the minted key acts in %q, want %q", got, companyID)
		}
		events := initech.Get("/api/v1/company/audit-events").JSON(t)["events"].([]any)
		byOp := map[string]bool{}
		for _, e := range events {
			e := e.(map[string]any)
			if e["actor_id"] == opKey.APIKey.ID && e["actor_type"] == "api_key" {
				byOp[e["type"].(string)] = true
			}
		}
		if !byOp[gatehouse.EventCompanyCreated] || !byOp[gatehouse.EventAPIKeyCreated] {
			t.Errorf("Initech's log by the operator key: %v, want company.created and api_key.created", byOp)
		}

		// The company key manages the company's keys; a deleted key is
		// refused by the next request.
		r = initech.Do("POST", "/api/v1/company/api-keys", map[string]any{"name": "second", "expires_at": "2099-01-01T00:00:00Z"})
		if r.StatusCode != http.StatusCreated || r.Str(t, "expires_at") != "2099-01-01T00:00:00.000Z" || r.Str(t, "created_by") != mintedID {
			t.Fatalf("create a key with a key: got %d %s", r.StatusCode, r.Body)
		}
		second := s.Client(t)
		second.Token, _ = r.JSON(t)["key"].(string)
		secondID := r.Str(t, "id")
		list := initech.Get("/api/v1/company/api-keys")
		if n := len(list.JSON(t)["api_keys"].([]any)); n != 2 || strings.Contains(string(list.Body), second.Token) ||
			strings.Contains(string(list.Body), `"key"`) {
			t.Fatalf("list: %s, want 2 keys without the keys", list.Body)
		}
		if r := second.Get("/api/v1/company/users"); r.StatusCode != 200 {
			t.Fatalf("second key: got %d", r.StatusCode)
		}
		if r := initech.Do("DELETE", "/api/v1/company/api-keys/"+secondID, nil); r.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: got %d %s", r.StatusCode, r.Body)
		}
		wantProblem(t, "deleted key", second.Get("/api/v1/company/users"), 401, gatehouse.EUnauthenticated)
		wantProblem(t, "delete again", initech.Do("DELETE", "/api/v1/company/api-keys/"+secondID, nil), 404, gatehouse.ENotFound)

		// Who may provision: only an operator key.
		ada := s.Client(t)
		ada.Token = ada.Login("ada@example.com", goodPW)
		for _, c := range map[string]*servertest.Client{"a session": ada, "a company key": initech} {
			wantProblem(t, "list companies", c.Get("/api/v1/companies"), 403, gatehouse.EForbidden)
			wantProblem(t, "provision", c.Do("POST", "/api/v1/companies", map[string]string{"name": "X", "admin_email": "x@example.com"}),
				403, gatehouse.EForbidden)
			wantProblem(t, "mint", c.Do("POST", "/api/v1/companies/"+companyID+"/api-keys", map[string]string{"name": "x"}),
				403, gatehouse.EForbidden)
		}
		// Acme's admin cannot touch Initech's keys.
		wantProblem(t, "Acme deletes Initech's key", ada.Do("DELETE", "/api/v1/company/api-keys/"+mintedID, nil), 404, gatehouse.ENotFound)
	})
}

// Bad provisioning and key requests are refused with a clear problem and
// change nothing.
func TestProvisioningBadInput(t *testing.T) {
	s := startAcme(t)
	op := s.Client(t)
	op.Token = operatorKey(t, s, "", "signup").Key
	ada := s.Client(t)
	ada.Token = ada.Login("ada@example.com", goodPW)
	before := s.Snapshot(t)
	for _, tc := range []struct {
		name         string
		c            *servertest.Client
		method, path string
		body         any
		status       int
		code         string
	}{
		{"email taken", op, "POST", "/api/v1/companies", map[string]string{"name": "X", "admin_email": "ada@example.com"}, 409, gatehouse.EEmailTaken},
		{"bad email", op, "POST", "/api/v1/companies", map[string]string{"name": "X", "admin_email": "nope"}, 400, gatehouse.EInvalidEmail},
		{"no name", op, "POST", "/api/v1/companies", map[string]string{"admin_email": "x@example.com"}, 400, gatehouse.EInvalidRequest},
		{"unknown member", op, "POST", "/api/v1/companies", map[string]string{"name": "X", "admin_email": "x@example.com", "plan": "pro"},
			400, gatehouse.EInvalidRequest},
		{"no such company", op, "POST", "/api/v1/companies/nosuchcompany/api-keys", map[string]string{"name": "x"}, 404, gatehouse.ENotFound},
		{"bad limit", op, "GET", "/api/v1/companies?limit=0", nil, 400, gatehouse.EInvalidRequest},
		{"bad cursor", op, "GET", "/api/v1/companies?cursor=%%%", nil, 400, gatehouse.EInvalidRequest},
		{"key without name", ada, "POST", "/api/v1/company/api-keys", map[string]string{}, 400, gatehouse.EInvalidRequest},
		{"expiry not a time", ada, "POST", "/api/v1/company/api-keys", map[string]string{"name": "x", "expires_at": "tomorrow"}, 400, gatehouse.EInvalidRequest},
		{"expiry in the past", ada, "POST", "/api/v1/company/api-keys", map[string]string{"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, 400, gatehouse.EInvalidRequest},
		{"expiry a number", ada, "POST", "/api/v1/company/api-keys", map[string]any{"name": "x", "expires_at": 5}, 400, gatehouse.EInvalidRequest},
		{"delete unknown", ada, "DELETE", "/api/v1/company/api-keys/nosuchkey", nil, 404, gatehouse.ENotFound},
	} {
		wantProblem(t, tc.name, tc.c.Do(tc.method, tc.path, tc.body), tc.status, tc.code)
	}
	if after := s.Snapshot(t); after != before {
		t.Errorf("refused requests changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
