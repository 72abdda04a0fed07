package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/password"
)

// Login statuses of the contract's state machine.
const (
	StatusAuthenticated          = "authenticated"
	StatusTOTPRequired           = "totp_required"
	StatusPasswordChangeRequired = "password_change_required"
	StatusTOTPSetupRequired      = "totp_setup_required"
	// StatusPasskeyRequired: the user's second factor is a passkey (and
	// no authenticator app); a user with both gets StatusTOTPRequired
	// with Passkey set.
	StatusPasskeyRequired = "passkey_required"
)

// LoginResult is the answer to each login step: either a session (Status
// authenticated) or a challenge for the next step.
type LoginResult struct {
	Status    string
	Challenge string // the token of the next step's challenge
	// Passkey: the second factor may be a passkey (BeginPasskeySecondFactor).
	Passkey bool

	SessionToken string
	Session      *gatehouse.Session
	User         *gatehouse.User

	// RecoveryCodes are shown once, when forced TOTP setup completes.
	RecoveryCodes []string
}

var errInvalidCredentials = gatehouse.Errorf(gatehouse.EInvalidCredentials, "Incorrect email or password.")

func errInvalidChallenge() error {
	return gatehouse.Errorf(gatehouse.EInvalidChallenge, "This sign-in attempt has expired. Please log in again.")
}

// Login checks an email and password and answers with the first step of the
// state machine. Unknown emails cost the same hash work and get the same
// answer as wrong passwords; the account counter is keyed by the email so
// that throttling looks the same for both.
func (s *Service) Login(ctx context.Context, email, pw string, c Client) (*LoginResult, error) {
	if err := checkLength(pw); err != nil {
		return nil, err
	}
	email, err := ParseEmail(email)
	if err != nil {
		// No account can have this address; answer as for any wrong login.
		s.metrics.Logins.Inc("invalid_credentials")
		return nil, errInvalidCredentials
	}
	if err := hashError(s.hasher.CheckCapacity()); err != nil {
		// Refused before any database work: beyond capacity, a flood of
		// logins must not queue on the database's writer as well.
		s.countLogin(err)
		return nil, err
	}
	acct := accountKey(email)
	var u *gatehouse.User
	// The reservation need not wait for the disk: no answer reveals
	// whether the password was right before a later commit that flushes
	// it with everything before it (a failure's, which waits) or that
	// clears it anyway (a success's).
	err = s.updateLazy(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if err := addressLimit.check(tx, failureKey(c.IP)); err != nil {
			return err
		}
		if err := accountLimit.reserve(tx, acct); err != nil {
			return err
		}
		u, err = tx.UserByEmail(email)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			u, err = nil, nil
		}
		return err
	})
	if err != nil {
		s.countLogin(err)
		return nil, err
	}

	ok, rehash, err := s.verifyUserPassword(ctx, u, pw)
	if err != nil {
		s.giveBackAttempt(ctx, acct)
		return nil, err
	}
	if !ok {
		if err := s.loginFailed(ctx, u, c, ""); err != nil {
			return nil, err
		}
		return nil, errInvalidCredentials
	}

	// A hash with old parameters (or an imported bcrypt one) is replaced
	// now, hashed before the transaction: hashing never holds the writer.
	upgraded := ""
	if rehash {
		if h, err := s.hasher.Hash(ctx, pw); err == nil {
			upgraded = h
		}
	}

	// A successful password step need not wait for the disk either: a
	// power cut in the next fraction of a second costs the person a new
	// login. Refusals made in it (disabled account, expired temporary
	// password) and their audit events are flushed as lazily.
	var res *LoginResult
	err = s.updateLazy(ctx, func(tx gatehouse.Tx, o *outcome) error {
		// The password was right; earlier failures still count until the
		// login completes.
		if err := accountLimit.release(tx, acct); err != nil {
			return err
		}
		// Re-read: an admin may have changed the user while we hashed.
		fresh, err := tx.User(u.ID)
		if err != nil {
			return err
		}
		if fresh.PasswordHash != u.PasswordHash {
			return errInvalidCredentials
		}
		// An unused temporary password expires: it was handed over by
		// someone else and may have been seen.
		if fresh.MustChangePassword && !fresh.TempPasswordExpiresAt.IsZero() && !tx.Now().Before(fresh.TempPasswordExpiresAt) {
			o.err = errInvalidCredentials
			return s.recordLoginFailure(tx, fresh, c, "temporary_password_expired")
		}
		if fresh.Status() == gatehouse.StatusDisabled {
			o.err = errAccountDisabled()
			return s.audit(tx, event(gatehouse.EventLoginDisabledAccount, fresh.CompanyID, "", fresh.ID, c))
		}
		if upgraded != "" {
			if err := tx.ReplacePasswordHash(fresh.ID, fresh.PasswordHash, upgraded); err != nil {
				return err
			}
		}
		passed := gatehouse.StepPassword
		if c.ForMFAApp {
			passed |= gatehouse.StepForMFAApp
		}
		res, err = s.advance(tx, o, fresh, passed, c)
		return err
	})
	s.countLogin(err)
	if err != nil {
		return nil, err
	}
	s.metrics.Logins.Inc(res.Status)
	return res, nil
}

// giveBackAttempt releases an attempt reserved on key whose password was
// never checked (the hashing queue was full): a person turned away while
// the service was busy typed nothing wrong, and must not be locked out
// for it. It runs even when the request's context has ended.
func (s *Service) giveBackAttempt(ctx context.Context, key string) {
	err := s.update(context.WithoutCancel(ctx), func(tx gatehouse.Tx, o *outcome) error {
		return accountLimit.release(tx, key)
	})
	if err != nil {
		s.log.Error("give back a throttled attempt", "err", err)
	}
}

// loginFailed records a wrong password for the audit log and the client
// address's counter, and counts it.
func (s *Service) loginFailed(ctx context.Context, u *gatehouse.User, c Client, detail string) error {
	s.metrics.Logins.Inc("invalid_credentials")
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		return s.recordLoginFailure(tx, u, c, detail)
	})
}

func (s *Service) recordLoginFailure(tx gatehouse.Tx, u *gatehouse.User, c Client, detail string) error {
	if err := addressLimit.record(tx, failureKey(c.IP)); err != nil {
		return err
	}
	e := event(gatehouse.EventLoginFailed, "", "", "", c)
	e.Detail = detail
	if u != nil {
		e.CompanyID, e.TargetID = u.CompanyID, u.ID
	}
	return s.audit(tx, e)
}

func errAccountDisabled() error {
	return gatehouse.Errorf(gatehouse.EAccountDisabled, "This account is disabled. Ask your company's administrator.")
}

func (s *Service) countLogin(err error) {
	if err != nil {
		s.metrics.Logins.Inc(gatehouse.ErrorCode(err))
	}
}

// verifyUserPassword checks pw against u's hash, or does the same work
// against a dummy hash when there is no user or no password yet.
func (s *Service) verifyUserPassword(ctx context.Context, u *gatehouse.User, pw string) (ok, rehash bool, err error) {
	if u == nil || u.PasswordHash == "" {
		err = s.hasher.VerifyDummy(ctx, pw)
		return false, false, hashError(err)
	}
	ok, rehash, err = s.hasher.Verify(ctx, u.PasswordHash, pw)
	return ok, rehash, hashError(err)
}

// hashError turns a full hashing queue into 503 with a hint to retry.
func hashError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, password.ErrBusy):
		// The chain keeps ErrBusy, so that the handlers can tell a full
		// queue (summarised by the server's log, see server.App) from a
		// database that is away.
		// Retry-After is the wait the Hasher estimated: the queue the
		// caller found has been served by then.
		wait, _ := password.RetryAfter(err)
		return fmt.Errorf("%w: %w", &gatehouse.Error{Code: gatehouse.EUnavailable,
			Message: "The service is busy. Please try again in a moment.", RetryAfter: wait}, err)
	case errors.Is(err, password.ErrTooLong):
		return errPasswordTooLong()
	}
	return err
}

// nextStep returns the first login step still required, or 0 when the
// login is complete. Order: the second factor (TOTP or a passkey), forced
// password change, forced TOTP setup (the company requires 2FA, or the login
// is for an app that requires a second factor).
func nextStep(u *gatehouse.User, company *gatehouse.Company, passed gatehouse.Step) gatehouse.Step {
	switch {
	case u.HasSecondFactor() && passed&gatehouse.StepTOTP == 0:
		return gatehouse.StepTOTP
	case u.MustChangePassword && passed&gatehouse.StepPasswordChange == 0:
		return gatehouse.StepPasswordChange
	case (company.RequireTOTP || passed&gatehouse.StepForMFAApp != 0) && !u.HasSecondFactor() && passed&gatehouse.StepTOTPSetup == 0:
		return gatehouse.StepTOTPSetup
	}
	return 0
}

var stepStatus = map[gatehouse.Step]string{
	gatehouse.StepTOTP:           StatusTOTPRequired,
	gatehouse.StepPasswordChange: StatusPasswordChangeRequired,
	gatehouse.StepTOTPSetup:      StatusTOTPSetupRequired,
}

// advance moves a login on after the steps in passed: a new challenge for
// the next step, or the session when none remains.
func (s *Service) advance(tx gatehouse.Tx, o *outcome, u *gatehouse.User, passed gatehouse.Step, c Client) (*LoginResult, error) {
	company, err := tx.Company(u.CompanyID)
	if err != nil {
		return nil, err
	}
	next := nextStep(u, company, passed)
	if next == 0 {
		return s.startSession(tx, u, passed, c)
	}
	token, hash := gatehouse.NewToken()
	ch := &gatehouse.Challenge{
		ID: gatehouse.NewID(tx.Now()), TokenHash: hash, UserID: u.ID, Passed: passed,
		CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(ChallengeLifetime), IP: c.IP, UserAgent: userAgent(c.UserAgent),
	}
	if err := tx.CreateChallenge(ch); err != nil {
		return nil, err
	}
	res := &LoginResult{Status: stepStatus[next], Challenge: token, User: u}
	if next == gatehouse.StepTOTP && u.Passkeys > 0 {
		res.Passkey = true
		if !u.TOTPEnabled() {
			res.Status = StatusPasskeyRequired
		}
	}
	return res, nil
}

// sessionMethods are the RFC 8176 methods of a login that passed these
// steps. A passkey verified the user as well as its possession: two
// factors by itself.
func sessionMethods(passed gatehouse.Step) []string {
	var m []string
	if passed&gatehouse.StepPassword != 0 {
		m = append(m, gatehouse.MethodPassword)
	}
	switch {
	case passed&gatehouse.StepPasskey != 0:
		m = append(m, gatehouse.MethodHardware, gatehouse.MethodMFA)
	case passed&gatehouse.StepTOTP != 0:
		m = append(m, gatehouse.MethodOTP, gatehouse.MethodMFA)
	}
	return m
}

// startSession completes a login that passed the steps in passed.
func (s *Service) startSession(tx gatehouse.Tx, u *gatehouse.User, passed gatehouse.Step, c Client) (*LoginResult, error) {
	token, hash := gatehouse.NewToken()
	sess := &gatehouse.Session{
		ID: gatehouse.NewID(tx.Now()), TokenHash: hash, UserID: u.ID, CompanyID: u.CompanyID,
		CreatedAt: tx.Now(), LastSeenAt: tx.Now(), ExpiresAt: tx.Now().Add(s.cfg.SessionLifetime),
		IP: c.IP, UserAgent: userAgent(c.UserAgent), Methods: sessionMethods(passed),
	}
	if err := tx.CreateSession(sess); err != nil {
		return nil, err
	}
	if err := tx.ClearThrottle(accountKey(u.Email)); err != nil {
		return nil, err
	}
	if err := tx.SetUserLastLogin(u.ID, tx.Now()); err != nil {
		return nil, err
	}
	u.LastLoginAt = tx.Now()
	if err := s.audit(tx, event(gatehouse.EventLoginSucceeded, u.CompanyID, u.ID, u.ID, c)); err != nil {
		return nil, err
	}
	return &LoginResult{Status: StatusAuthenticated, SessionToken: token, Session: sess, User: u}, nil
}

// pendingLogin is a challenge looked up for a step, with its user.
type pendingLogin struct {
	ch   *gatehouse.Challenge
	user *gatehouse.User
}

// loadChallenge finds a live challenge whose next step is want. Anything
// else (unknown, expired, used up, or for another step) is one answer.
func (s *Service) loadChallenge(tx gatehouse.Tx, token string, want gatehouse.Step) (*pendingLogin, error) {
	if !gatehouse.TokenLooksValid(token) {
		return nil, errInvalidChallenge()
	}
	ch, err := tx.ChallengeByTokenHash(gatehouse.HashToken(token))
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, errInvalidChallenge()
	}
	if err != nil {
		return nil, err
	}
	if !tx.Now().Before(ch.ExpiresAt) || ch.Failures >= ChallengeMaxFailures {
		return nil, errInvalidChallenge()
	}
	u, err := tx.User(ch.UserID)
	if err != nil {
		return nil, err
	}
	if u.Status() == gatehouse.StatusDisabled {
		return nil, errInvalidChallenge()
	}
	company, err := tx.Company(u.CompanyID)
	if err != nil {
		return nil, err
	}
	if nextStep(u, company, ch.Passed) != want {
		return nil, errInvalidChallenge()
	}
	return &pendingLogin{ch: ch, user: u}, nil
}

// consume uses up the challenge; of two racing requests, one wins.
func consume(tx gatehouse.Tx, p *pendingLogin) error {
	ok, err := tx.ConsumeChallenge(p.ch.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errInvalidChallenge()
	}
	return nil
}

// passCode ends a code step that succeeded: the challenge is used up (of
// two racing requests, one wins) and the attempt reserved against the
// account (reserveCodeAttempt) is given back.
func passCode(tx gatehouse.Tx, p *pendingLogin) error {
	if err := consume(tx, p); err != nil {
		return err
	}
	return accountLimit.release(tx, accountKey(p.user.Email))
}

// failCode counts a wrong code against the challenge and the client's
// address, audits it, and has the caller answer errInvalidCode once the
// transaction commits (the reserved attempt stays counted).
func (s *Service) failCode(tx gatehouse.Tx, o *outcome, p *pendingLogin, c Client) error {
	o.err = errInvalidCode()
	if _, err := tx.AddChallengeFailure(p.ch.ID); err != nil {
		return err
	}
	if err := addressLimit.record(tx, failureKey(c.IP)); err != nil {
		return err
	}
	return s.audit(tx, event(gatehouse.EventTOTPFailed, p.user.CompanyID, "", p.user.ID, c))
}

func errInvalidCode() error {
	return gatehouse.Errorf(gatehouse.EInvalidCode, "That code is not valid. Check your authenticator app and try again.")
}

// LoginChangePassword completes the forced change of a temporary password.
// The temporary password may not be reused, and stops working at once.
func (s *Service) LoginChangePassword(ctx context.Context, challenge, newPW, confirm string, c Client) (*LoginResult, error) {
	if err := checkConfirm(newPW, confirm); err != nil {
		return nil, err
	}
	var p *pendingLogin
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		if err := addressLimit.check(tx, failureKey(c.IP)); err != nil {
			return err
		}
		p, err = s.loadChallenge(tx, challenge, gatehouse.StepPasswordChange)
		return err
	})
	if err != nil {
		return nil, s.countBadToken(ctx, err, c)
	}
	if err := s.checkPolicy(ctx, p.user, newPW); err != nil {
		return nil, err
	}
	same, _, err := s.hasher.Verify(ctx, p.user.PasswordHash, newPW)
	if err != nil {
		return nil, hashError(err)
	}
	if same {
		return nil, gatehouse.Errorf(gatehouse.EPasswordReused, "Choose a new password, not the temporary one.")
	}
	hash, err := s.hasher.Hash(ctx, newPW)
	if err != nil {
		return nil, hashError(err)
	}
	var res *LoginResult
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		p, err := s.loadChallenge(tx, challenge, gatehouse.StepPasswordChange)
		if err != nil {
			return err
		}
		if err := consume(tx, p); err != nil {
			return err
		}
		if err := s.setPassword(tx, o, p.user, hash, c, gatehouse.EventPasswordChanged, ""); err != nil {
			return err
		}
		p.user.MustChangePassword = false
		res, err = s.advance(tx, o, p.user, p.ch.Passed|gatehouse.StepPasswordChange, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.metrics.Logins.Inc(res.Status)
	return res, nil
}
