package auth_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// wantThrottled fails the test unless err is too_many_attempts with a
// Retry-After of wait.
func wantThrottled(t *testing.T, what string, err error, wait time.Duration) {
	t.Helper()
	wantCode(t, what, err, gatehouse.ETooManyAttempts)
	if got := gatehouse.AsError(err).RetryAfter; got != wait {
		t.Fatalf("%s: retry after %v, want %v", what, got, wait)
	}
}

// failLogins makes n wrong-password logins of email, each from an address
// of its own, and fails the test unless each is invalid_credentials.
func (e *env) failLogins(t *testing.T, email string, n int) {
	t.Helper()
	for i := range n {
		_, err := e.svc.Login(ctx, email, "wrong wrong wrong", e.client())
		wantCode(t, "wrong password "+strconv.Itoa(i+1), err, gatehouse.EInvalidCredentials)
	}
}

// TestThrottle: wrong passwords and codes are counted per account (five,
// then a block of 30 seconds that doubles up to 15 minutes) and per client
// address (a hundred, then a minute). An attempt is counted before it is
// checked, so a burst of parallel guesses gets no more than the sequence
// would; a right one takes its own count back, not the earlier ones.
func TestThrottle(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("too_many_attempts/account", func(t *testing.T) {
			admin := e.company(t)
			e.failLogins(t, admin.User.Email, 5)
			// Even the right password waits, from any address.
			_, err := e.svc.Login(ctx, admin.User.Email, goodPW, e.client())
			wantThrottled(t, "the right password after five wrong ones", err, 30*time.Second)
			// Another account is not held back.
			e.signIn(t, e.user(t, admin.User.CompanyID, gatehouse.RoleMember).Email, goodPW)
			e.clock.Advance(30 * time.Second)
			e.signIn(t, admin.User.Email, goodPW)
		})
		t.Run("too_many_attempts/unknown_email_alike", func(t *testing.T) {
			e.failLogins(t, "nobody@example.com", 5)
			_, err := e.svc.Login(ctx, "nobody@example.com", goodPW, e.client())
			wantThrottled(t, "an unknown email after five failures", err, 30*time.Second)
		})
		t.Run("too_many_attempts/account_backoff", func(t *testing.T) {
			admin := e.company(t)
			e.failLogins(t, admin.User.Email, 5)
			for _, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute,
				8 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
				_, err := e.svc.Login(ctx, admin.User.Email, goodPW, e.client())
				wantThrottled(t, "blocked", err, wait)
				e.clock.Advance(wait)
				e.failLogins(t, admin.User.Email, 1)
			}
		})
		t.Run("too_many_attempts/refusals_do_not_extend_block", func(t *testing.T) {
			admin := e.company(t)
			e.failLogins(t, admin.User.Email, 5)
			for range 10 {
				e.clock.Advance(time.Second)
				_, err := e.svc.Login(ctx, admin.User.Email, "wrong wrong wrong", e.client())
				wantCode(t, "hammering a blocked account", err, gatehouse.ETooManyAttempts)
			}
			e.clock.Advance(20 * time.Second)
			e.signIn(t, admin.User.Email, goodPW)
		})
		t.Run("too_many_attempts/counted_before_checked", func(t *testing.T) {
			admin := e.company(t)
			errs := concurrently(20, func(int) error {
				_, err := e.svc.Login(ctx, admin.User.Email, "wrong wrong wrong", e.client())
				return err
			})
			codes := countCodes(errs)
			if codes[gatehouse.EInvalidCredentials] != 5 || codes[gatehouse.ETooManyAttempts] != 15 {
				t.Fatalf("20 wrong passwords at once: got %v, want 5 invalid_credentials and 15 too_many_attempts", codes)
			}
		})
		t.Run("too_many_attempts/right_password_clears", func(t *testing.T) {
			admin := e.company(t)
			e.failLogins(t, admin.User.Email, 4)
			e.signIn(t, admin.User.Email, goodPW)
			// A completed login forgets the failures before it.
			e.failLogins(t, admin.User.Email, 4)
			e.signIn(t, admin.User.Email, goodPW)
		})
		t.Run("too_many_attempts/block_waited_out_then_right_password_and_code", func(t *testing.T) {
			admin := e.company(t)
			secret, _ := e.enableTOTP(t, admin)
			e.failLogins(t, admin.User.Email, 5)
			e.clock.Advance(30 * time.Second)
			e.nextStep()
			// The right password's own count is taken back with the block
			// it set, so the code step that follows is not refused.
			res := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
			res, err := e.svc.LoginTOTP(ctx, res.Challenge, e.code(secret, 0), "", e.client())
			wantCode(t, "the right code after a block waited out", err, "")
			e.authenticate(t, res.SessionToken)
		})
		t.Run("too_many_attempts/known_password_buys_no_code_guesses", func(t *testing.T) {
			admin := e.company(t)
			secret, _ := e.enableTOTP(t, admin)
			e.nextStep()
			e.failLogins(t, admin.User.Email, 4)
			res := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
			_, err := e.svc.LoginTOTP(ctx, res.Challenge, wrongCode(e.code(secret, 0)), "", e.client())
			wantCode(t, "a wrong code, the fifth failure", err, gatehouse.EInvalidCode)
			_, err = e.svc.LoginTOTP(ctx, res.Challenge, e.code(secret, 0), "", e.client())
			wantThrottled(t, "the right code after the fifth failure", err, 30*time.Second)
		})
		t.Run("too_many_attempts/wrong_codes_across_challenges", func(t *testing.T) {
			admin := e.company(t)
			secret, _ := e.enableTOTP(t, admin)
			e.nextStep()
			wrong := wrongCode(e.code(secret, 0))
			res := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
			for range 3 {
				_, err := e.svc.LoginTOTP(ctx, res.Challenge, wrong, "", e.client())
				wantCode(t, "a wrong code on the first challenge", err, gatehouse.EInvalidCode)
			}
			res = e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
			for range 2 {
				_, err := e.svc.LoginTOTP(ctx, res.Challenge, wrong, "", e.client())
				wantCode(t, "a wrong code on the second challenge", err, gatehouse.EInvalidCode)
			}
			_, err := e.svc.LoginTOTP(ctx, res.Challenge, e.code(secret, 0), "", e.client())
			wantThrottled(t, "the right code after five wrong ones over two challenges", err, 30*time.Second)
		})
		t.Run("too_many_attempts/setup_codes", func(t *testing.T) {
			admin := e.company(t)
			en, err := e.svc.BeginTOTPEnrollment(ctx, admin, "", e.client())
			if err != nil {
				t.Fatal(err)
			}
			secret := decodeSecret(t, en.Secret)
			for i := range 5 {
				_, err := e.svc.ConfirmTOTP(ctx, admin, wrongCode(e.code(secret, 0)), e.client())
				wantCode(t, "wrong setup code "+strconv.Itoa(i+1), err, gatehouse.EInvalidCode)
			}
			_, err = e.svc.ConfirmTOTP(ctx, admin, e.code(secret, 0), e.client())
			wantThrottled(t, "the right setup code after five wrong ones", err, 30*time.Second)
		})
		t.Run("too_many_attempts/current_password", func(t *testing.T) {
			admin := e.company(t)
			for i := range 5 {
				_, err := e.svc.ChangePassword(ctx, admin, "wrong wrong wrong", otherPW, otherPW, false, e.client())
				wantCode(t, "wrong current password "+strconv.Itoa(i+1), err, gatehouse.ECurrentPasswordIncorrect)
			}
			_, err := e.svc.ChangePassword(ctx, admin, goodPW, otherPW, otherPW, false, e.client())
			wantThrottled(t, "the right current password after five wrong ones", err, 30*time.Second)
		})
		t.Run("too_many_attempts/lifted_by_admin_unlock", func(t *testing.T) {
			admin := e.company(t)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			e.failLogins(t, u.Email, 5)
			d, err := e.svc.CompanyUser(ctx, admin, u.ID)
			if err != nil || d.LockedUntil.IsZero() {
				t.Fatalf("the admin's view of a blocked user: got %+v, %v; want LockedUntil set", d, err)
			}
			if err := e.svc.UnlockUser(ctx, admin, u.ID, e.client()); err != nil {
				t.Fatal(err)
			}
			e.signIn(t, u.Email, goodPW)
		})
		t.Run("too_many_attempts/address", func(t *testing.T) {
			admin := e.company(t)
			c := e.client()
			// A hundred failures from one address, four per account so
			// that no account is blocked.
			for i := range 100 {
				_, err := e.svc.Login(ctx, fmt.Sprintf("guess%d-%d@example.com", e.seq.Load(), i/4), "wrong wrong wrong", c)
				wantCode(t, "failure "+strconv.Itoa(i+1), err, gatehouse.EInvalidCredentials)
			}
			_, err := e.svc.Login(ctx, admin.User.Email, goodPW, c)
			wantThrottled(t, "the right password from the address", err, time.Minute)
			e.signIn(t, admin.User.Email, goodPW) // from another address
			e.clock.Advance(time.Minute)
			if _, err := e.svc.Login(ctx, admin.User.Email, goodPW, c); err != nil {
				t.Fatalf("the address after its block: %v", err)
			}
		})
		t.Run("too_many_attempts/bad_tokens_count_against_address", func(t *testing.T) {
			admin := e.company(t)
			c := e.client()
			for i := range 100 {
				token, _ := gatehouse.NewToken()
				err := e.svc.ResetPassword(ctx, token, otherPW, otherPW, c)
				wantCode(t, "made-up token "+strconv.Itoa(i+1), err, gatehouse.EInvalidToken)
			}
			token, _ := gatehouse.NewToken()
			wantThrottled(t, "a token from the address", e.svc.ResetPassword(ctx, token, otherPW, otherPW, c), time.Minute)
			_, err := e.svc.Login(ctx, admin.User.Email, goodPW, c)
			wantThrottled(t, "a login from the address", err, time.Minute)
		})
		t.Run("too_many_attempts/reset_mail_per_recipient", func(t *testing.T) {
			admin := e.company(t)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			for i := range 3 {
				wantCode(t, "reset mail "+strconv.Itoa(i+1), e.svc.ResetPasswordByEmail(ctx, admin, u.ID, e.client()), "")
			}
			wantThrottled(t, "a fourth reset mail in the hour", e.svc.ResetPasswordByEmail(ctx, admin, u.ID, e.client()), time.Hour)
		})
	})
}
