package auth_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestTemporaryPassword: a temporary password an admin gives works once,
// for the forced change of password, within TempPasswordLifetime; it ends
// what the user had open, and cannot be kept as the new password.
func TestTemporaryPassword(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		// temporary gives a new member of a new company a temporary password.
		temporary := func(t *testing.T) (admin *auth.Identity, u *gatehouse.User, temp string) {
			admin = e.company(t)
			u = e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			temp, err := e.svc.SetTemporaryPassword(ctx, admin, u.ID, "", e.client())
			if err != nil {
				t.Fatal(err)
			}
			return admin, u, temp
		}
		t.Run("invalid_credentials/temporary_password_expired", func(t *testing.T) {
			_, u, temp := temporary(t)
			e.clock.Advance(auth.TempPasswordLifetime - time.Minute)
			e.loginStep(t, u.Email, temp, auth.StatusPasswordChangeRequired)
			e.clock.Advance(time.Minute)
			_, err := e.svc.Login(ctx, u.Email, temp, e.client())
			wantCode(t, "the temporary password after its lifetime", err, gatehouse.EInvalidCredentials)
			_, wrong := e.svc.Login(ctx, u.Email, "wrong wrong wrong", e.client())
			if gatehouse.ErrorMessage(err) != gatehouse.ErrorMessage(wrong) {
				t.Errorf("an expired temporary password says %q, a wrong one %q", gatehouse.ErrorMessage(err), gatehouse.ErrorMessage(wrong))
			}
		})
		t.Run("invalid_credentials/temporary_password_used_once", func(t *testing.T) {
			_, u, temp := temporary(t)
			res := e.loginStep(t, u.Email, temp, auth.StatusPasswordChangeRequired)
			if _, err := e.svc.LoginChangePassword(ctx, res.Challenge, otherPW, otherPW, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Login(ctx, u.Email, temp, e.client())
			wantCode(t, "the temporary password once changed", err, gatehouse.EInvalidCredentials)
			e.signIn(t, u.Email, otherPW)
			if e.userByID(t, u.ID).MustChangePassword {
				t.Error("the user must still change their password")
			}
		})
		t.Run("password_reused/temporary_password_kept", func(t *testing.T) {
			_, u, temp := temporary(t)
			res := e.loginStep(t, u.Email, temp, auth.StatusPasswordChangeRequired)
			_, err := e.svc.LoginChangePassword(ctx, res.Challenge, temp, temp, e.client())
			wantCode(t, "the temporary password as the new one", err, gatehouse.EPasswordReused)
			if _, err := e.svc.LoginChangePassword(ctx, res.Challenge, otherPW, otherPW, e.client()); err != nil {
				t.Fatalf("a new password on the same challenge: %v", err)
			}
		})
		t.Run("password_too_weak/typed_by_admin", func(t *testing.T) {
			admin := e.company(t)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			_, err := e.svc.SetTemporaryPassword(ctx, admin, u.ID, "password1", e.client())
			wantCode(t, "a weak temporary password", err, gatehouse.EPasswordTooWeak)
			e.signIn(t, u.Email, goodPW)
		})
		t.Run("unauthenticated/sessions_end", func(t *testing.T) {
			admin := e.company(t)
			member := e.member(t, admin)
			session := sessionToken(t, e, member)
			if _, err := e.svc.SetTemporaryPassword(ctx, admin, member.User.ID, "", e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Authenticate(ctx, session)
			wantCode(t, "the session from before the temporary password", err, gatehouse.EUnauthenticated)
		})
		t.Run("too_many_attempts/lifted_by_temporary_password", func(t *testing.T) {
			admin := e.company(t)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			e.failLogins(t, u.Email, 5)
			temp, err := e.svc.SetTemporaryPassword(ctx, admin, u.ID, "", e.client())
			if err != nil {
				t.Fatal(err)
			}
			e.loginStep(t, u.Email, temp, auth.StatusPasswordChangeRequired)
		})
	})
}

// sessionToken signs in again as id's user and returns the new session's
// token, for a test that needs a token in hand (an Identity has none).
func sessionToken(t *testing.T, e *env, id *auth.Identity) string {
	t.Helper()
	res, err := e.svc.Login(ctx, id.User.Email, goodPW, e.client())
	if err != nil || res.Status != auth.StatusAuthenticated {
		t.Fatalf("login %s: got %+v, %v", id.User.Email, res, err)
	}
	return res.SessionToken
}

// resetToken asks for a reset link for email as "forgot password" does and
// returns the token of the link that arrives by mail.
func (e *env) resetToken(t *testing.T, email string) string {
	t.Helper()
	if err := e.svc.RequestPasswordReset(ctx, email, e.client()); err != nil {
		t.Fatal(err)
	}
	return e.mailToken(t, email, "Reset your")
}

// TestResetToken: a reset link sets a new password once, within
// ResetTokenLifetime; of racing requests with the same link exactly one
// wins. Using it ends every session and lifts the login throttle.
func TestResetToken(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("invalid_token/race", func(t *testing.T) {
			passwords := make([]string, 8)
			for i := range passwords {
				passwords[i] = goodPW + " number " + strconv.Itoa(i)
			}
			// Rounds, since the hashing before the transaction spreads the
			// racers out: a round where two meet in it is not certain.
			for round := range 5 {
				admin := e.company(t)
				u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
				token := e.resetToken(t, u.Email)
				errs := concurrently(len(passwords), func(i int) error {
					return e.svc.ResetPassword(ctx, token, passwords[i], passwords[i], e.client())
				})
				if codes := countCodes(errs); codes[""] != 1 || codes[gatehouse.EInvalidToken] != len(passwords)-1 {
					t.Fatalf("round %d: %d confirmations with one link at once: got %v, want one success and invalid_token for the rest",
						round, len(passwords), codes)
				}
				winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
				loser := (winner + 1) % len(passwords)
				_, err := e.svc.Login(ctx, u.Email, passwords[loser], e.client())
				wantCode(t, "a loser's password", err, gatehouse.EInvalidCredentials)
				e.signIn(t, u.Email, passwords[winner])
			}
		})
		t.Run("invalid_token/used", func(t *testing.T) {
			admin := e.company(t)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			token := e.resetToken(t, u.Email)
			wantCode(t, "the link", e.svc.ResetPassword(ctx, token, otherPW, otherPW, e.client()), "")
			wantCode(t, "the link again", e.svc.ResetPassword(ctx, token, goodPW, goodPW, e.client()), gatehouse.EInvalidToken)
			e.signIn(t, u.Email, otherPW)
		})
		t.Run("invalid_token/expired", func(t *testing.T) {
			admin := e.company(t)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			token := e.resetToken(t, u.Email)
			e.clock.Advance(auth.ResetTokenLifetime - time.Minute)
			if _, err := e.svc.CheckResetToken(ctx, token); err != nil {
				t.Fatalf("the link a minute before its end: %v", err)
			}
			e.clock.Advance(time.Minute)
			_, err := e.svc.CheckResetToken(ctx, token)
			wantCode(t, "the link at its end, checked", err, gatehouse.EInvalidToken)
			wantCode(t, "the link at its end, used", e.svc.ResetPassword(ctx, token, otherPW, otherPW, e.client()), gatehouse.EInvalidToken)
			e.signIn(t, u.Email, goodPW)
		})
		t.Run("unauthenticated/sessions_end", func(t *testing.T) {
			admin := e.company(t)
			member := e.member(t, admin)
			session := sessionToken(t, e, member)
			token := e.resetToken(t, member.User.Email)
			if err := e.svc.ResetPassword(ctx, token, otherPW, otherPW, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Authenticate(ctx, session)
			wantCode(t, "a session from before the reset", err, gatehouse.EUnauthenticated)
		})
		t.Run("too_many_attempts/lifted_by_reset", func(t *testing.T) {
			admin := e.company(t)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			e.failLogins(t, u.Email, 5)
			token := e.resetToken(t, u.Email)
			if err := e.svc.ResetPassword(ctx, token, otherPW, otherPW, e.client()); err != nil {
				t.Fatal(err)
			}
			e.signIn(t, u.Email, otherPW)
		})
	})
}

// TestInvitation: an invitation link lets the invited user choose a
// password once, within InvitationLifetime; a new invitation replaces it.
func TestInvitation(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		invite := func(t *testing.T, admin *auth.Identity) *gatehouse.User {
			t.Helper()
			u, err := e.svc.InviteUser(ctx, admin, auth.Invite{Email: "invitee" + strconv.FormatInt(e.seq.Add(1), 10) + "@example.com",
				Name: "Invitee"}, e.client())
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		t.Run("invalid_token/invitation_expired", func(t *testing.T) {
			admin := e.company(t)
			early, late := invite(t, admin), invite(t, admin)
			earlyToken := e.mailToken(t, early.Email, "invited you")
			lateToken := e.mailToken(t, late.Email, "invited you")
			e.clock.Advance(auth.InvitationLifetime - time.Minute)
			wantCode(t, "an invitation a minute before its end", e.svc.ResetPassword(ctx, earlyToken, goodPW, goodPW, e.client()), "")
			e.clock.Advance(time.Minute)
			wantCode(t, "an invitation at its end", e.svc.ResetPassword(ctx, lateToken, goodPW, goodPW, e.client()), gatehouse.EInvalidToken)
			if got := e.userByID(t, late.ID).Status(); got != gatehouse.StatusInvited {
				t.Errorf("the user of the expired invitation: got %s, want invited", got)
			}
			e.signIn(t, early.Email, goodPW)
		})
		t.Run("invalid_token/invitation_used", func(t *testing.T) {
			admin := e.company(t)
			u := invite(t, admin)
			token := e.mailToken(t, u.Email, "invited you")
			wantCode(t, "the invitation", e.svc.ResetPassword(ctx, token, goodPW, goodPW, e.client()), "")
			wantCode(t, "the invitation again", e.svc.ResetPassword(ctx, token, otherPW, otherPW, e.client()), gatehouse.EInvalidToken)
			e.signIn(t, u.Email, goodPW)
		})
		t.Run("invalid_token/invitation_replaced", func(t *testing.T) {
			admin := e.company(t)
			u := invite(t, admin)
			first := e.mailToken(t, u.Email, "invited you")
			if err := e.svc.ResetPasswordByEmail(ctx, admin, u.ID, e.client()); err != nil {
				t.Fatal(err)
			}
			second := ""
			for _, m := range e.smtp.WaitForCount(t, u.Email, "invited you", 2) {
				if token := testenv.LinkToken(t, m.Text); token != first {
					second = token
				}
			}
			wantCode(t, "the first invitation", e.svc.ResetPassword(ctx, first, goodPW, goodPW, e.client()), gatehouse.EInvalidToken)
			wantCode(t, "the second invitation", e.svc.ResetPassword(ctx, second, goodPW, goodPW, e.client()), "")
			e.signIn(t, u.Email, goodPW)
		})
	})
}

// TestPasswordTooLong: a password over password.MaxBytes is refused on
// every path before it is hashed, whether or not the account exists.
func TestPasswordTooLong(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		long := strings.Repeat("correct horse ", 150) // 2,100 bytes
		admin := e.company(t)
		member := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
		temp, err := e.svc.SetTemporaryPassword(ctx, admin, member.ID, "", e.client())
		if err != nil {
			t.Fatal(err)
		}
		challenge := e.loginStep(t, member.Email, temp, auth.StatusPasswordChangeRequired).Challenge
		resetFor := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
		token := e.resetToken(t, resetFor.Email)
		for name, call := range map[string]func() error{
			"login":              func() error { _, err := e.svc.Login(ctx, admin.User.Email, long, e.client()); return err },
			"login_unknown_user": func() error { _, err := e.svc.Login(ctx, "nobody@example.com", long, e.client()); return err },
			"change_password": func() error {
				_, err := e.svc.ChangePassword(ctx, admin, goodPW, long, long, false, e.client())
				return err
			},
			"login_change_password": func() error {
				_, err := e.svc.LoginChangePassword(ctx, challenge, long, long, e.client())
				return err
			},
			"reset_password": func() error { return e.svc.ResetPassword(ctx, token, long, long, e.client()) },
			"temporary_password": func() error {
				_, err := e.svc.SetTemporaryPassword(ctx, admin, member.ID, long, e.client())
				return err
			},
			"create_company": func() error {
				_, _, _, err := e.svc.CreateCompany(ctx, auth.NewCompany{Name: "Long Ltd", AdminName: "Long",
					AdminEmail: "long@example.com", Password: long}, e.client())
				return err
			},
		} {
			t.Run("password_too_long/"+name, func(t *testing.T) {
				hashed := e.hasher.Hashed()
				wantCode(t, name, call(), gatehouse.EPasswordTooLong)
				if n := e.hasher.Hashed() - hashed; n != 0 {
					t.Errorf("%s hashed %d times, want 0", name, n)
				}
			})
		}
	})
}
