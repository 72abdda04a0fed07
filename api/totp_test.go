package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/totp"
)

// The whole self-service journey through the API, as a new user would
// take it: enable, log in with codes and recovery codes, regenerate,
// disable, enable again with a new secret.
func TestTOTPJourney(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		companyID, userID := s.Company(t, "Acme", "ada@example.com", pw)
		c := signedIn(t, s, "ada@example.com")

		// Enrollment offers a secret, and changes nothing for login until
		// a code confirms it.
		alignClock(s)
		e := beginTOTP(t, c, map[string]string{})
		wantURI := "otpauth://totp/Gatehouse:ada@example.com?secret=" + e.B32 + "&issuer=Gatehouse"
		if !strings.HasPrefix(e.URI, wantURI) {
			t.Fatalf("otpauth_uri: got %s, want it to start with %s", e.URI, wantURI)
		}
		wantAuthenticated(t, s.Client(t).Do("POST", "/api/v1/login", map[string]string{"email": "ada@example.com", "password": pw}))
		if r := c.Get("/api/v1/me"); r.JSON(t)["totp_enabled"] != false {
			t.Fatalf("GET /me during enrollment: got %s, want totp_enabled false", r.Body)
		}

		r := c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": wrongCode(s, e.Secret)})
		wantProblem(t, "confirm with a wrong code", r, 401, "invalid_code")
		r = c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": code(s, e.Secret)})
		if r.StatusCode != 200 {
			t.Fatalf("confirm: got %d %s, want 200", r.StatusCode, r.Body)
		}
		recovery := recoveryCodes(t, r)
		s.SMTP.WaitFor(t, "ada@example.com", "Two-factor authentication is on")
		if r := c.Get("/api/v1/me"); r.JSON(t)["totp_enabled"] != true {
			t.Fatalf("GET /me after confirm: got %s, want totp_enabled true", r.Body)
		}
		wantProblem(t, "begin again", c.Do("POST", "/api/v1/me/totp", nil), 409, "totp_already_enabled")
		wantProblem(t, "confirm again", c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": code(s, e.Secret)}), 409, "totp_already_enabled")

		// Every later login asks for a code.
		s.Clock.Advance(totp.Period)
		if r := c.Do("POST", "/api/v1/logout", nil); r.StatusCode != 204 {
			t.Fatalf("logout: got %d %s", r.StatusCode, r.Body)
		}
		c.Token = loginWithCode(t, s, "ada@example.com", e.Secret)
		if r := c.Get("/api/v1/me"); r.StatusCode != 200 {
			t.Fatalf("GET /me with the new session: got %d %s", r.StatusCode, r.Body)
		}

		// A recovery code works once, typed in any case, with or without
		// its hyphen.
		for i, typed := range []string{recovery[0], strings.ToLower(strings.ReplaceAll(recovery[1], "-", ""))} {
			ch := loginChallenge(t, s.Client(t), "ada@example.com", auth.StatusTOTPRequired)
			wantAuthenticated(t, loginTOTP(s.Client(t), ch, map[string]string{"recovery_code": typed}))
			m := s.SMTP.WaitFor(t, "ada@example.com", "recovery code was used")
			if i == 0 && !strings.Contains(m.Text, "ada@example.com") {
				t.Errorf("recovery code mail does not name the account:\n%s", m.Text)
			}
		}
		ch := loginChallenge(t, s.Client(t), "ada@example.com", auth.StatusTOTPRequired)
		wantProblem(t, "a used recovery code", loginTOTP(s.Client(t), ch, map[string]string{"recovery_code": recovery[0]}), 401, "invalid_code")

		// Regenerating needs the password and replaces every code.
		wantProblem(t, "regenerate without password", c.Do("POST", "/api/v1/me/recovery-codes", nil), 400, "current_password_incorrect")
		wantProblem(t, "regenerate with a wrong password", c.Do("POST", "/api/v1/me/recovery-codes", map[string]string{"password": "not my password at all"}), 400, "current_password_incorrect")
		r = c.Do("POST", "/api/v1/me/recovery-codes", map[string]string{"password": pw})
		if r.StatusCode != 200 {
			t.Fatalf("regenerate: got %d %s, want 200", r.StatusCode, r.Body)
		}
		fresh := recoveryCodes(t, r)
		s.SMTP.WaitFor(t, "ada@example.com", "New recovery codes")
		ch = loginChallenge(t, s.Client(t), "ada@example.com", auth.StatusTOTPRequired)
		wantProblem(t, "an old recovery code", loginTOTP(s.Client(t), ch, map[string]string{"recovery_code": recovery[2]}), 401, "invalid_code")
		wantAuthenticated(t, loginTOTP(s.Client(t), ch, map[string]string{"recovery_code": fresh[0]}))

		// Turning it off needs the password.
		wantProblem(t, "disable without password", c.Do("DELETE", "/api/v1/me/totp", nil), 400, "current_password_incorrect")
		wantProblem(t, "disable with a wrong password", c.Do("DELETE", "/api/v1/me/totp", map[string]string{"password": "not my password at all"}), 400, "current_password_incorrect")
		if r := c.Do("DELETE", "/api/v1/me/totp", map[string]string{"password": pw}); r.StatusCode != 204 {
			t.Fatalf("disable: got %d %s, want 204", r.StatusCode, r.Body)
		}
		s.SMTP.WaitFor(t, "ada@example.com", "Two-factor authentication is off")
		wantAuthenticated(t, s.Client(t).Do("POST", "/api/v1/login", map[string]string{"email": "ada@example.com", "password": pw}))
		wantProblem(t, "disable again", c.Do("DELETE", "/api/v1/me/totp", map[string]string{"password": pw}), 409, "totp_not_enabled")
		wantProblem(t, "regenerate while off", c.Do("POST", "/api/v1/me/recovery-codes", map[string]string{"password": pw}), 409, "totp_not_enabled")

		// On again: a new secret; the old app entry's codes fail.
		secret2, _ := enableTOTP(t, s, c)
		if string(secret2) == string(e.Secret) {
			t.Fatal("re-enabling reused the old secret")
		}
		ch = loginChallenge(t, s.Client(t), "ada@example.com", auth.StatusTOTPRequired)
		wantProblem(t, "a code of the old secret", loginTOTP(s.Client(t), ch, map[string]string{"code": code(s, e.Secret)}), 401, "invalid_code")
		wantAuthenticated(t, loginTOTP(s.Client(t), ch, map[string]string{"code": code(s, secret2)}))

		got := auditTypes(t, s, companyID, userID)
		for typ, n := range map[string]int{gatehouse.EventTOTPEnabled: 2, gatehouse.EventTOTPDisabled: 1,
			gatehouse.EventRecoveryCodeUsed: 3, gatehouse.EventRecoveryCodesRegenerate: 1, gatehouse.EventTOTPFailed: 4} {
			if got[typ] != n {
				t.Errorf("audit %s: got %d events, want %d (all: %v)", typ, got[typ], n, got)
			}
		}
	})
}

// The challenge of a pending login is not a session: it opens nothing.
func TestTOTPChallengeIsNotASession(t *testing.T) {
	s := servertest.Start(t)
	s.Company(t, "Acme", "ada@example.com", pw)
	enableTOTP(t, s, signedIn(t, s, "ada@example.com"))
	c := s.Client(t)
	c.Token = loginChallenge(t, c, "ada@example.com", auth.StatusTOTPRequired)
	for _, call := range []struct{ method, path string }{
		{"GET", "/api/v1/me"}, {"GET", "/api/v1/me/sessions"}, {"POST", "/api/v1/me/totp"},
		{"POST", "/api/v1/me/recovery-codes"}, {"DELETE", "/api/v1/me/totp"}, {"POST", "/api/v1/logout"},
	} {
		wantProblem(t, call.method+" "+call.path+" with the challenge as bearer", c.Do(call.method, call.path, nil), 401, "unauthenticated")
	}
}

// The password is needed to start enrollment only when the session's login
// is older than 15 minutes; a password given is always checked; an offer
// not confirmed in time expires.
func TestTOTPEnrollmentReauthentication(t *testing.T) {
	s := servertest.Start(t)
	s.Company(t, "Acme", "ada@example.com", pw)
	c := signedIn(t, s, "ada@example.com")

	wantProblem(t, "fresh session, wrong password", c.Do("POST", "/api/v1/me/totp", map[string]string{"password": "not my password at all"}), 400, "current_password_incorrect")
	first := beginTOTP(t, c, map[string]string{"password": pw})

	s.Clock.Advance(auth.ReauthWindow + time.Minute)
	wantProblem(t, "old session, no password", c.Do("POST", "/api/v1/me/totp", nil), 403, "reauthentication_required")
	wantProblem(t, "old session, wrong password", c.Do("POST", "/api/v1/me/totp", map[string]string{"password": "not my password at all"}), 400, "current_password_incorrect")
	wantProblem(t, "confirm an expired offer", c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": code(s, first.Secret)}), 409, "totp_enrollment_required")

	alignClock(s)
	second := beginTOTP(t, c, map[string]string{"password": pw})
	if second.B32 == first.B32 {
		t.Fatal("a second offer reused the secret")
	}
	wantProblem(t, "a code of the replaced offer", c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": code(s, first.Secret)}), 401, "invalid_code")
	if r := c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": code(s, second.Secret)}); r.StatusCode != 200 {
		t.Fatalf("confirm the latest offer: got %d %s, want 200", r.StatusCode, r.Body)
	}
}

// Company-wide enforcement: company A requires 2FA, company B does not.
func TestTOTPEnforcementAcrossCompanies(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		companyA, _ := s.Company(t, "Acme", "ada@acme.example", pw)
		companyB, _ := s.Company(t, "Bolt", "bob@bolt.example", pw)
		addUser(t, s, companyA, "mia@acme.example", gatehouse.RoleMember)
		addUser(t, s, companyB, "ben@bolt.example", gatehouse.RoleMember)
		adaSecret, _ := enableTOTP(t, s, signedIn(t, s, "ada@acme.example"))
		bob := signedIn(t, s, "bob@bolt.example")
		bobSecret, _ := enableTOTP(t, s, bob)

		requireTOTP(t, s, companyA, true)

		// Users of A with 2FA: nothing changes.
		loginWithCode(t, s, "ada@acme.example", adaSecret)

		// Users of B: nothing changes either, with or without 2FA.
		wantAuthenticated(t, s.Client(t).Do("POST", "/api/v1/login", map[string]string{"email": "ben@bolt.example", "password": pw}))
		loginWithCode(t, s, "bob@bolt.example", bobSecret)

		// A user of A without 2FA must set it up before anything else.
		c := s.Client(t)
		ch := loginChallenge(t, c, "mia@acme.example", auth.StatusTOTPSetupRequired)
		c.Token = ch
		wantProblem(t, "GET /me with the setup challenge", c.Get("/api/v1/me"), 401, "unauthenticated")
		wantProblem(t, "enroll on /me with the setup challenge", c.Do("POST", "/api/v1/me/totp", nil), 401, "unauthenticated")
		c.Token = ""
		wantProblem(t, "a code step for a setup challenge", loginTOTP(c, ch, map[string]string{"code": "123456"}), 401, "invalid_challenge")
		wantProblem(t, "confirm before setup", c.Do("POST", "/api/v1/login/totp-setup/confirm", map[string]string{"challenge": ch, "code": "123456"}), 409, "totp_enrollment_required")

		alignClock(s)
		r := c.Do("POST", "/api/v1/login/totp-setup", map[string]string{"challenge": ch})
		if r.StatusCode != 200 {
			t.Fatalf("totp-setup: got %d %s, want 200", r.StatusCode, r.Body)
		}
		e := checkEnrollment(t, r)
		if !strings.HasPrefix(e.URI, "otpauth://totp/Gatehouse:mia@acme.example?secret="+e.B32) {
			t.Errorf("otpauth_uri %s does not name mia", e.URI)
		}
		wantProblem(t, "setup confirm with a wrong code", c.Do("POST", "/api/v1/login/totp-setup/confirm", map[string]string{"challenge": ch, "code": wrongCode(s, e.Secret)}), 401, "invalid_code")
		r = c.Do("POST", "/api/v1/login/totp-setup/confirm", map[string]string{"challenge": ch, "code": code(s, e.Secret)})
		wantAuthenticated(t, r)
		recoveryCodes(t, r)
		if u, _ := r.JSON(t)["user"].(map[string]any); u["totp_enabled"] != true {
			t.Errorf("user after setup: got %v, want totp_enabled true", u)
		}
		s.SMTP.WaitFor(t, "mia@acme.example", "Two-factor authentication is on")
		mia := s.Client(t)
		mia.Token = r.Str(t, "session_token")

		// While A requires it, 2FA cannot be turned off; B's users can.
		wantProblem(t, "disable in company A", mia.Do("DELETE", "/api/v1/me/totp", map[string]string{"password": pw}), 409, "totp_required_by_company")
		wantProblem(t, "disable in company A, wrong password", mia.Do("DELETE", "/api/v1/me/totp", map[string]string{"password": "not my password at all"}), 409, "totp_required_by_company")
		if r := bob.Do("DELETE", "/api/v1/me/totp", map[string]string{"password": pw}); r.StatusCode != 204 {
			t.Fatalf("disable in company B: got %d %s, want 204", r.StatusCode, r.Body)
		}

		// Mia's next login asks for her code.
		s.Clock.Advance(totp.Period)
		loginWithCode(t, s, "mia@acme.example", e.Secret)

		// Once A stops requiring it, Mia may turn it off.
		requireTOTP(t, s, companyA, false)
		if r := mia.Do("DELETE", "/api/v1/me/totp", map[string]string{"password": pw}); r.StatusCode != 204 {
			t.Fatalf("disable after the requirement ends: got %d %s, want 204", r.StatusCode, r.Body)
		}
	})
}

// An admin removes a user's 2FA (a lost phone); so does the operator.
func TestRemoveUserTOTP(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		companyA, adaID := s.Company(t, "Acme", "ada@acme.example", pw)
		s.Company(t, "Bolt", "bob@bolt.example", pw)
		miaID := addUser(t, s, companyA, "mia@acme.example", gatehouse.RoleMember)
		addUser(t, s, companyA, "max@acme.example", gatehouse.RoleMember)
		addUser(t, s, companyA, "eve@acme.example", gatehouse.RoleAdmin)

		mia := signedIn(t, s, "mia@acme.example")
		miaSecret, _ := enableTOTP(t, s, mia)
		s.Clock.Advance(totp.Period)
		ada := signedIn(t, s, "ada@acme.example")
		member := signedIn(t, s, "max@acme.example")
		bob := signedIn(t, s, "bob@bolt.example")
		path := "/api/v1/company/users/" + miaID + "/totp"

		wantProblem(t, "a member", member.Do("DELETE", path, nil), 403, "forbidden")
		wantProblem(t, "an admin of another company", bob.Do("DELETE", path, nil), 404, "not_found")
		wantProblem(t, "an unknown user", ada.Do("DELETE", "/api/v1/company/users/nobody/totp", nil), 404, "not_found")
		wantProblem(t, "the admin's own 2FA", ada.Do("DELETE", "/api/v1/company/users/"+adaID+"/totp", nil), 403, "forbidden")
		wantProblem(t, "without a session", s.Client(t).Do("DELETE", path, nil), 401, "unauthenticated")
		if r := mia.Get("/api/v1/me"); r.StatusCode != 200 {
			t.Fatalf("refused removals ended Mia's session: %d %s", r.StatusCode, r.Body)
		}

		// A login in progress dies with the removal too, and wrong codes
		// typed before it do not keep Mia out after it.
		pending := s.Client(t)
		ch := loginChallenge(t, pending, "mia@acme.example", auth.StatusTOTPRequired)
		guessed := loginChallenge(t, pending, "mia@acme.example", auth.StatusTOTPRequired)
		for range 5 {
			loginTOTP(pending, guessed, map[string]string{"code": wrongCode(s, miaSecret)})
		}
		wantProblem(t, "login after five wrong codes", pending.Do("POST", "/api/v1/login", map[string]string{"email": "mia@acme.example", "password": pw}), 429, "too_many_attempts")

		if r := ada.Do("DELETE", path, nil); r.StatusCode != 204 {
			t.Fatalf("admin removal: got %d %s, want 204", r.StatusCode, r.Body)
		}
		wantProblem(t, "Mia's session after the removal", mia.Get("/api/v1/me"), 401, "unauthenticated")
		wantProblem(t, "Mia's pending login after the removal", loginTOTP(pending, ch, map[string]string{"code": "123456"}), 401, "invalid_challenge")
		m := s.SMTP.WaitFor(t, "mia@acme.example", "Two-factor authentication was removed")
		if !strings.Contains(m.Text, "ada") {
			t.Errorf("removal mail does not name the admin:\n%s", m.Text)
		}
		if got := auditTypes(t, s, companyA, miaID)[gatehouse.EventTOTPRemovedByAdmin]; got != 1 {
			t.Errorf("audit %s: got %d, want 1", gatehouse.EventTOTPRemovedByAdmin, got)
		}
		wantProblem(t, "removal again", ada.Do("DELETE", path, nil), 409, "totp_not_enabled")

		// Without enforcement, Mia now logs in with her password alone...
		wantAuthenticated(t, s.Client(t).Do("POST", "/api/v1/login", map[string]string{"email": "mia@acme.example", "password": pw}))
		// ...and with it, she must set 2FA up again.
		requireTOTP(t, s, companyA, true)
		loginChallenge(t, s.Client(t), "mia@acme.example", auth.StatusTOTPSetupRequired)

		// The operator's removal: same effect, and the company's other
		// admins hear of it.
		mia = s.Client(t)
		mia.Token = setUpForced(t, s, "mia@acme.example")
		u, err := s.Service().OperatorRemoveTOTP(context.Background(), "Mia@Acme.example", auth.Client{})
		if err != nil || u.ID != miaID {
			t.Fatalf("operator removal: got %v, %v; want Mia", u, err)
		}
		wantProblem(t, "Mia's session after the operator's removal", mia.Get("/api/v1/me"), 401, "unauthenticated")
		loginChallenge(t, s.Client(t), "mia@acme.example", auth.StatusTOTPSetupRequired)
		for _, admin := range []string{"ada@acme.example", "eve@acme.example"} {
			m := s.SMTP.WaitFor(t, admin, "Security alert")
			if !strings.Contains(m.Text, "mia@acme.example") || !strings.Contains(m.Text, "removed two-factor authentication") {
				t.Errorf("operator alert to %s does not say what happened:\n%s", admin, m.Text)
			}
		}
		if _, err := s.Service().OperatorRemoveTOTP(context.Background(), "nobody@acme.example", auth.Client{}); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
			t.Errorf("operator removal for an unknown email: got %v, want not_found", err)
		}
	})
}

// setUpForced completes a forced setup through the API and returns the
// session token.
func setUpForced(t *testing.T, s *servertest.Server, email string) string {
	t.Helper()
	c := s.Client(t)
	ch := loginChallenge(t, c, email, auth.StatusTOTPSetupRequired)
	alignClock(s)
	r := c.Do("POST", "/api/v1/login/totp-setup", map[string]string{"challenge": ch})
	if r.StatusCode != 200 {
		t.Fatalf("totp-setup: got %d %s", r.StatusCode, r.Body)
	}
	e := checkEnrollment(t, r)
	r = c.Do("POST", "/api/v1/login/totp-setup/confirm", map[string]string{"challenge": ch, "code": code(s, e.Secret)})
	wantAuthenticated(t, r)
	return r.Str(t, "session_token")
}
