package auth_test

import (
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// An app that requires MFA admits a session by how it signed in (its
// recorded methods hold mfa), not by what the user has enrolled since:
// forward auth and the OIDC provider judge it by one rule (Admission).
func TestForwardAuthMFAIsTheSessions(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		if _, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "Vault",
			ForwardAuthHosts: []string{"vault.example.com"}, RequireMFA: true}, e.client()); err != nil {
			t.Fatal(err)
		}
		check := func(what, token, want string) {
			t.Helper()
			res, err := e.svc.ForwardAuth(ctx, "vault.example.com", token)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			wantOutcome := auth.ForwardAuthAllowed
			if want != "" {
				wantOutcome = auth.ForwardAuthNotAdmitted
			}
			if res.Outcome != wantOutcome || res.Reason != want {
				t.Errorf("%s: got outcome %d reason %q, want %d %q", what, res.Outcome, res.Reason, wantOutcome, want)
			}
			if got := auth.Admission(res.Application, e.authenticate(t, token)); got != want {
				t.Errorf("%s: Admission got %q, want %q", what, got, want)
			}
		}
		password := func(email string) string {
			t.Helper()
			return e.loginStep(t, email, goodPW, auth.StatusAuthenticated).SessionToken
		}

		t.Run("mfa/password_session_of_a_user_who_enrolled_since", func(t *testing.T) {
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			laptop := password(u.Email)
			check("before any factor", laptop, auth.NotAdmittedMFA)
			// On another device the user turns on an authenticator app.
			phone := e.signIn(t, u.Email, goodPW)
			secret, _ := e.enableTOTP(t, phone)
			if !e.userByID(t, u.ID).HasSecondFactor() {
				t.Fatal("the user has no second factor after enrolling")
			}
			check("the laptop's password-only session", laptop, auth.NotAdmittedMFA)
			// A login that gives the code is admitted.
			e.nextStep()
			first := e.loginStep(t, u.Email, goodPW, auth.StatusTOTPRequired)
			res, err := e.svc.LoginTOTP(ctx, first.Challenge, e.code(secret, 0), "", e.client())
			if err != nil || res.Status != auth.StatusAuthenticated {
				t.Fatalf("code: got %+v, %v", res, err)
			}
			check("a session that gave the code", res.SessionToken, "")
			check("the laptop still", laptop, auth.NotAdmittedMFA)
		})
		t.Run("mfa/the_enrolling_session_itself", func(t *testing.T) {
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			res := e.loginStep(t, u.Email, goodPW, auth.StatusAuthenticated)
			e.enableTOTP(t, e.authenticate(t, res.SessionToken))
			check("a password-only session that enrolled", res.SessionToken, auth.NotAdmittedMFA)
		})
		t.Run("mfa/passkey_session", func(t *testing.T) {
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			before := password(u.Email)
			a := e.addPasskey(t, e.signIn(t, u.Email, goodPW))
			check("a password-only session from before the passkey", before, auth.NotAdmittedMFA)
			res, err := e.passkeyLogin(t, a)
			if err != nil || res.Status != auth.StatusAuthenticated {
				t.Fatalf("passkey login: got %+v, %v", res, err)
			}
			check("a passkey session", res.SessionToken, "")
		})
		t.Run("mfa/setup_during_the_login_for_the_app", func(t *testing.T) {
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			c := e.client()
			c.ForMFAApp = true
			res, err := e.svc.Login(ctx, u.Email, goodPW, c)
			if err != nil || res.Status != auth.StatusTOTPSetupRequired {
				t.Fatalf("login for the app: got %+v, %v; want totp_setup_required", res, err)
			}
			en, err := e.svc.LoginTOTPSetup(ctx, res.Challenge, e.client())
			if err != nil {
				t.Fatal(err)
			}
			done, err := e.svc.LoginTOTPSetupConfirm(ctx, res.Challenge, e.code(decodeSecret(t, en.Secret), 0), e.client())
			if err != nil || done.Status != auth.StatusAuthenticated {
				t.Fatalf("setup confirm: got %+v, %v", done, err)
			}
			check("a session that set up its code", done.SessionToken, "")
		})
	})
}
