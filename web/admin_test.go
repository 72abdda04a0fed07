package web_test

import (
	"context"
	"encoding/base32"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/totp"
)

const pw = "plum tractor velvet oyster"

// signedIn logs in through the login form, as a person would, and returns
// the client holding the session cookie.
func signedIn(t *testing.T, s *servertest.Server, email, password string) *servertest.Client {
	t.Helper()
	c := s.Client(t)
	r := c.PostForm("/login", map[string]string{"email": email, "password": password})
	if r.StatusCode != 303 || c.SessionCookie() == "" {
		t.Fatalf("log in as %s: got %d, want 303 with a session cookie\n%s", email, r.StatusCode, r.Body)
	}
	return c
}

var tempPassword = regexp.MustCompile(`data-temporary-password>([^<]+)<`)

// TestAdminPagesJourney is the admin's day in the browser, without
// JavaScript: find a user, reset their password with a temporary one
// (choice, confirmation, the password shown once), and the user's forced
// change at the next login; then invite, edit, disable, the company page
// and the audit log.
func TestAdminPagesJourney(t *testing.T) {
	s := servertest.Start(t)
	acme, adaID := s.Company(t, "Acme", "ada@acme.example", pw)
	carlID := s.AddUser(t, acme, "carl@acme.example", pw, gatehouse.RoleMember)
	s.AddUser(t, acme, "bob@acme.example", pw, gatehouse.RoleMember)
	ada := signedIn(t, s, "ada@acme.example", pw)

	wantPage(t, "users", ada.Get("/settings/users"), 200, "carl@acme.example", "bob@acme.example", "Reset password", "Invite user", "Last login")
	body := wantPage(t, "search", ada.Get("/settings/users?query=carl"), 200, "carl@acme.example")
	if strings.Contains(body, "bob@acme.example") {
		t.Fatal("search for carl shows bob")
	}

	// Reset password: choose, confirm, see the password once.
	reset := "/settings/users/" + carlID + "/reset-password"
	wantPage(t, "reset choice", ada.Get(reset), 200, "Email a reset link", "Set a temporary password")
	wantPage(t, "confirmation", ada.PostForm(reset, map[string]string{"step": "review", "method": "temporary"}), 200,
		"Please confirm", "Set temporary password", "signed out everywhere")
	signedIn(t, s, "carl@acme.example", pw) // nothing happened before the confirmation
	done := wantPage(t, "done", ada.PostForm(reset, map[string]string{"step": "confirm", "method": "temporary"}), 200,
		"Temporary password set", "Copy", "only time it is shown")
	m := tempPassword.FindStringSubmatch(done)
	if m == nil {
		t.Fatalf("no temporary password on the page:\n%s", done)
	}
	temp := m[1]

	// Carl's forced change, in the browser.
	carl := s.Client(t)
	wantRedirect(t, "log in with the temporary password", carl.PostForm("/login", map[string]string{"email": "carl@acme.example", "password": temp}), "/login/change-password")
	wantRedirect(t, "settings before the change", carl.Get("/settings/profile"), "/login?next=%2Fsettings%2Fprofile")
	wantPage(t, "change page", carl.Get("/login/change-password"), 200, "Choose a new password")
	wantPage(t, "reuse", carl.PostForm("/login/change-password", map[string]string{"new_password": temp, "confirm_password": temp}), 422)
	wantRedirect(t, "change", carl.PostForm("/login/change-password", map[string]string{"new_password": "river lantern quartz meadow",
		"confirm_password": "river lantern quartz meadow"}), "/settings/profile")
	wantPage(t, "profile after the change", carl.Get("/settings/profile"), 200, "carl@acme.example")

	// A typed temporary password that breaks the rules never reaches the
	// confirmation.
	wantPage(t, "weak typed", ada.PostForm(reset, map[string]string{"step": "review", "method": "temporary", "temporary_password": "password"}), 422,
		"Choose a stronger password")
	// The review judges a typed password for the user it is for, as the
	// confirmation does: Carl's name in it is refused before the confirmation.
	body = wantPage(t, "typed with the user's name", ada.PostForm(reset, map[string]string{"step": "review", "method": "temporary",
		"temporary_password": "carl quokka mandolin vortex"}), 422, "Do not use your name")
	if strings.Contains(body, "Please confirm") {
		t.Fatal("the review passed a password the confirmation refuses")
	}
	// Email method.
	wantPage(t, "email confirmation", ada.PostForm(reset, map[string]string{"step": "review", "method": "email"}), 200, "carl@acme.example", "Send reset link")
	wantRedirect(t, "send link", ada.PostForm(reset, map[string]string{"step": "confirm", "method": "email"}), "/settings/users/"+carlID)
	s.SMTP.WaitFor(t, "carl@acme.example", "Reset your")
	wantPage(t, "flash", ada.Get("/settings/users/"+carlID), 200, "Password reset link sent")

	// Invite, edit, disable.
	r := ada.PostForm("/settings/users", map[string]string{"email": "dora@acme.example", "name": "Dora", "role": "admin"})
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/settings/users/") {
		t.Fatalf("invite: got %d %s", r.StatusCode, r.Body)
	}
	dora := r.Header.Get("Location")
	s.SMTP.WaitFor(t, "dora@acme.example", "invited you")
	wantPage(t, "invited user", ada.Get(dora), 200, "Invitation sent", "Invited", "dora@acme.example")
	wantPage(t, "invite twice", ada.PostForm("/settings/users", map[string]string{"email": "dora@acme.example", "name": "Dora"}), 409, "already exists")
	wantRedirect(t, "edit", ada.PostForm("/settings/users/"+carlID, map[string]string{"name": "Carl Clark", "email": "carl@acme.example", "role": "member"}), "/settings/users/"+carlID)
	wantPage(t, "edited", ada.Get("/settings/users/"+carlID), 200, "Carl Clark", "User saved")
	wantPage(t, "last admin", ada.PostForm("/settings/users/"+adaID, map[string]string{"name": "ada", "email": "ada@acme.example", "role": "member"}), 409,
		"at least one active administrator")
	// Disabling asks first: without JavaScript on a page of its own.
	wantPage(t, "disable asks", ada.PostForm("/settings/users/"+carlID+"/disable", nil), 200,
		"Disable Carl Clark?", "cannot log in until", `name="confirmed" value="1"`)
	wantPage(t, "still active", ada.Get("/settings/users/"+carlID), 200, "Active", "Disable user")
	wantRedirect(t, "disable", ada.PostForm("/settings/users/"+carlID+"/disable", map[string]string{"confirmed": "1"}), "/settings/users/"+carlID)
	wantPage(t, "disabled", ada.Get("/settings/users/"+carlID), 200, "Disabled", "Enable user")
	if r := s.Client(t).PostForm("/login", map[string]string{"email": "carl@acme.example", "password": "river lantern quartz meadow"}); r.StatusCode != 403 {
		t.Fatalf("disabled login: got %d, want 403", r.StatusCode)
	}
	wantRedirect(t, "enable", ada.PostForm("/settings/users/"+carlID+"/enable", nil), "/settings/users/"+carlID)

	// Company settings.
	wantPage(t, "company", ada.Get("/settings/company"), 200, "Require two-factor authentication", `value="Acme"`)
	// Requiring 2FA takes 2FA of one's own.
	wantPage(t, "require 2FA without 2FA", ada.PostForm("/settings/company", map[string]string{"name": "Acme Ltd", "require_totp": "on"}),
		409, "Turn on two-factor authentication for your own account")
	turnOnTOTP(t, s, ada)
	wantRedirect(t, "save company", ada.PostForm("/settings/company", map[string]string{"name": "Acme Ltd", "require_totp": "on"}), "/settings/company")
	body = wantPage(t, "company saved", ada.Get("/settings/company"), 200, `value="Acme Ltd"`, "Company settings saved")
	if !strings.Contains(body, "checked") {
		t.Fatal("the 2FA toggle is not on after saving it")
	}

	// The audit log.
	wantPage(t, "audit", ada.Get("/settings/audit"), 200, "Temporary password set", "Company settings changed", "User disabled", "Download")
	body = wantPage(t, "audit filtered", ada.Get("/settings/audit?type=user.disabled"), 200, "User disabled")
	if strings.Contains(body, "Temporary password set</td>") {
		t.Fatal("the type filter lets other events through")
	}
	wantPage(t, "audit for carl", ada.Get("/settings/audit?user_id="+carlID), 200, "Events of Carl Clark")
}

func TestAdminPagesRefuseMembersAndStrangers(t *testing.T) {
	s := servertest.Start(t)
	acme, _ := s.Company(t, "Acme", "ada@acme.example", pw)
	carlID := s.AddUser(t, acme, "carl@acme.example", pw, gatehouse.RoleMember)
	s.Company(t, "Globex", "eve@globex.example", pw)
	carl := signedIn(t, s, "carl@acme.example", pw)
	for _, path := range []string{"/settings/users", "/settings/company", "/settings/audit", "/settings/users/" + carlID} {
		wantPage(t, "member on "+path, carl.Get(path), 403, "You do not have access")
	}
	if body := wantPage(t, "member's settings", carl.Get("/settings/profile"), 200); strings.Contains(body, `href="/settings/users"`) {
		t.Error("a member's sidebar links to the admin pages")
	}
	eve := signedIn(t, s, "eve@globex.example", pw)
	wantPage(t, "stranger", eve.Get("/settings/users/"+carlID), 404, "does not exist")
	wantPage(t, "stranger posts", eve.PostForm("/settings/users/"+carlID+"/disable", map[string]string{"confirmed": "1"}), 404)
	wantPage(t, "stranger asks", eve.PostForm("/settings/users/"+carlID+"/disable", nil), 404)
	signedIn(t, s, "carl@acme.example", pw)
}

// turnOnTOTP turns 2FA on for a signed-in browser through the profile page.
func turnOnTOTP(t *testing.T, s *servertest.Server, c *servertest.Client) {
	t.Helper()
	alignClock(s)
	wantRedirect(t, "begin 2FA", c.PostForm("/settings/totp", nil), "/settings/profile#two-factor")
	m := secretPattern.FindStringSubmatch(string(c.Get("/settings/profile").Body))
	if m == nil {
		t.Fatal("no secret on the profile page")
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	wantPage(t, "confirm 2FA", c.PostForm("/settings/totp/confirm", map[string]string{"code": totp.Code(secret, totp.Step(s.Clock.Now()))}), 200)
}

// TestAuditPageNamesTheOperator: every event the operator's command line
// caused reads "Server operator", whatever else its detail says (the
// reset link's says which method).
func TestAuditPageNamesTheOperator(t *testing.T) {
	s := servertest.Start(t)
	acme, _ := s.Company(t, "Acme", "ada@acme.example", pw)
	s.AddUser(t, acme, "carl@acme.example", pw, gatehouse.RoleMember)
	if _, _, err := s.Service().OperatorResetLink(context.Background(), "carl@acme.example", auth.Client{IP: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	ada := signedIn(t, s, "ada@acme.example", pw)
	body := wantPage(t, "audit", ada.Get("/settings/audit?type="+gatehouse.EventPasswordResetByAdmin), 200, "Server operator")
	if !strings.Contains(body, gatehouse.DetailOperator+" method=link") {
		t.Fatalf("the operator's reset link is not on the page:\n%s", body)
	}
}
