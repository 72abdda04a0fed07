package auth_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// TestLoginSteps: a login is the password, then the user's TOTP code, then
// the forced change of a temporary password, then the forced setup of 2FA
// the company requires, in that order. Each step answers with a challenge
// for the next that is good once, for that step only, for ten minutes and
// five wrong codes.
func TestLoginSteps(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("invalid_credentials/wrong_password_and_unknown_email_alike", func(t *testing.T) {
			admin := e.company(t)
			_, wrong := e.svc.Login(ctx, admin.User.Email, otherPW, e.client())
			wantCode(t, "wrong password", wrong, gatehouse.EInvalidCredentials)
			_, unknown := e.svc.Login(ctx, "nobody@example.com", otherPW, e.client())
			wantCode(t, "unknown email", unknown, gatehouse.EInvalidCredentials)
			if gatehouse.ErrorMessage(wrong) != gatehouse.ErrorMessage(unknown) {
				t.Errorf("messages differ: %q for a wrong password, %q for an unknown email",
					gatehouse.ErrorMessage(wrong), gatehouse.ErrorMessage(unknown))
			}
		})
		t.Run("account_disabled/right_password_only", func(t *testing.T) {
			admin := e.company(t)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			yes := true
			if _, err := e.svc.UpdateUser(ctx, admin, u.ID, auth.UserUpdate{Disabled: &yes}, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Login(ctx, u.Email, goodPW, e.client())
			wantCode(t, "a disabled user's right password", err, gatehouse.EAccountDisabled)
			// A wrong password tells nothing about the account.
			_, err = e.svc.Login(ctx, u.Email, otherPW, e.client())
			wantCode(t, "a disabled user's wrong password", err, gatehouse.EInvalidCredentials)
		})
		t.Run("invalid_challenge/each_step_in_order", func(t *testing.T) {
			// A user with 2FA whose password an admin reset, in a company
			// that requires 2FA: TOTP, then the password change.
			admin := e.company(t)
			e.enableTOTP(t, admin)
			member := e.member(t, admin)
			secret, _ := e.enableTOTP(t, member)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			e.requireTOTP(t, admin)
			temp, err := e.svc.SetTemporaryPassword(ctx, admin, member.User.ID, "", e.client())
			if err != nil {
				t.Fatal(err)
			}
			e.nextStep()
			first := e.loginStep(t, member.User.Email, temp, auth.StatusTOTPRequired)
			_, err = e.svc.LoginChangePassword(ctx, first.Challenge, otherPW, otherPW, e.client())
			wantCode(t, "the password change before the code", err, gatehouse.EInvalidChallenge)
			res, err := e.svc.LoginTOTP(ctx, first.Challenge, e.code(secret, 0), "", e.client())
			if err != nil || res.Status != auth.StatusPasswordChangeRequired {
				t.Fatalf("code: got %+v, %v; want password_change_required", res, err)
			}
			// Each step has a challenge of its own; the last one is used up.
			if res.Challenge == first.Challenge {
				t.Fatal("the password change has the challenge of the code step")
			}
			_, err = e.svc.LoginTOTP(ctx, res.Challenge, e.code(secret, 1), "", e.client())
			wantCode(t, "a code at the password change", err, gatehouse.EInvalidChallenge)
			res, err = e.svc.LoginChangePassword(ctx, res.Challenge, otherPW, otherPW, e.client())
			if err != nil || res.Status != auth.StatusAuthenticated {
				t.Fatalf("password change: got %+v, %v; want authenticated", res, err)
			}
			e.authenticate(t, res.SessionToken)

			// A user without 2FA, with a temporary password, in that
			// company: the password change, then the 2FA setup.
			if temp, err = e.svc.SetTemporaryPassword(ctx, admin, u.ID, "", e.client()); err != nil {
				t.Fatal(err)
			}
			res = e.loginStep(t, u.Email, temp, auth.StatusPasswordChangeRequired)
			_, err = e.svc.LoginTOTPSetup(ctx, res.Challenge, e.client())
			wantCode(t, "the 2FA setup before the password change", err, gatehouse.EInvalidChallenge)
			res, err = e.svc.LoginChangePassword(ctx, res.Challenge, otherPW, otherPW, e.client())
			if err != nil || res.Status != auth.StatusTOTPSetupRequired {
				t.Fatalf("password change: got %+v, %v; want totp_setup_required", res, err)
			}
			_, err = e.svc.LoginChangePassword(ctx, res.Challenge, goodPW, goodPW, e.client())
			wantCode(t, "a password change at the 2FA setup", err, gatehouse.EInvalidChallenge)
			en, err := e.svc.LoginTOTPSetup(ctx, res.Challenge, e.client())
			if err != nil {
				t.Fatal(err)
			}
			res, err = e.svc.LoginTOTPSetupConfirm(ctx, res.Challenge, e.code(decodeSecret(t, en.Secret), 0), e.client())
			if err != nil || res.Status != auth.StatusAuthenticated || len(res.RecoveryCodes) != auth.RecoveryCodeCount {
				t.Fatalf("2FA setup: got %+v, %v; want authenticated with %d recovery codes", res, err, auth.RecoveryCodeCount)
			}
			e.authenticate(t, res.SessionToken)
		})
		t.Run("invalid_challenge/used_once", func(t *testing.T) {
			admin := e.company(t)
			secret, _ := e.enableTOTP(t, admin)
			e.nextStep()
			first := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
			res, err := e.svc.LoginTOTP(ctx, first.Challenge, e.code(secret, 0), "", e.client())
			wantCode(t, "the code", err, "")
			e.nextStep()
			_, err = e.svc.LoginTOTP(ctx, first.Challenge, e.code(secret, 0), "", e.client())
			wantCode(t, "the used challenge with a fresh code", err, gatehouse.EInvalidChallenge)
			e.authenticate(t, res.SessionToken)
		})
		t.Run("invalid_challenge/each_login_its_own", func(t *testing.T) {
			admin := e.company(t)
			secret, _ := e.enableTOTP(t, admin)
			e.nextStep()
			first := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
			second := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
			if first.Challenge == second.Challenge {
				t.Fatal("two logins got the same challenge")
			}
			_, err := e.svc.LoginTOTP(ctx, second.Challenge, e.code(secret, 0), "", e.client())
			wantCode(t, "the second login's code", err, "")
			// The first is still open, for the next code.
			e.nextStep()
			_, err = e.svc.LoginTOTP(ctx, first.Challenge, e.code(secret, 0), "", e.client())
			wantCode(t, "the first login's code", err, "")
		})
		t.Run("invalid_challenge/expired", func(t *testing.T) {
			admin := e.company(t)
			a := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			b := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			challenges := map[string]string{}
			for _, u := range []*gatehouse.User{a, b} {
				temp, err := e.svc.SetTemporaryPassword(ctx, admin, u.ID, "", e.client())
				if err != nil {
					t.Fatal(err)
				}
				challenges[u.ID] = e.loginStep(t, u.Email, temp, auth.StatusPasswordChangeRequired).Challenge
			}
			e.clock.Advance(auth.ChallengeLifetime - 5*time.Second)
			_, err := e.svc.LoginChangePassword(ctx, challenges[a.ID], otherPW, otherPW, e.client())
			wantCode(t, "a challenge just before its end", err, "")
			e.clock.Advance(5 * time.Second)
			_, err = e.svc.LoginChangePassword(ctx, challenges[b.ID], otherPW, otherPW, e.client())
			wantCode(t, "a challenge at its end", err, gatehouse.EInvalidChallenge)
		})
		t.Run("invalid_challenge/five_wrong_codes", func(t *testing.T) {
			admin := e.company(t)
			secret, _ := e.enableTOTP(t, admin)
			e.nextStep()
			res := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
			wrong := wrongCode(e.code(secret, 0))
			for i := range auth.ChallengeMaxFailures {
				_, err := e.svc.LoginTOTP(ctx, res.Challenge, wrong, "", e.client())
				wantCode(t, "wrong code "+strconv.Itoa(i+1), err, gatehouse.EInvalidCode)
			}
			_, err := e.svc.LoginTOTP(ctx, res.Challenge, e.code(secret, 0), "", e.client())
			wantCode(t, "the right code after five wrong ones", err, gatehouse.EInvalidChallenge)
		})
		t.Run("invalid_challenge/five_wrong_setup_codes", func(t *testing.T) {
			admin := e.company(t)
			e.enableTOTP(t, admin)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			e.requireTOTP(t, admin)
			res := e.loginStep(t, u.Email, goodPW, auth.StatusTOTPSetupRequired)
			en, err := e.svc.LoginTOTPSetup(ctx, res.Challenge, e.client())
			if err != nil {
				t.Fatal(err)
			}
			secret := decodeSecret(t, en.Secret)
			for i := range auth.ChallengeMaxFailures {
				_, err := e.svc.LoginTOTPSetupConfirm(ctx, res.Challenge, wrongCode(e.code(secret, 0)), e.client())
				wantCode(t, "wrong setup code "+strconv.Itoa(i+1), err, gatehouse.EInvalidCode)
			}
			_, err = e.svc.LoginTOTPSetupConfirm(ctx, res.Challenge, e.code(secret, 0), e.client())
			wantCode(t, "the right setup code after five wrong ones", err, gatehouse.EInvalidChallenge)
		})
		t.Run("invalid_challenge/parallel_wrong_codes", func(t *testing.T) {
			admin := e.company(t)
			secret, _ := e.enableTOTP(t, admin)
			e.nextStep()
			res := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
			wrong := wrongCode(e.code(secret, 0))
			errs := concurrently(12, func(int) error {
				_, err := e.svc.LoginTOTP(ctx, res.Challenge, wrong, "", e.client())
				return err
			})
			codes := countCodes(errs)
			if codes[gatehouse.EInvalidCode] > auth.ChallengeMaxFailures ||
				codes[gatehouse.EInvalidCode]+codes[gatehouse.EInvalidChallenge]+codes[gatehouse.ETooManyAttempts] != len(errs) {
				t.Fatalf("12 wrong codes at once on one challenge: got %v, want at most %d checked and the rest refused",
					codes, auth.ChallengeMaxFailures)
			}
		})
		t.Run("invalid_challenge/user_disabled_meanwhile", func(t *testing.T) {
			admin := e.company(t)
			member := e.member(t, admin)
			secret, _ := e.enableTOTP(t, member)
			e.nextStep()
			res := e.loginStep(t, member.User.Email, goodPW, auth.StatusTOTPRequired)
			yes := true
			if _, err := e.svc.UpdateUser(ctx, admin, member.User.ID, auth.UserUpdate{Disabled: &yes}, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.LoginTOTP(ctx, res.Challenge, e.code(secret, 0), "", e.client())
			wantCode(t, "the code of a user disabled meanwhile", err, gatehouse.EInvalidChallenge)
		})
	})
}

// wrongCode returns a six-digit code other than code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// requireTOTP makes id's company require 2FA; id must have it.
func (e *env) requireTOTP(t testing.TB, id *auth.Identity) {
	t.Helper()
	yes := true
	if _, err := e.svc.UpdateCompany(ctx, id, auth.CompanyUpdate{RequireTOTP: &yes}, e.client()); err != nil {
		t.Fatalf("require 2FA: %v", err)
	}
}
