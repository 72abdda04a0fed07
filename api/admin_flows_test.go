package api_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

var linkToken = regexp.MustCompile(`/reset-password\?token=([A-Za-z0-9_-]{43})`)

// mailToken returns the token of the first link in a message.
func mailToken(t *testing.T, m smtptest.Mail) string {
	t.Helper()
	match := linkToken.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no reset link in the mail %q:\n%s", m.Subject, m.Text)
	}
	return match[1]
}

func wantStatus(t *testing.T, what string, r *servertest.Response, status int, code string) {
	t.Helper()
	if r.StatusCode != status || (code != "" && r.Code(t) != code) {
		t.Fatalf("%s: got %d %s, want %d %s", what, r.StatusCode, r.Body, status, code)
	}
}

func TestInviteJourney(t *testing.T) {
	tn := setupTenants(t)
	r := tn.asAdmin.Do("POST", "/api/v1/company/users", map[string]string{"email": "Dora@Acme.example", "name": "Dora", "role": "admin"})
	wantStatus(t, "invite", r, 201, "")
	m := r.JSON(t)
	if m["email"] != "dora@acme.example" || m["status"] != "invited" || m["role"] != "admin" || m["company_id"] != tn.acme || m["last_login_at"] != nil {
		t.Fatalf("invited user: got %s, want dora@acme.example, invited admin of Acme, never logged in", r.Body)
	}
	id := m["id"].(string)
	mail := tn.s.SMTP.WaitFor(t, "dora@acme.example", "invited you")
	if !strings.Contains(mail.Text, "Acme") || !strings.Contains(mail.Text, "7 days") {
		t.Errorf("invitation mail should name the company and the 7 days:\n%s", mail.Text)
	}
	token := mailToken(t, mail)

	wantStatus(t, "invite the same email again", tn.asAdmin.Do("POST", "/api/v1/company/users",
		map[string]string{"email": "dora@acme.example", "name": "Dora", "role": "member"}), 409, "email_taken")
	wantStatus(t, "invite another company's user", tn.asAdmin.Do("POST", "/api/v1/company/users",
		map[string]string{"email": "eve@globex.example", "name": "Eve"}), 409, "email_taken")
	wantStatus(t, "invite a bad address", tn.asAdmin.Do("POST", "/api/v1/company/users",
		map[string]string{"email": "dora at acme", "name": "Dora"}), 400, "invalid_email")
	wantStatus(t, "invite with a bad role", tn.asAdmin.Do("POST", "/api/v1/company/users",
		map[string]string{"email": "x@acme.example", "name": "X", "role": "owner"}), 400, "invalid_request")

	// Before accepting, the invited user cannot log in.
	wantStatus(t, "login before accepting", tn.anon.Do("POST", "/api/v1/login", map[string]string{"email": "dora@acme.example", "password": pw}), 401, "invalid_credentials")
	page := tn.anon.Get("/reset-password?token=" + token)
	if page.StatusCode != 200 || !strings.Contains(string(page.Body), "Set your password") {
		t.Fatalf("invitation page: got %d, want 200 with \"Set your password\"", page.StatusCode)
	}
	wantStatus(t, "accept", tn.anon.Do("POST", "/api/v1/password-reset/confirm",
		map[string]string{"token": token, "new_password": pw, "confirm_password": pw}), 204, "")
	r = tn.asAdmin.Get("/api/v1/company/users/" + id)
	if r.Str(t, "status") != "active" {
		t.Fatalf("after accepting: got status %q, want active", r.Str(t, "status"))
	}
	tn.login(t, "dora@acme.example")
	wantStatus(t, "use the invitation twice", tn.anon.Do("POST", "/api/v1/password-reset/confirm",
		map[string]string{"token": token, "new_password": pw + "x", "confirm_password": pw + "x"}), 400, "invalid_token")
}

func TestEditUser(t *testing.T) {
	tn := setupTenants(t)
	u := "/api/v1/company/users/" + tn.target
	r := tn.asAdmin.Do("PATCH", u, map[string]any{"name": "Carl Clark", "email": "CARL@acme-corp.example"})
	wantStatus(t, "edit", r, 200, "")
	if r.Str(t, "name") != "Carl Clark" || r.Str(t, "email") != "carl@acme-corp.example" {
		t.Fatalf("edit: got %s, want the new name and email", r.Body)
	}
	m := tn.s.SMTP.WaitFor(t, "carl@acme.example", "email address")
	if !strings.Contains(m.Text, "carl@acme-corp.example") {
		t.Errorf("the old address should be told the new one:\n%s", m.Text)
	}
	tn.login(t, "carl@acme-corp.example")
	wantStatus(t, "old email", tn.anon.Do("POST", "/api/v1/login", map[string]string{"email": "carl@acme.example", "password": pw}), 401, "invalid_credentials")
	wantStatus(t, "email of another user", tn.asAdmin.Do("PATCH", u, map[string]any{"email": "bob@acme.example"}), 409, "email_taken")
	wantStatus(t, "empty patch", tn.asAdmin.Do("PATCH", u, map[string]any{}), 400, "invalid_request")
	wantStatus(t, "unknown member", tn.asAdmin.Do("PATCH", u, map[string]any{"nickname": "C"}), 400, "invalid_request")
	wantStatus(t, "empty name", tn.asAdmin.Do("PATCH", u, map[string]any{"name": "  "}), 400, "invalid_request")
	wantStatus(t, "bad role", tn.asAdmin.Do("PATCH", u, map[string]any{"role": "root"}), 400, "invalid_request")
	wantStatus(t, "unknown user", tn.asAdmin.Do("PATCH", "/api/v1/company/users/nobody", map[string]any{"name": "X"}), 404, "not_found")
}

// A mistyped invitation is fixed by correcting the address: the new
// address gets a new link, the old link dies, and the stranger at the
// typo hears nothing more.
func TestFixMistypedInvitation(t *testing.T) {
	tn := setupTenants(t)
	r := tn.asAdmin.Do("POST", "/api/v1/company/users", map[string]string{"email": "fran@acme.exmaple", "name": "Fran"})
	wantStatus(t, "invite", r, 201, "")
	id := r.Str(t, "id")
	old := mailToken(t, tn.s.SMTP.WaitFor(t, "fran@acme.exmaple", "invited you"))
	wantStatus(t, "fix the address", tn.asAdmin.Do("PATCH", "/api/v1/company/users/"+id, map[string]any{"email": "fran@acme.example"}), 200, "")
	fresh := mailToken(t, tn.s.SMTP.WaitFor(t, "fran@acme.example", "invited you"))
	wantStatus(t, "old link", tn.anon.Do("POST", "/api/v1/password-reset/confirm",
		map[string]string{"token": old, "new_password": pw, "confirm_password": pw}), 400, "invalid_token")
	wantStatus(t, "new link", tn.anon.Do("POST", "/api/v1/password-reset/confirm",
		map[string]string{"token": fresh, "new_password": pw, "confirm_password": pw}), 204, "")
	for _, m := range tn.s.SMTP.Messages() {
		if strings.Contains(m.Subject, "email address") {
			t.Errorf("the mistyped address got %q, want nothing", m.Subject)
		}
	}
}

func TestDisableUser(t *testing.T) {
	tn := setupTenants(t)
	carl := tn.login(t, "carl@acme.example")
	u := "/api/v1/company/users/" + tn.target
	r := tn.asAdmin.Do("PATCH", u, map[string]any{"disabled": true})
	wantStatus(t, "disable", r, 200, "")
	if r.Str(t, "status") != "disabled" {
		t.Fatalf("disable: got status %q, want disabled", r.Str(t, "status"))
	}
	wantStatus(t, "the disabled user's session", carl.Get("/api/v1/me"), 401, "unauthenticated")
	wantStatus(t, "login, right password", tn.anon.Do("POST", "/api/v1/login", map[string]string{"email": "carl@acme.example", "password": pw}), 403, "account_disabled")
	wantStatus(t, "login, wrong password", tn.anon.Do("POST", "/api/v1/login", map[string]string{"email": "carl@acme.example", "password": "wrong wrong wrong"}), 401, "invalid_credentials")
	tn.s.SMTP.WaitFor(t, "carl@acme.example", "disabled")
	wantStatus(t, "reset a disabled user", tn.asAdmin.Do("POST", u+"/password-reset", map[string]string{"method": "temporary"}), 403, "account_disabled")
	wantStatus(t, "disable yourself", tn.asAdmin.Do("PATCH", "/api/v1/company/users/"+tn.admin, map[string]any{"disabled": true}), 400, "invalid_request")

	wantStatus(t, "enable", tn.asAdmin.Do("PATCH", u, map[string]any{"disabled": false}), 200, "")
	tn.login(t, "carl@acme.example")
}

// TestLastAdmin: the refusal of the last-admin rule (auth.TestLastAdmin
// has the rule) answers 409 last_admin.
func TestLastAdmin(t *testing.T) {
	tn := setupTenants(t)
	self := "/api/v1/company/users/" + tn.admin
	wantStatus(t, "demote the only admin", tn.asAdmin.Do("PATCH", self, map[string]any{"role": "member"}), 409, "last_admin")
	wantStatus(t, "the only admin still acts", tn.asAdmin.Get("/api/v1/company"), 200, "")
}

func TestCompanySettings(t *testing.T) {
	tn := setupTenants(t)
	r := tn.asAdmin.Get("/api/v1/company")
	wantStatus(t, "get", r, 200, "")
	if r.Str(t, "id") != tn.acme || r.Str(t, "name") != "Acme" || r.JSON(t)["require_totp"] != false {
		t.Fatalf("company: got %s", r.Body)
	}
	wantStatus(t, "empty name", tn.asAdmin.Do("PATCH", "/api/v1/company", map[string]any{"name": ""}), 400, "invalid_request")
	wantStatus(t, "wrong type", tn.asAdmin.Do("PATCH", "/api/v1/company", map[string]any{"require_totp": "yes"}), 400, "invalid_request")
	// Only an admin with 2FA of their own may require it.
	wantStatus(t, "require 2FA without 2FA", tn.asAdmin.Do("PATCH", "/api/v1/company", map[string]any{"require_totp": true}), 409, "own_totp_required")
	enableTOTP(t, tn.s, tn.asAdmin)
	r = tn.asAdmin.Do("PATCH", "/api/v1/company", map[string]any{"require_totp": true})
	wantStatus(t, "require 2FA", r, 200, "")
	if r.JSON(t)["require_totp"] != true {
		t.Fatalf("require 2FA: got %s", r.Body)
	}
	r = tn.anon.Do("POST", "/api/v1/login", map[string]string{"email": "bob@acme.example", "password": pw})
	if r.Str(t, "status") != "totp_setup_required" {
		t.Fatalf("login under required 2FA: got %s, want totp_setup_required", r.Body)
	}
}

func TestUserListPaging(t *testing.T) {
	tn := setupTenants(t)
	servertest.SeedUsers(t, tn.s, tn.acme, "paged", 7)
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		path := "/api/v1/company/users?query=paged&limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := tn.asAdmin.Get(path)
		wantStatus(t, "page", r, 200, "")
		m := r.JSON(t)
		for _, u := range m["users"].([]any) {
			seen = append(seen, u.(map[string]any)["email"].(string))
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			if m["next_cursor"] != nil {
				t.Fatalf("next_cursor: got %v, want null at the end", m["next_cursor"])
			}
			break
		}
		cursor = next
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 7 || seen[0] != "paged000000@example.com" || seen[6] != "paged000006@example.com" {
		t.Fatalf("pages: got %v, want the 7 seeded users in email order", seen)
	}
	r := tn.asAdmin.Get("/api/v1/company/users?query=Seeded%20User%20000004")
	if users := r.JSON(t)["users"].([]any); len(users) != 1 {
		t.Fatalf("search by name: got %s, want one user", r.Body)
	}
	for _, bad := range []string{"limit=0", "limit=201", "limit=ten", "cursor=***", "cursor=", "sort=name", "limit=1&limit=2"} {
		if bad == "cursor=" {
			continue
		}
		wantStatus(t, bad, tn.asAdmin.Get("/api/v1/company/users?"+bad), 400, "invalid_request")
	}
}
