package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/totp"
)

// totpLogin runs the password step of a user with 2FA and then sends code
// (or, when recovery is set, that recovery code).
func (e *env) totpLogin(t *testing.T, email, code, recovery string) (*auth.LoginResult, error) {
	t.Helper()
	res := e.loginStep(t, email, goodPW, auth.StatusTOTPRequired)
	return e.svc.LoginTOTP(ctx, res.Challenge, code, recovery, e.client())
}

// TestTOTPCodes: a TOTP code logs in once, and never after a later one (the
// step only goes forward, on every node); the code that confirmed the setup
// is used up; a recovery code works once. Of two logins racing with one
// code, one wins.
func TestTOTPCodes(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("invalid_code/replay", func(t *testing.T) {
			admin := e.company(t)
			secret, _ := e.enableTOTP(t, admin)
			e.nextStep()
			code := e.code(secret, 0)
			_, err := e.totpLogin(t, admin.User.Email, code, "")
			wantCode(t, "the code", err, "")
			_, err = e.totpLogin(t, admin.User.Email, code, "")
			wantCode(t, "the same code again", err, gatehouse.EInvalidCode)
		})
		t.Run("invalid_code/earlier_step", func(t *testing.T) {
			admin := e.company(t)
			secret, _ := e.enableTOTP(t, admin)
			e.nextStep()
			e.nextStep()
			_, err := e.totpLogin(t, admin.User.Email, e.code(secret, 0), "")
			wantCode(t, "the code of this step", err, "")
			_, err = e.totpLogin(t, admin.User.Email, e.code(secret, -1), "")
			wantCode(t, "the code of the step before, still in the window", err, gatehouse.EInvalidCode)
			_, err = e.totpLogin(t, admin.User.Email, e.code(secret, 1), "")
			wantCode(t, "the code of the next step, in the window", err, "")
			_, err = e.totpLogin(t, admin.User.Email, e.code(secret, 0), "")
			wantCode(t, "the code of this step after the next one's", err, gatehouse.EInvalidCode)
		})
		t.Run("invalid_code/setup_code_used_up", func(t *testing.T) {
			admin := e.company(t)
			en, err := e.svc.BeginTOTPEnrollment(ctx, admin, "", e.client())
			if err != nil {
				t.Fatal(err)
			}
			secret := decodeSecret(t, en.Secret)
			step := totp.Step(e.clock.Now())
			if _, err := e.svc.ConfirmTOTP(ctx, admin, totp.Code(secret, step), e.client()); err != nil {
				t.Fatal(err)
			}
			_, err = e.totpLogin(t, admin.User.Email, totp.Code(secret, step), "")
			wantCode(t, "the code that confirmed the setup", err, gatehouse.EInvalidCode)
		})
		t.Run("invalid_code/one_code_two_logins_at_once", func(t *testing.T) {
			for round := range 5 {
				admin := e.company(t)
				secret, _ := e.enableTOTP(t, admin)
				e.nextStep()
				a := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
				b := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
				code := e.code(secret, 0)
				errs := concurrently(2, func(i int) error {
					_, err := e.svc.LoginTOTP(ctx, []string{a.Challenge, b.Challenge}[i], code, "", e.client())
					return err
				})
				if codes := countCodes(errs); codes[""] != 1 || codes[gatehouse.EInvalidCode] != 1 {
					t.Fatalf("round %d: two logins with one code at once: got %v, want one success and one invalid_code", round, errs)
				}
			}
		})
		t.Run("invalid_code/recovery_code_used_once", func(t *testing.T) {
			admin := e.company(t)
			_, codes := e.enableTOTP(t, admin)
			res, err := e.totpLogin(t, admin.User.Email, "", codes[0])
			wantCode(t, "a recovery code", err, "")
			e.smtp.WaitFor(t, admin.User.Email, "recovery code was used")
			_, err = e.totpLogin(t, admin.User.Email, "", codes[0])
			wantCode(t, "the recovery code again", err, gatehouse.EInvalidCode)
			st, err := e.svc.TOTPState(ctx, e.authenticate(t, res.SessionToken))
			if err != nil || st.RecoveryCodesLeft != auth.RecoveryCodeCount-1 {
				t.Fatalf("recovery codes left: got %+v, %v; want %d", st, err, auth.RecoveryCodeCount-1)
			}
			// Typed by hand: lower case, without the hyphen.
			_, err = e.totpLogin(t, admin.User.Email, "", " "+strings.ToLower(strings.ReplaceAll(codes[1], "-", ""))+" ")
			wantCode(t, "another recovery code, typed loosely", err, "")
		})
		t.Run("invalid_code/recovery_code_two_logins_at_once", func(t *testing.T) {
			for round := range 5 {
				admin := e.company(t)
				_, codes := e.enableTOTP(t, admin)
				a := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
				b := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
				errs := concurrently(2, func(i int) error {
					_, err := e.svc.LoginTOTP(ctx, []string{a.Challenge, b.Challenge}[i], "", codes[0], e.client())
					return err
				})
				if got := countCodes(errs); got[""] != 1 || got[gatehouse.EInvalidCode] != 1 {
					t.Fatalf("round %d: two logins with one recovery code at once: got %v, want one success and one invalid_code", round, errs)
				}
			}
		})
		t.Run("invalid_code/recovery_codes_regenerated", func(t *testing.T) {
			admin := e.company(t)
			_, old := e.enableTOTP(t, admin)
			fresh, err := e.svc.RegenerateRecoveryCodes(ctx, admin, goodPW, e.client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.totpLogin(t, admin.User.Email, "", old[0])
			wantCode(t, "an old recovery code", err, gatehouse.EInvalidCode)
			_, err = e.totpLogin(t, admin.User.Email, "", fresh[0])
			wantCode(t, "a new recovery code", err, "")
		})
	})
}

// TestTOTPEnrollment: a secret offered on the profile page is confirmed by
// the session that asked for it, within EnrollmentLifetime; an old session
// must give the password to be offered one.
func TestTOTPEnrollment(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("totp_enrollment_required/other_session", func(t *testing.T) {
			admin := e.company(t)
			other := e.signIn(t, admin.User.Email, goodPW)
			en, err := e.svc.BeginTOTPEnrollment(ctx, admin, "", e.client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.ConfirmTOTP(ctx, other, e.code(decodeSecret(t, en.Secret), 0), e.client())
			wantCode(t, "another session confirms the offer", err, gatehouse.ETOTPEnrollmentRequired)
			if e.userByID(t, admin.User.ID).TOTPEnabled() {
				t.Error("2FA is on")
			}
		})
		t.Run("totp_enrollment_required/offer_expired", func(t *testing.T) {
			admin := e.company(t)
			en, err := e.svc.BeginTOTPEnrollment(ctx, admin, "", e.client())
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(auth.EnrollmentLifetime)
			_, err = e.svc.ConfirmTOTP(ctx, admin, e.code(decodeSecret(t, en.Secret), 0), e.client())
			wantCode(t, "the code after the offer's lifetime", err, gatehouse.ETOTPEnrollmentRequired)
		})
		t.Run("invalid_code/wrong_setup_code", func(t *testing.T) {
			admin := e.company(t)
			en, err := e.svc.BeginTOTPEnrollment(ctx, admin, "", e.client())
			if err != nil {
				t.Fatal(err)
			}
			secret := decodeSecret(t, en.Secret)
			_, err = e.svc.ConfirmTOTP(ctx, admin, wrongCode(e.code(secret, 0)), e.client())
			wantCode(t, "a wrong code", err, gatehouse.EInvalidCode)
			_, err = e.svc.ConfirmTOTP(ctx, admin, e.code(secret, 0), e.client())
			wantCode(t, "the right code", err, "")
		})
		t.Run("reauthentication_required/old_session", func(t *testing.T) {
			admin := e.company(t)
			e.clock.Advance(auth.ReauthWindow + time.Second)
			_, err := e.svc.BeginTOTPEnrollment(ctx, admin, "", e.client())
			wantCode(t, "an old session without the password", err, gatehouse.EReauthenticationRequired)
			_, err = e.svc.BeginTOTPEnrollment(ctx, admin, "wrong wrong wrong", e.client())
			wantCode(t, "an old session with a wrong password", err, gatehouse.ECurrentPasswordIncorrect)
			_, err = e.svc.BeginTOTPEnrollment(ctx, admin, goodPW, e.client())
			wantCode(t, "an old session with the password", err, "")
		})
	})
}

// TestCompanyRequiresTOTP: an admin with 2FA may require it of everyone;
// from then on sessions opened with the password alone stop working, the
// next login sets 2FA up, and nobody can turn theirs off.
func TestCompanyRequiresTOTP(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		yes := true
		t.Run("own_totp_required", func(t *testing.T) {
			admin := e.company(t)
			before := e.events(t, admin.User.CompanyID)
			_, err := e.svc.UpdateCompany(ctx, admin, auth.CompanyUpdate{RequireTOTP: &yes}, e.client())
			wantCode(t, "an admin without 2FA requires it", err, gatehouse.EOwnTOTPRequired)
			e.wantUnchanged(t, "the refused requirement", admin.User, before)
			e.enableTOTP(t, admin)
			_, err = e.svc.UpdateCompany(ctx, admin, auth.CompanyUpdate{RequireTOTP: &yes}, e.client())
			wantCode(t, "an admin with 2FA requires it", err, "")
		})
		t.Run("unauthenticated/password_only_session", func(t *testing.T) {
			admin := e.company(t)
			adminSession := sessionToken(t, e, admin)
			e.enableTOTP(t, admin)
			without := e.member(t, admin)
			withoutSession := sessionToken(t, e, without)
			with := e.member(t, admin)
			withSession := sessionToken(t, e, with)
			e.enableTOTP(t, with)
			e.requireTOTP(t, admin)
			_, err := e.svc.Authenticate(ctx, withoutSession)
			wantCode(t, "the session of a member without 2FA", err, gatehouse.EUnauthenticated)
			e.authenticate(t, withSession)
			e.authenticate(t, adminSession)
			e.loginStep(t, without.User.Email, goodPW, auth.StatusTOTPSetupRequired)
		})
		t.Run("totp_required_by_company/disable", func(t *testing.T) {
			admin := e.company(t)
			e.enableTOTP(t, admin)
			member := e.member(t, admin)
			e.enableTOTP(t, member)
			e.requireTOTP(t, admin)
			err := e.svc.DisableTOTP(ctx, member, goodPW, e.client())
			wantCode(t, "turning 2FA off while the company requires it", err, gatehouse.ETOTPRequiredByCompany)
			if !e.userByID(t, member.User.ID).TOTPEnabled() {
				t.Error("2FA is off")
			}
		})
		t.Run("unauthenticated/after_admin_removes_2fa", func(t *testing.T) {
			admin := e.company(t)
			e.enableTOTP(t, admin)
			member := e.member(t, admin)
			session := sessionToken(t, e, member)
			e.enableTOTP(t, member)
			e.requireTOTP(t, admin)
			if err := e.svc.RemoveUserTOTP(ctx, admin, member.User.ID, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Authenticate(ctx, session)
			wantCode(t, "the member's session after the removal", err, gatehouse.EUnauthenticated)
			e.loginStep(t, member.User.Email, goodPW, auth.StatusTOTPSetupRequired)
		})
	})
}
