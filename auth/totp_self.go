package auth

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/totp"
)

// EnrollmentLifetime is how long a secret offered on the profile page waits
// for the code that confirms it. Long enough to find the phone and install
// an app; short enough that a QR code left on a screen goes stale.
const EnrollmentLifetime = 15 * time.Minute

func errTOTPAlreadyEnabled() error {
	return gatehouse.Errorf(gatehouse.ETOTPAlreadyEnabled, "Two-factor authentication is already on.")
}

func errTOTPNotEnabled() error {
	return gatehouse.Errorf(gatehouse.ETOTPNotEnabled, "Two-factor authentication is off.")
}

func errCurrentPassword() error {
	return gatehouse.Errorf(gatehouse.ECurrentPasswordIncorrect, "Your current password is incorrect.")
}

func errReauthenticate() error {
	return gatehouse.Errorf(gatehouse.EReauthenticationRequired, "Enter your password to continue.")
}

func errRequiredByCompany() error {
	return gatehouse.Errorf(gatehouse.ETOTPRequiredByCompany,
		"Your company requires two-factor authentication, so it can't be turned off.")
}

// TOTPState is what the profile page shows about the caller's 2FA: the
// authenticator app and the passkeys.
type TOTPState struct {
	Enabled           bool
	EnabledAt         time.Time
	RecoveryCodesLeft int
	// RequiredByCompany: the company requires 2FA, so it cannot be turned off.
	RequiredByCompany bool
	// NeedsPassword: starting enrollment asks for the password, because the
	// session's login is older than ReauthWindow.
	NeedsPassword bool
	// Pending is the secret offered by BeginTOTPEnrollment while it waits
	// for its code; nil when none is waiting.
	Pending          *Enrollment
	PendingExpiresAt time.Time
	// Passkeys are the caller's passkeys, oldest first.
	Passkeys []*gatehouse.Passkey
}

// TOTPState describes the caller's 2FA. It changes nothing, so a page can
// call it on every GET; the pending secret is shown only until it is
// confirmed or expires. Its reads are one snapshot: turning the app on or
// off changes the user, the pending secret and the recovery codes in one
// commit, and reads on either side of it showed the app on with no
// recovery codes left, or off with no offer pending.
func (s *Service) TOTPState(ctx context.Context, id *Identity) (*TOTPState, error) {
	var st TOTPState
	err := s.store.ViewSnapshot(ctx, func(tx gatehouse.Tx) error {
		u, err := tx.User(id.User.ID)
		if err != nil {
			return err
		}
		company, err := tx.Company(u.CompanyID)
		if err != nil {
			return err
		}
		// A passkey is a second factor too: with one, the app may go.
		st = TOTPState{Enabled: u.TOTPEnabled(), EnabledAt: u.TOTPEnabledAt, RequiredByCompany: company.RequireTOTP && u.Passkeys == 0,
			NeedsPassword: needsReauth(id.Session, tx.Now())}
		if u.Passkeys > 0 {
			if st.Passkeys, err = tx.Passkeys(u.CompanyID, u.ID); err != nil {
				return err
			}
		}
		if st.Enabled {
			st.RecoveryCodesLeft, err = tx.CountRecoveryCodes(u.ID)
			return err
		}
		secret, expires, err := s.pendingSecret(tx, u, id.Session.ID)
		if err != nil || secret == nil {
			return err
		}
		st.Pending, err = s.enrollment(u, secret)
		st.PendingExpiresAt = expires
		return err
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// now is the store's time, which every rule goes by.
func (s *Service) now(ctx context.Context) time.Time {
	var now time.Time
	s.store.View(ctx, func(tx gatehouse.Tx) error {
		now = tx.Now()
		return nil
	})
	return now
}

// needsReauth reports whether a sensitive change on this session needs the
// password again: the login that made it is older than ReauthWindow.
func needsReauth(sess *gatehouse.Session, now time.Time) bool {
	return now.Sub(sess.CreatedAt) > ReauthWindow
}

// pendingSecret opens the secret offered for enrollment to the session
// sessionID; nil when none was offered, the offer expired, or another
// session of the user asked for it.
func (s *Service) pendingSecret(tx gatehouse.Tx, u *gatehouse.User, sessionID string) (secret []byte, expires time.Time, err error) {
	sealed, at, err := tx.UserTOTPPending(u.ID)
	if err != nil || sealed == nil {
		return nil, time.Time{}, err
	}
	expires = at.Add(EnrollmentLifetime)
	if !tx.Now().Before(expires) {
		return nil, time.Time{}, nil
	}
	secret, err = s.sealer.Open(sealed, pendingTOTPAAD(u.ID, sessionID))
	if errors.Is(err, seal.ErrCorrupt) {
		return nil, time.Time{}, nil // offered to another session
	}
	return secret, expires, err
}

// BeginTOTPEnrollment offers the caller a new secret for their
// authenticator app. Nothing changes for login until ConfirmTOTP: the
// secret waits as the user's pending secret. Every call makes a new one,
// so an entry scanned from an earlier offer (or an earlier enrollment)
// never starts working. The offer is sealed to the session that asked for
// it: another session of the user (one that is old, or stolen) can
// neither read it on the profile page nor confirm it, so it cannot copy
// the second factor that a fresh, re-authenticated session set up.
//
// The password is needed when the session's login is older than
// ReauthWindow (EReauthenticationRequired without it), so that a browser
// left signed in cannot be given someone else's second factor. A password
// given is always checked.
func (s *Service) BeginTOTPEnrollment(ctx context.Context, id *Identity, pw string, c Client) (*Enrollment, error) {
	if id.User.TOTPEnabled() {
		return nil, errTOTPAlreadyEnabled()
	}
	if pw == "" {
		if needsReauth(id.Session, s.now(ctx)) {
			return nil, errReauthenticate()
		}
	} else if err := s.verifyCurrentPassword(ctx, id.User, pw); err != nil {
		return nil, err
	}
	var en *Enrollment
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		u, err := s.freshUser(tx, id.User, pw != "")
		if err != nil {
			return err
		}
		if u.TOTPEnabled() {
			return errTOTPAlreadyEnabled()
		}
		secret := totp.NewSecret()
		if err := tx.SetUserTOTPPending(u.ID, s.sealer.Seal(secret, pendingTOTPAAD(u.ID, id.Session.ID))); err != nil {
			return err
		}
		en, err = s.enrollment(u, secret)
		return err
	})
	if err != nil {
		return nil, err
	}
	return en, nil
}

// CancelTOTPEnrollment forgets the secret offered for enrollment.
func (s *Service) CancelTOTPEnrollment(ctx context.Context, id *Identity) error {
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		return tx.SetUserTOTPPending(id.User.ID, nil)
	})
}

// ConfirmTOTP turns 2FA on once a code from the app matches the pending
// secret, and returns the recovery codes to show once. Wrong codes count
// against the account like wrong login codes. The step of the confirming
// code is recorded, so that code cannot also be used to log in.
func (s *Service) ConfirmTOTP(ctx context.Context, id *Identity, code string, c Client) ([]string, error) {
	var codes []string
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if err := addressLimit.check(tx, failureKey(c.IP)); err != nil {
			return err
		}
		// Counting first also serialises two confirmations racing on
		// PostgreSQL: the second reads the user after the first commits.
		acct := accountKey(id.User.Email)
		if err := accountLimit.reserve(tx, acct); err != nil {
			return err
		}
		u, err := tx.User(id.User.ID)
		if err != nil {
			return err
		}
		if u.TOTPEnabled() {
			return errTOTPAlreadyEnabled()
		}
		secret, _, err := s.pendingSecret(tx, u, id.Session.ID)
		if err != nil {
			return err
		}
		if secret == nil {
			return errEnrollmentRequired()
		}
		step, ok := totp.Verify(secret, code, tx.Now(), 0)
		if !ok {
			o.err = errInvalidCode()
			if err := addressLimit.record(tx, failureKey(c.IP)); err != nil {
				return err
			}
			e := event(gatehouse.EventTOTPFailed, u.CompanyID, u.ID, u.ID, c)
			e.Detail = "step=enrollment"
			return s.audit(tx, e)
		}
		if err := accountLimit.release(tx, acct); err != nil {
			return err
		}
		codes, err = s.enableTOTP(tx, o, u, secret, step, "", c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP turns the caller's 2FA off, with their current password.
// Their recovery codes go with it. While the company requires 2FA it
// cannot be turned off (ETOTPRequiredByCompany), whatever the password.
func (s *Service) DisableTOTP(ctx context.Context, id *Identity, pw string, c Client) error {
	if !id.User.TOTPEnabled() {
		return errTOTPNotEnabled()
	}
	// The company's rule first: no password is guessed for a change that
	// cannot happen.
	if err := s.store.View(ctx, func(tx gatehouse.Tx) error {
		return checkCompanyAllowsNoTOTP(tx, id.User)
	}); err != nil {
		return err
	}
	if err := s.verifyCurrentPassword(ctx, id.User, pw); err != nil {
		return err
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		u, err := s.freshUser(tx, id.User, true)
		if err != nil {
			return err
		}
		if !u.TOTPEnabled() {
			return errTOTPNotEnabled()
		}
		if err := checkCompanyAllowsNoTOTP(tx, u); err != nil {
			return err
		}
		if err := clearTOTP(tx, u); err != nil {
			return err
		}
		if err := s.audit(tx, event(gatehouse.EventTOTPDisabled, u.CompanyID, u.ID, u.ID, c)); err != nil {
			return err
		}
		return s.queueMail(tx, o, u, c, mail.MessageTOTPDisabled, s.mailData(u, c))
	})
}

// checkCompanyAllowsNoTOTP refuses to turn u's authenticator app off while
// the company requires 2FA, unless a passkey remains as the second factor.
func checkCompanyAllowsNoTOTP(tx gatehouse.Tx, u *gatehouse.User) error {
	if u.Passkeys > 0 {
		return nil
	}
	return checkCompanyAllowsNoSecondFactor(tx, u.CompanyID)
}

// clearTOTP turns a user's 2FA off: the secret, any pending secret and
// every recovery code.
func clearTOTP(tx gatehouse.Tx, u *gatehouse.User) error {
	if err := tx.SetUserTOTP(u.ID, nil, 0); err != nil {
		return err
	}
	if err := tx.ReplaceRecoveryCodes(u.ID, nil); err != nil {
		return err
	}
	u.TOTPSecret, u.TOTPEnabledAt, u.TOTPLastStep = nil, time.Time{}, 0
	return nil
}

// RegenerateRecoveryCodes replaces all the caller's recovery codes with new
// ones, with their current password, and returns the new codes to show
// once. The old codes stop working at once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, id *Identity, pw string, c Client) ([]string, error) {
	if !id.User.TOTPEnabled() {
		return nil, errTOTPNotEnabled()
	}
	if err := s.verifyCurrentPassword(ctx, id.User, pw); err != nil {
		return nil, err
	}
	var codes []string
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		u, err := s.freshUser(tx, id.User, true)
		if err != nil {
			return err
		}
		if !u.TOTPEnabled() {
			return errTOTPNotEnabled()
		}
		var hashes [][]byte
		codes, hashes = newRecoveryCodes(u.ID)
		if err := tx.ReplaceRecoveryCodes(u.ID, hashes); err != nil {
			return err
		}
		if err := s.audit(tx, event(gatehouse.EventRecoveryCodesRegenerate, u.CompanyID, u.ID, u.ID, c)); err != nil {
			return err
		}
		return s.queueMail(tx, o, u, c, mail.MessageRecoveryCodesRegenerated, s.mailData(u, c))
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// verifyCurrentPassword checks the caller's password before a sensitive
// change. A stolen session must not be a way to guess the password, so
// the try is counted against the account first, as a login is; the
// transaction that makes the change takes the count back (freshUser).
func (s *Service) verifyCurrentPassword(ctx context.Context, u *gatehouse.User, pw string) error {
	if pw == "" || password.TooLong(pw) {
		return errCurrentPassword()
	}
	if err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		return accountLimit.reserve(tx, accountKey(u.Email))
	}); err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, pw)
	if err != nil {
		// Turned away while busy: nothing was guessed (see giveBackAttempt).
		s.giveBackAttempt(ctx, accountKey(u.Email))
		return hashError(err)
	}
	if !ok {
		return errCurrentPassword()
	}
	return nil
}

// freshUser re-reads the caller in a write transaction. After
// verifyCurrentPassword (checked), it takes back the reserved attempt and
// refuses the change if the password changed meanwhile: the check that
// passed was against a hash that no longer holds.
func (s *Service) freshUser(tx gatehouse.Tx, u *gatehouse.User, checked bool) (*gatehouse.User, error) {
	fresh, err := tx.User(u.ID)
	if err != nil {
		return nil, err
	}
	if !checked {
		return fresh, nil
	}
	if err := accountLimit.release(tx, accountKey(u.Email)); err != nil {
		return nil, err
	}
	if fresh.PasswordHash != u.PasswordHash {
		return nil, errCurrentPassword()
	}
	return fresh, nil
}
