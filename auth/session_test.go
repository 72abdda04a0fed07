package auth_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// TestSessions: a session ends when it is left idle, at the end of its
// lifetime, at logout, when revoked, and when its user is disabled.
func TestSessions(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("unauthenticated/idle", func(t *testing.T) {
			admin := e.company(t)
			token := sessionToken(t, e, admin)
			e.clock.Advance(24*time.Hour - time.Minute)
			e.authenticate(t, token) // and records the activity
			e.clock.Advance(24*time.Hour - time.Minute)
			e.authenticate(t, token)
			e.clock.Advance(24 * time.Hour)
			_, err := e.svc.Authenticate(ctx, token)
			wantCode(t, "a session idle for a day", err, gatehouse.EUnauthenticated)
		})
		t.Run("unauthenticated/lifetime", func(t *testing.T) {
			admin := e.company(t)
			token := sessionToken(t, e, admin)
			for range 7 {
				e.clock.Advance(23 * time.Hour)
				e.authenticate(t, token)
			}
			e.clock.Advance(7*time.Hour + time.Second)
			_, err := e.svc.Authenticate(ctx, token)
			wantCode(t, "a session in use for seven days", err, gatehouse.EUnauthenticated)
		})
		t.Run("unauthenticated/logout", func(t *testing.T) {
			admin := e.company(t)
			token := sessionToken(t, e, admin)
			other := sessionToken(t, e, admin)
			if err := e.svc.Logout(ctx, e.authenticate(t, token), e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Authenticate(ctx, token)
			wantCode(t, "the session after logout", err, gatehouse.EUnauthenticated)
			e.authenticate(t, other)
		})
		t.Run("unauthenticated/user_disabled", func(t *testing.T) {
			admin := e.company(t)
			member := e.member(t, admin)
			token := sessionToken(t, e, member)
			yes := true
			if _, err := e.svc.UpdateUser(ctx, admin, member.User.ID, auth.UserUpdate{Disabled: &yes}, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Authenticate(ctx, token)
			wantCode(t, "a disabled user's session", err, gatehouse.EUnauthenticated)
		})
		t.Run("not_found/revoke_another_users_session", func(t *testing.T) {
			admin := e.company(t)
			member := e.member(t, admin)
			err := e.svc.RevokeSession(ctx, admin, member.Session.ID, e.client())
			wantCode(t, "revoke another user's session", err, gatehouse.ENotFound)
			e.authenticate(t, sessionToken(t, e, member))
			mine := e.signIn(t, admin.User.Email, goodPW)
			wantCode(t, "revoke one's own other session", e.svc.RevokeSession(ctx, admin, mine.Session.ID, e.client()), "")
		})
	})
}

// TestChangePassword: changing one's password needs the current one, a new
// one that differs, and ends every other session; a rotated session goes
// on under a new token.
func TestChangePassword(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("current_password_incorrect", func(t *testing.T) {
			admin := e.company(t)
			_, err := e.svc.ChangePassword(ctx, admin, "wrong wrong wrong", otherPW, otherPW, false, e.client())
			wantCode(t, "a wrong current password", err, gatehouse.ECurrentPasswordIncorrect)
			e.signIn(t, admin.User.Email, goodPW)
		})
		t.Run("password_reused/same_as_current", func(t *testing.T) {
			admin := e.company(t)
			_, err := e.svc.ChangePassword(ctx, admin, goodPW, goodPW, goodPW, false, e.client())
			wantCode(t, "the current password as the new one", err, gatehouse.EPasswordReused)
		})
		t.Run("passwords_do_not_match", func(t *testing.T) {
			admin := e.company(t)
			_, err := e.svc.ChangePassword(ctx, admin, goodPW, otherPW, otherPW+"x", false, e.client())
			wantCode(t, "a confirmation that differs", err, gatehouse.EPasswordsDoNotMatch)
		})
		t.Run("unauthenticated/other_sessions_end", func(t *testing.T) {
			admin := e.company(t)
			this := sessionToken(t, e, admin)
			other := sessionToken(t, e, admin)
			if _, err := e.svc.ChangePassword(ctx, e.authenticate(t, this), goodPW, otherPW, otherPW, false, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Authenticate(ctx, other)
			wantCode(t, "another session after the change", err, gatehouse.EUnauthenticated)
			e.authenticate(t, this)
			e.smtp.WaitFor(t, admin.User.Email, "password was changed")
		})
		t.Run("unauthenticated/rotated_token", func(t *testing.T) {
			admin := e.company(t)
			old := sessionToken(t, e, admin)
			token, err := e.svc.ChangePassword(ctx, e.authenticate(t, old), goodPW, otherPW, otherPW, true, e.client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.Authenticate(ctx, old)
			wantCode(t, "the session's old token", err, gatehouse.EUnauthenticated)
			e.authenticate(t, token)
		})
	})
}
