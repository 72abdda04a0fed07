package auth

import (
	"context"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/password"
)

func errPasswordTooLong() error {
	return gatehouse.Errorf(gatehouse.EPasswordTooLong, "Passwords can be at most %d bytes long.", password.MaxBytes)
}

// checkLength refuses a password too long to hash, before any other work.
// The limit holds on the normalised form, as hashing and the policy
// measure it (password.TooLong).
func checkLength(pw string) error {
	if password.TooLong(pw) {
		return errPasswordTooLong()
	}
	return nil
}

// checkConfirm refuses a new password that its confirmation does not
// repeat, and one too long to hash, before any other work.
func checkConfirm(newPW, confirm string) error {
	if newPW != confirm {
		return gatehouse.Errorf(gatehouse.EPasswordsDoNotMatch, "Passwords do not match")
	}
	return checkLength(newPW)
}

// checkPolicy applies the password policy for u.
func (s *Service) checkPolicy(ctx context.Context, u *gatehouse.User, pw string) error {
	inputs := []string{u.Email, u.Name}
	err := s.store.View(ctx, func(tx gatehouse.Tx) error {
		if c, err := tx.Company(u.CompanyID); err == nil {
			inputs = append(inputs, c.Name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return policyError(password.Check(pw, inputs...))
}

// policyError turns the policy's reasons into EPasswordTooWeak. Callers
// refuse an overlong password first (checkLength), with its own code.
func policyError(reasons []gatehouse.Reason) error {
	if len(reasons) == 0 {
		return nil
	}
	return &gatehouse.Error{Code: gatehouse.EPasswordTooWeak, Message: "Choose a stronger password.", Reasons: reasons}
}

// setPassword stores a new (already hashed) password for u and ends what
// the old one opened: every session but keepSession, every reset and
// invitation link, every login in progress. It audits typ and tells the
// user by mail.
func (s *Service) setPassword(tx gatehouse.Tx, o *outcome, u *gatehouse.User, hash string, c Client, typ, keepSession string) error {
	if err := tx.SetUserPassword(u.ID, hash, false, time.Time{}); err != nil {
		return err
	}
	u.PasswordHash, u.MustChangePassword, u.PasswordChangedAt = hash, false, tx.Now()
	if _, err := tx.DeleteSessions(u.ID, keepSession); err != nil {
		return err
	}
	// Apps signed in with the old password are signed out too.
	if _, err := tx.RevokeOIDCTokens(u.ID, ""); err != nil {
		return err
	}
	if err := tx.DeleteTokens(u.ID, gatehouse.TokenReset, gatehouse.TokenInvitation); err != nil {
		return err
	}
	if err := tx.DeleteChallenges(u.ID); err != nil {
		return err
	}
	if err := s.audit(tx, event(typ, u.CompanyID, u.ID, u.ID, c)); err != nil {
		return err
	}
	return s.queueMail(tx, o, u, c, mail.MessagePasswordChanged, s.mailData(u, c))
}

// ChangePassword changes the caller's password. The caller's other
// sessions end; this one stays. With rotate, it stays under a new token,
// which ChangePassword returns: people change their password when they
// fear someone else has got in, and a copy of this session's token (taken
// from the browser, say) must stop working too. Front ends rotate sessions
// that travel in a cookie, which they can replace without the client
// noticing; an API client's bearer token cannot be handed a successor in
// the contract's empty 204, so it keeps its token (and can end the session
// and log in again).
func (s *Service) ChangePassword(ctx context.Context, id *Identity, current, newPW, confirm string, rotate bool, c Client) (string, error) {
	if err := checkConfirm(newPW, confirm); err != nil {
		return "", err
	}
	if password.TooLong(current) {
		return "", gatehouse.Errorf(gatehouse.ECurrentPasswordIncorrect, "Your current password is incorrect.")
	}
	u := id.User
	if err := s.checkPolicy(ctx, u, newPW); err != nil {
		return "", err
	}
	// A stolen session must not be a way to guess the password.
	acct := accountKey(u.Email)
	if err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		return accountLimit.reserve(tx, acct)
	}); err != nil {
		return "", err
	}
	ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		s.giveBackAttempt(ctx, acct)
		return "", hashError(err)
	}
	if !ok {
		return "", gatehouse.Errorf(gatehouse.ECurrentPasswordIncorrect, "Your current password is incorrect.")
	}
	// The current password is right: whatever happens next, the attempt
	// was not a failure.
	s.giveBackAttempt(ctx, acct)
	if current == newPW || password.Normalize(current) == password.Normalize(newPW) {
		return "", gatehouse.Errorf(gatehouse.EPasswordReused, "Choose a password different from your current one.")
	}
	hash, err := s.hasher.Hash(ctx, newPW)
	if err != nil {
		return "", hashError(err)
	}
	var token string
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if err := tx.ClearThrottle(acct); err != nil {
			return err
		}
		fresh, err := tx.User(u.ID)
		if err != nil {
			return err
		}
		// Another change landed while we hashed: this request's check of
		// the current password is stale.
		if fresh.PasswordHash != u.PasswordHash {
			return gatehouse.Errorf(gatehouse.ECurrentPasswordIncorrect, "Your current password is incorrect.")
		}
		if err := s.setPassword(tx, o, fresh, hash, c, gatehouse.EventPasswordChanged, id.Session.ID); err != nil {
			return err
		}
		if !rotate {
			return nil
		}
		var tokenHash []byte
		token, tokenHash = gatehouse.NewToken()
		return tx.SetSessionToken(id.Session.ID, tokenHash)
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// RequestPasswordReset queues a forgot-password request. It answers the
// same, and costs the same, whether or not the email belongs to anyone: the
// lookup happens later, in ProcessResetRequests.
func (s *Service) RequestPasswordReset(ctx context.Context, email string, c Client) error {
	email, err := ParseEmail(email)
	if err != nil {
		return err
	}
	r := gatehouse.ResetRequest{Email: email, IP: c.IP, UserAgent: userAgent(c.UserAgent), Lang: c.Lang}
	return s.enqueueResetRequest(ctx, r, addressKey("reset-ip:", c.IP))
}

// RunResetRequests turns queued reset requests into reset mail until ctx
// ends. Several nodes may run it; each request is taken by one.
func (s *Service) RunResetRequests(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		for {
			n, err := s.ProcessResetRequests(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("process reset requests", "err", err)
				}
				break
			}
			if n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.resetQueued:
		}
	}
}

// resetProcessGroup is how many queued reset requests one background
// transaction turns into mail: enough to share a commit, few enough that a
// login arriving meanwhile waits for one short transaction at most.
const resetProcessGroup = 20

// ProcessResetRequests handles a batch of queued reset requests and returns
// how many it took. A request for an unknown or disabled account, or past
// the per-address cap, ends without mail.
func (s *Service) ProcessResetRequests(ctx context.Context) (int, error) {
	var n int
	err := s.updateBackground(ctx, func(tx gatehouse.Tx, o *outcome) error {
		reqs, err := tx.TakeResetRequests(resetProcessGroup)
		if err != nil {
			return err
		}
		n = len(reqs)
		for _, r := range reqs {
			if err := s.processResetRequest(tx, o, r); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

func (s *Service) processResetRequest(tx gatehouse.Tx, o *outcome, r *gatehouse.ResetRequest) error {
	u, err := tx.UserByEmail(r.Email)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if u.Status() == gatehouse.StatusDisabled {
		return nil
	}
	if err := resetMailLimit.reserve(tx, resetMailKey(u.Email)); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ETooManyAttempts {
			s.log.Info("reset mail cap reached; request dropped", "user", u.ID)
			return nil
		}
		return err
	}
	c := Client{IP: r.IP, UserAgent: r.UserAgent, Lang: r.Lang}
	e := event(gatehouse.EventPasswordResetRequested, u.CompanyID, "", u.ID, c)
	if err := s.audit(tx, e); err != nil {
		return err
	}
	return s.sendResetLink(tx, o, u, c)
}

// sendResetLink makes a one-hour reset token for u and mails the link.
func (s *Service) sendResetLink(tx gatehouse.Tx, o *outcome, u *gatehouse.User, c Client) error {
	link, err := s.newLinkToken(tx, u, gatehouse.TokenReset, ResetTokenLifetime)
	if err != nil {
		return err
	}
	d := s.mailData(u, c)
	d.Link = link
	d.ExpiresIn = ResetTokenLifetime
	return s.queueMail(tx, o, u, c, mail.MessagePasswordReset, d)
}

// newLinkToken makes a single-use token for u and returns its link.
func (s *Service) newLinkToken(tx gatehouse.Tx, u *gatehouse.User, purpose gatehouse.TokenPurpose, life time.Duration) (string, error) {
	token, hash := gatehouse.NewToken()
	t := &gatehouse.Token{ID: gatehouse.NewID(tx.Now()), TokenHash: hash, Purpose: purpose, UserID: u.ID,
		CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(life)}
	if err := tx.CreateToken(t); err != nil {
		return "", err
	}
	return s.link(ResetPasswordPath, url.Values{"token": {token}}), nil
}

func errInvalidToken() error {
	return gatehouse.Errorf(gatehouse.EInvalidToken, "This link is invalid or has expired. Please request a new one.")
}

// ResetLink describes a reset or invitation link that is still valid.
type ResetLink struct {
	Purpose gatehouse.TokenPurpose
	User    *gatehouse.User
}

// CheckResetToken tells whether a reset or invitation link is still valid,
// without using it: mail scanners open links before people do.
func (s *Service) CheckResetToken(ctx context.Context, token string) (*ResetLink, error) {
	if !gatehouse.TokenLooksValid(token) {
		return nil, errInvalidToken()
	}
	var link *ResetLink
	err := s.store.View(ctx, func(tx gatehouse.Tx) error {
		t, err := tx.TokenByHash(gatehouse.HashToken(token))
		if err != nil {
			return err
		}
		if t.Purpose != gatehouse.TokenReset && t.Purpose != gatehouse.TokenInvitation {
			return errInvalidToken()
		}
		u, err := tx.User(t.UserID)
		if err != nil {
			return err
		}
		link = &ResetLink{Purpose: t.Purpose, User: u}
		return nil
	})
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, errInvalidToken()
	}
	return link, err
}

// ResetPassword sets a new password with a reset or invitation link. The
// token is used up in the transaction that sets the password, so of many
// racing requests exactly one succeeds. Every session of the user ends, and
// the account's login throttle is lifted: a reset is the way back in.
//
// A token that matches nothing counts against the client's address, and a
// blocked address is refused before any token is looked up.
func (s *Service) ResetPassword(ctx context.Context, token, newPW, confirm string, c Client) error {
	if err := checkConfirm(newPW, confirm); err != nil {
		return err
	}
	if err := s.checkAddress(ctx, c); err != nil {
		return err
	}
	link, err := s.CheckResetToken(ctx, token)
	if err != nil {
		return s.countBadToken(ctx, err, c)
	}
	if err := s.checkPolicy(ctx, link.User, newPW); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, newPW)
	if err != nil {
		return hashError(err)
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		t, err := tx.ConsumeToken(gatehouse.HashToken(token), gatehouse.TokenReset, gatehouse.TokenInvitation)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return errInvalidToken()
		}
		if err != nil {
			return err
		}
		u, err := tx.User(t.UserID)
		if err != nil {
			return err
		}
		// The link came by mail: the user receives mail at the address
		// (email_verified in OpenID Connect).
		if err := tx.SetVerifiedEmail(u.ID, u.Email); err != nil {
			return err
		}
		typ := gatehouse.EventPasswordResetCompleted
		if t.Purpose == gatehouse.TokenInvitation {
			typ = gatehouse.EventInvitationAccepted
		}
		if err := tx.ClearThrottle(accountKey(u.Email)); err != nil {
			return err
		}
		return s.setPassword(tx, o, u, hash, c, typ, "")
	})
}
