package api_test

import (
	"context"
	"encoding/base32"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/totp"
)

// arrange changes the store directly: company administration is not part
// of this suite.
func arrange(t *testing.T, s *servertest.Server, fn func(tx gatehouse.Tx) error) {
	t.Helper()
	if err := s.App.DB.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// step posts a login step and returns the answer, failing unless it is
// 200 with the wanted status.
func step(t *testing.T, c *servertest.Client, path string, body map[string]string, status string) map[string]any {
	t.Helper()
	r := c.Do("POST", path, body)
	if r.StatusCode != 200 || r.Str(t, "status") != status {
		t.Fatalf("%s: got %d %s, want 200 %s", path, r.StatusCode, r.Body, status)
	}
	return r.JSON(t)
}

// appCode returns the TOTP code of a base32 secret at the server's time,
// stepped forward by steps periods.
func appCode(t *testing.T, s *servertest.Server, secret string, steps int) string {
	t.Helper()
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return totp.Code(raw, totp.Step(s.Clock.Now())+int64(steps))
}

// TestLoginStateMachine walks every status: a temporary password must be
// changed, then the company's 2FA requirement set up, then later logins
// ask for a code or a recovery code.
func TestLoginStateMachine(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		companyID, adaID := s.Company(t, "Acme", "ada@example.com", goodPW)
		temp, err := s.App.Hasher.Hash(context.Background(), "temporary password 1")
		if err != nil {
			t.Fatal(err)
		}
		arrange(t, s, func(tx gatehouse.Tx) error {
			if err := tx.UpdateCompany(&gatehouse.Company{ID: companyID, Name: "Acme", RequireTOTP: true}); err != nil {
				return err
			}
			return tx.SetUserPassword(adaID, temp, true, tx.Now().Add(time.Hour))
		})
		c := s.Client(t)
		wantProblem(t, "the old password", login(c, "ada@example.com", goodPW), 401, "invalid_credentials")

		r := step(t, c, "/api/v1/login", map[string]string{"email": "ada@example.com", "password": "temporary password 1"}, "password_change_required")
		ch := r["challenge"].(string)
		if r["session_token"] != nil || c.SessionCookie() != "" {
			t.Fatalf("a session before the login completed: %v", r)
		}
		wantProblem(t, "me mid-login", c.Get("/api/v1/me"), 401, "unauthenticated")
		wantProblem(t, "a challenge for the wrong step", c.Do("POST", "/api/v1/login/totp", map[string]string{"challenge": ch, "code": "123456"}),
			401, "invalid_challenge")
		wantProblem(t, "the temporary password again", c.Do("POST", "/api/v1/login/password", map[string]string{
			"challenge": ch, "new_password": "temporary password 1", "confirm_password": "temporary password 1"}), 422, "password_reused")
		r = step(t, c, "/api/v1/login/password", map[string]string{"challenge": ch, "new_password": otherPW, "confirm_password": otherPW},
			"totp_setup_required")
		wantProblem(t, "a used challenge", c.Do("POST", "/api/v1/login/password", map[string]string{
			"challenge": ch, "new_password": otherPW, "confirm_password": otherPW}), 401, "invalid_challenge")
		ch = r["challenge"].(string)

		wantProblem(t, "confirm before setup", c.Do("POST", "/api/v1/login/totp-setup/confirm", map[string]string{"challenge": ch, "code": "123456"}),
			409, "totp_enrollment_required")
		en := c.Do("POST", "/api/v1/login/totp-setup", map[string]string{"challenge": ch}).JSON(t)
		secret, _ := en["secret"].(string)
		if secret == "" || en["otpauth_uri"] == nil || en["qr_png"] == nil {
			t.Fatalf("totp setup: got %v, want secret, otpauth_uri and qr_png", en)
		}
		wantProblem(t, "a wrong code", c.Do("POST", "/api/v1/login/totp-setup/confirm", map[string]string{"challenge": ch, "code": "000000"}),
			401, "invalid_code")
		r = step(t, c, "/api/v1/login/totp-setup/confirm", map[string]string{"challenge": ch, "code": appCode(t, s, secret, 0)}, "authenticated")
		recovery, _ := r["recovery_codes"].([]any)
		if len(recovery) != 10 || r["session_token"] == nil {
			t.Fatalf("setup confirmed: got %v, want a session and 10 recovery codes", r)
		}
		if user := r["user"].(map[string]any); user["totp_enabled"] != true || user["must_change_password"] != false {
			t.Errorf("user after the login: got %v, want 2FA on and no forced change", user)
		}

		// The next login asks for a code; the one just used is refused.
		r = step(t, c, "/api/v1/login", map[string]string{"email": "ada@example.com", "password": otherPW}, "totp_required")
		ch = r["challenge"].(string)
		wantProblem(t, "a used code", c.Do("POST", "/api/v1/login/totp", map[string]string{"challenge": ch, "code": appCode(t, s, secret, 0)}),
			401, "invalid_code")
		s.Clock.Advance(30 * time.Second)
		step(t, c, "/api/v1/login/totp", map[string]string{"challenge": ch, "code": appCode(t, s, secret, 0)}, "authenticated")

		// A recovery code works once.
		for i, want := range []int{200, 401} {
			ch := step(t, c, "/api/v1/login", map[string]string{"email": "ada@example.com", "password": otherPW}, "totp_required")["challenge"].(string)
			r := c.Do("POST", "/api/v1/login/totp", map[string]string{"challenge": ch, "recovery_code": recovery[0].(string)})
			if r.StatusCode != want {
				t.Errorf("recovery code, use %d: got %d %s, want %d", i+1, r.StatusCode, r.Body, want)
			}
		}
		s.SMTP.WaitFor(t, "ada@example.com", "recovery code")
	})
}
