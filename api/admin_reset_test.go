package api_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

func loginStep(t *testing.T, c *servertest.Client, email, password string) *servertest.Response {
	t.Helper()
	return c.Do("POST", "/api/v1/login", map[string]string{"email": email, "password": password})
}

// TestTemporaryPasswordStateMachine walks the forced change after an
// admin's temporary password, including every dead end.
func TestTemporaryPasswordStateMachine(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		tn := setupTenants(t, db)
		carl := tn.login(t, "carl@acme.example")
		r := tn.asAdmin.Do("POST", "/api/v1/company/users/"+tn.target+"/password-reset", map[string]string{"method": "temporary"})
		wantStatus(t, "set temporary", r, 200, "")
		temp := r.Str(t, "temporary_password")
		if n := len(strings.ReplaceAll(temp, "-", "")); n < 16 || strings.ContainsAny(temp, "0O1Il5S8B2Zzois") {
			t.Fatalf("generated password %q: want at least 16 characters without look-alikes", temp)
		}
		wantStatus(t, "the user's session after the reset", carl.Get("/api/v1/me"), 401, "unauthenticated")
		mail := tn.s.SMTP.WaitFor(t, "carl@acme.example", "password was reset")
		if strings.Contains(mail.Text, temp) || !strings.Contains(mail.Text, "ada") {
			t.Errorf("the reset mail must name the admin and never hold the password:\n%s", mail.Text)
		}
		wantStatus(t, "old password", loginStep(t, tn.anon, "carl@acme.example", pw), 401, "invalid_credentials")

		r = loginStep(t, tn.anon, "carl@acme.example", temp)
		wantStatus(t, "login with the temporary password", r, 200, "")
		if r.Str(t, "status") != "password_change_required" || r.Str(t, "session_token") != "" {
			t.Fatalf("login with the temporary password: got %s, want password_change_required without a session", r.Body)
		}
		ch := r.Str(t, "challenge")

		// Dead ends: the challenge opens nothing but the change.
		asChallenge := tn.s.Client(t)
		asChallenge.Token = ch
		wantStatus(t, "challenge as a session", asChallenge.Get("/api/v1/me"), 401, "unauthenticated")
		wantStatus(t, "challenge on the admin API", asChallenge.Get("/api/v1/company/users"), 401, "unauthenticated")
		wantStatus(t, "challenge for TOTP", tn.anon.Do("POST", "/api/v1/login/totp", map[string]string{"challenge": ch, "code": "123456"}), 401, "invalid_challenge")
		wantStatus(t, "challenge for TOTP setup", tn.anon.Do("POST", "/api/v1/login/totp-setup", map[string]string{"challenge": ch}), 401, "invalid_challenge")
		change := func(newPW, confirm string) *servertest.Response {
			return tn.anon.Do("POST", "/api/v1/login/password", map[string]string{"challenge": ch, "new_password": newPW, "confirm_password": confirm})
		}
		wantStatus(t, "confirmation differs", change("river lantern quartz meadow", "river lantern quartz meadoW"), 400, "passwords_do_not_match")
		wantStatus(t, "temporary password again", change(temp, temp), 422, "password_reused")
		wantStatus(t, "weak password", change("password1234", "password1234"), 422, "password_too_weak")
		wantStatus(t, "a forged challenge", tn.anon.Do("POST", "/api/v1/login/password", map[string]string{"challenge": strings.Repeat("A", 43),
			"new_password": "river lantern quartz meadow", "confirm_password": "river lantern quartz meadow"}), 401, "invalid_challenge")

		r = change("river lantern quartz meadow", "river lantern quartz meadow")
		wantStatus(t, "change", r, 200, "")
		if r.Str(t, "status") != "authenticated" || r.Str(t, "session_token") == "" {
			t.Fatalf("change: got %s, want authenticated with a session", r.Body)
		}
		wantStatus(t, "the challenge again", change("another fine password here", "another fine password here"), 401, "invalid_challenge")
		wantStatus(t, "the temporary password after the change", loginStep(t, tn.anon, "carl@acme.example", temp), 401, "invalid_credentials")
		tn.anon.Login("carl@acme.example", "river lantern quartz meadow")
	})
}

func TestTemporaryPasswordRules(t *testing.T) {
	tn := setupTenants(t)
	reset := "/api/v1/company/users/" + tn.target + "/password-reset"
	r := tn.asAdmin.Do("POST", reset, map[string]any{"method": "temporary", "temporary_password": "acme12345678"})
	wantStatus(t, "weak typed password", r, 422, "password_too_weak")
	if !strings.Contains(string(r.Body), "reasons") {
		t.Errorf("a refused password should say why: %s", r.Body)
	}
	wantStatus(t, "unknown method", tn.asAdmin.Do("POST", reset, map[string]any{"method": "sms"}), 400, "invalid_request")
	wantStatus(t, "password with the email method", tn.asAdmin.Do("POST", reset, map[string]any{"method": "email", "temporary_password": "x"}), 400, "invalid_request")
	wantStatus(t, "your own password", tn.asAdmin.Do("POST", "/api/v1/company/users/"+tn.admin+"/password-reset", map[string]any{"method": "temporary"}), 400, "invalid_request")

	typed := "copper giraffe whistle sunday"
	r = tn.asAdmin.Do("POST", reset, map[string]any{"method": "temporary", "temporary_password": typed})
	wantStatus(t, "typed password", r, 200, "")
	if r.Str(t, "temporary_password") != typed {
		t.Fatalf("typed password: got %s, want it echoed", r.Body)
	}
}

func TestResetByEmail(t *testing.T) {
	tn := setupTenants(t)
	carl := tn.login(t, "carl@acme.example")
	wantStatus(t, "email reset", tn.asAdmin.Do("POST", "/api/v1/company/users/"+tn.target+"/password-reset", map[string]string{"method": "email"}), 202, "")
	notice := tn.s.SMTP.WaitFor(t, "carl@acme.example", "password was reset")
	if !strings.Contains(notice.Text, "separate email") {
		t.Errorf("the notice should point to the link mail:\n%s", notice.Text)
	}
	token := mailToken(t, tn.s.SMTP.WaitFor(t, "carl@acme.example", "Reset your"))
	// The old password and session work until the link is used.
	wantStatus(t, "session before the link is used", carl.Get("/api/v1/me"), 200, "")
	wantStatus(t, "use the link", tn.anon.Do("POST", "/api/v1/password-reset/confirm",
		map[string]string{"token": token, "new_password": "river lantern quartz meadow", "confirm_password": "river lantern quartz meadow"}), 204, "")
	wantStatus(t, "session after", carl.Get("/api/v1/me"), 401, "unauthenticated")
	tn.anon.Login("carl@acme.example", "river lantern quartz meadow")

	// Mail to one address is capped per hour.
	codes := []int{}
	for range 4 {
		codes = append(codes, tn.asAdmin.Do("POST", "/api/v1/company/users/"+tn.target+"/password-reset", map[string]string{"method": "email"}).StatusCode)
	}
	if codes[len(codes)-1] != 429 {
		t.Errorf("repeated reset mails: got %v, want the last one 429", codes)
	}
}

func TestUnlockUser(t *testing.T) {
	tn := setupTenants(t)
	var last *servertest.Response
	for range 7 {
		last = loginStep(t, tn.anon, "carl@acme.example", "wrong wrong wrong")
	}
	wantStatus(t, "locked", last, 429, "too_many_attempts")
	r := tn.asAdmin.Get("/api/v1/company/users/" + tn.target)
	if r.JSON(t)["locked_until"] == nil {
		t.Fatalf("user detail: got %s, want locked_until", r.Body)
	}
	wantStatus(t, "unlock", tn.asAdmin.Do("POST", "/api/v1/company/users/"+tn.target+"/unlock", nil), 204, "")
	if r := tn.asAdmin.Get("/api/v1/company/users/" + tn.target); r.JSON(t)["locked_until"] != nil {
		t.Fatalf("after unlock: got %s, want locked_until null", r.Body)
	}
	tn.login(t, "carl@acme.example")
}
