package auth_test

import (
	"net/url"
	"strings"
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
			done := e.loginForMFAApp(t, u.Email)
			check("a session that set up its code", done.SessionToken, "")
		})
	})
}

// Nothing is cached (T65): the check after a logout, a password change
// (the user's other sessions), a disabled user, a deleted app or a host
// taken off the app refuses at once, and a host added admits at once.
func TestForwardAuthRevocation(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		created, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "Wiki",
			ForwardAuthHosts: []string{"wiki.example.com"}}, e.client())
		wantCode(t, "create app", err, "")
		want := func(what, host, token string, outcome auth.ForwardAuthOutcome) {
			t.Helper()
			for range 2 { // the second check after the first one's state
				res, err := e.svc.ForwardAuth(ctx, host, token)
				if err != nil || res.Outcome != outcome {
					t.Fatalf("%s: got %+v, %v; want outcome %d", what, res, err, outcome)
				}
			}
		}
		login := func(email, pw string) string {
			t.Helper()
			return e.loginStep(t, email, pw, auth.StatusAuthenticated).SessionToken
		}
		u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)

		tok := login(u.Email, goodPW)
		want("signed in", "wiki.example.com", tok, auth.ForwardAuthAllowed)
		wantCode(t, "logout", e.svc.Logout(ctx, e.authenticate(t, tok), e.client()), "")
		want("after logout", "wiki.example.com", tok, auth.ForwardAuthUnauthenticated)

		mine, other := login(u.Email, goodPW), login(u.Email, goodPW)
		_, err = e.svc.ChangePassword(ctx, e.authenticate(t, mine), goodPW, otherPW, otherPW, true, e.client())
		wantCode(t, "password change", err, "")
		want("another session after a password change", "wiki.example.com", other, auth.ForwardAuthUnauthenticated)

		tok = login(u.Email, otherPW)
		want("signed in again", "wiki.example.com", tok, auth.ForwardAuthAllowed)
		disabled := true
		_, err = e.svc.UpdateUser(ctx, admin, u.ID, auth.UserUpdate{Disabled: &disabled}, e.client())
		wantCode(t, "disable", err, "")
		want("disabled", "wiki.example.com", tok, auth.ForwardAuthUnauthenticated)

		adminTok := login(admin.User.Email, goodPW)
		clientID := created.Application.ClientID
		_, err = e.svc.UpdateApplication(ctx, admin, clientID, auth.ApplicationChange{ForwardAuthHosts: []string{"docs.example.com"}}, e.client())
		wantCode(t, "move the app to another host", err, "")
		want("the host taken off", "wiki.example.com", adminTok, auth.ForwardAuthUnknownHost)
		want("the host added", "docs.example.com", adminTok, auth.ForwardAuthAllowed)
		wantCode(t, "delete app", e.svc.DeleteApplication(ctx, admin, clientID, e.client()), "")
		want("the app deleted", "docs.example.com", adminTok, auth.ForwardAuthUnknownHost)
	})
}

// The return after a login (/login?rd=) goes only to a host some app
// registered exactly, in any case and with any port, while it is
// registered; the login page carries an original URL unless it is too
// long to.
func TestReturnApplication(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		created, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "Wiki",
			ForwardAuthHosts: []string{"wiki.example.com"}}, e.client())
		wantCode(t, "create app", err, "")
		for _, tt := range []struct {
			raw  string
			want bool
		}{
			{"https://wiki.example.com/page?x=1#top", true},
			{"http://WIKI.example.com:8443/", true},
			{"https://example.com/", false},
			{"https://x.wiki.example.com/", false},
			{"https://wiki.example.com.evil.example/", false},
			{"https://user@wiki.example.com/", false},
			{"//wiki.example.com/", false},
			{"https://wiki.example.com/" + strings.Repeat("a", auth.MaxReturnURLLen), false},
		} {
			a, err := e.svc.ReturnApplication(ctx, tt.raw)
			if err != nil || (a != nil) != tt.want || a != nil && a.ClientID != created.Application.ClientID {
				t.Errorf("ReturnApplication(%.50q): got %v, %v; want the app: %v", tt.raw, a, err, tt.want)
			}
		}
		wantCode(t, "delete app", e.svc.DeleteApplication(ctx, admin, created.Application.ClientID, e.client()), "")
		if a, err := e.svc.ReturnApplication(ctx, "https://wiki.example.com/"); a != nil || err != nil {
			t.Errorf("after the app was deleted: got %v, %v; want none", a, err)
		}

		if got, want := e.svc.LoginURL("https://wiki.example.com/a?b=c&d"), "https://gatehouse.test/login?rd="+
			url.QueryEscape("https://wiki.example.com/a?b=c&d"); got != want {
			t.Errorf("LoginURL: got %q, want %q", got, want)
		}
		long := "https://wiki.example.com/" + strings.Repeat("a", auth.MaxReturnURLLen)
		if got := e.svc.LoginURL(long); got != "https://gatehouse.test/login" {
			t.Errorf("LoginURL of a URL too long to carry: got %.60q, want the bare login page", got)
		}
		if got := e.svc.LoginURL(""); got != "https://gatehouse.test/login" {
			t.Errorf("LoginURL without an original: got %q", got)
		}
	})
}

// The check admits exactly the sessions the session check (Authenticate)
// accepts, with what it reads in its one statement: in a company that
// requires 2FA, a session of a user with an authenticator app is admitted
// and one of a user without a second factor is not.
func TestForwardAuthIsTheSessionCheck(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		if _, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "Wiki",
			ForwardAuthHosts: []string{"wiki.example.com"}}, e.client()); err != nil {
			t.Fatal(err)
		}
		member := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
		memberSession := e.loginStep(t, member.Email, goodPW, auth.StatusAuthenticated).SessionToken
		secret, _ := e.enableTOTP(t, admin)
		e.nextStep()
		first := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
		res, err := e.svc.LoginTOTP(ctx, first.Challenge, e.code(secret, 0), "", e.client())
		if err != nil || res.Status != auth.StatusAuthenticated {
			t.Fatalf("code: got %+v, %v", res, err)
		}
		yes := true
		if _, err := e.svc.UpdateCompany(ctx, e.authenticate(t, res.SessionToken), auth.CompanyUpdate{RequireTOTP: &yes}, e.client()); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			what, token string
			want        auth.ForwardAuthOutcome
		}{
			{"the admin's session with the code", res.SessionToken, auth.ForwardAuthAllowed},
			{"the member's without a second factor", memberSession, auth.ForwardAuthUnauthenticated},
		} {
			got, err := e.svc.ForwardAuth(ctx, "wiki.example.com", tt.token)
			if err != nil || got.Outcome != tt.want {
				t.Errorf("%s: got %+v, %v; want outcome %d", tt.what, got, err, tt.want)
			}
			if _, err := e.svc.Authenticate(ctx, tt.token); (err == nil) != (tt.want == auth.ForwardAuthAllowed) {
				t.Errorf("%s: Authenticate got %v, unlike the forward-auth check", tt.what, err)
			}
		}
	})
}
