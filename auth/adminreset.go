package auth

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// Reset methods an admin chooses between.
const (
	ResetByEmail     = "email"
	ResetByTemporary = "temporary"
)

// TemporaryPasswordLength is the number of random characters of a
// generated temporary password (dashes come on top).
const TemporaryPasswordLength = 20

// tempAlphabet leaves out characters people confuse when reading a
// password aloud or copying it by hand: 0/O/o, 1/I/i/l, 2/Z/z, 5/S/s, 8/B.
const tempAlphabet = "ACDEFGHJKMNPQRTUVWXY" + "abcdefghjkmnpqrtuvwxy" + "34679"

// NewTemporaryPassword returns a random password of TemporaryPasswordLength
// characters from tempAlphabet (46 characters: about 110 bits), in groups
// of five joined by dashes so that it can be read out and typed.
func NewTemporaryPassword() string {
	var b strings.Builder
	for i := range TemporaryPasswordLength {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(tempAlphabet[randIndex(len(tempAlphabet))])
	}
	return b.String()
}

// ResetPasswordByEmail mails the user a reset link, as "forgot password"
// would, and tells them an admin asked for it. The old password keeps
// working until the link is used. An invited user gets a new invitation
// instead. Mail to one address is capped per hour.
func (s *Service) ResetPasswordByEmail(ctx context.Context, id *Identity, userID string, c Client) error {
	return s.adminUpdate(ctx, id, userID, func(tx gatehouse.Tx, o *outcome, actor *Actor, target *gatehouse.User) error {
		if err := refuseDisabledTarget(target); err != nil {
			return err
		}
		if err := resetMailLimit.reserve(tx, resetMailKey(target.Email)); err != nil {
			return err
		}
		e := actorEvent(gatehouse.EventPasswordResetByAdmin, actor, target.ID, c)
		e.Detail = "method=email"
		if err := s.audit(tx, e); err != nil {
			return err
		}
		if target.Status() == gatehouse.StatusInvited {
			return s.sendInvitation(tx, o, target, actor, c)
		}
		if err := tx.DeleteTokens(target.ID, gatehouse.TokenReset); err != nil {
			return err
		}
		if err := s.sendResetLink(tx, o, target, c); err != nil {
			return err
		}
		d, err := s.adminMail(tx, target, actor)
		if err != nil {
			return err
		}
		d.Action = mail.ActionResetLink
		return s.queueMail(tx, o, target, c, mail.MessagePasswordResetByAdmin, d)
	})
}

func refuseDisabledTarget(u *gatehouse.User) error {
	if u.Status() == gatehouse.StatusDisabled {
		return gatehouse.Errorf(gatehouse.EAccountDisabled, "This user is disabled. Enable the account first.")
	}
	return nil
}

// SetTemporaryPassword gives the user a temporary password: typed by the
// admin (the password policy applies) or, when pw is empty, generated. It
// returns the password to show once. The user's sessions, logins in
// progress and links end; the next login answers password_change_required,
// and the temporary password stops working after TempPasswordLifetime.
func (s *Service) SetTemporaryPassword(ctx context.Context, id *Identity, userID, pw string, c Client) (string, error) {
	if err := s.CheckTemporaryPassword(ctx, id, userID, pw); err != nil {
		return "", err
	}
	if pw == "" {
		pw = NewTemporaryPassword()
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return "", hashError(err)
	}
	err = s.adminUpdate(ctx, id, userID, func(tx gatehouse.Tx, o *outcome, actor *Actor, target *gatehouse.User) error {
		if err := refuseDisabledTarget(target); err != nil {
			return err
		}
		if err := s.setTemporary(tx, o, target, actor, hash, TempPasswordLifetime, c); err != nil {
			return err
		}
		e := actorEvent(gatehouse.EventTemporaryPasswordSet, actor, target.ID, c)
		e.Detail = "method=temporary"
		return s.audit(tx, e)
	})
	if err != nil {
		return "", err
	}
	return pw, nil
}

// CheckTemporaryPassword makes the checks of SetTemporaryPassword and
// changes nothing: an admin's own account is refused (they change their
// password in their settings), a disabled user is refused, and a typed
// password (pw not empty) must pass the policy for that user, whose name
// and email it may not contain. The admin's review page asks it before
// the confirmation, so that the confirmation cannot refuse what the
// review passed.
func (s *Service) CheckTemporaryPassword(ctx context.Context, id *Identity, userID, pw string) error {
	var target *gatehouse.User
	err := s.adminView(ctx, id, func(tx gatehouse.Tx, actor *Actor) (err error) {
		target, err = companyUser(tx, actor, userID)
		return err
	})
	if err != nil {
		return err
	}
	if id.User != nil && target.ID == id.User.ID {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "Change your own password in your settings instead.")
	}
	if err := refuseDisabledTarget(target); err != nil {
		return err
	}
	if pw == "" {
		return nil
	}
	if err := checkLength(pw); err != nil {
		return err
	}
	return s.checkPolicy(ctx, target, pw)
}

// setTemporary stores a temporary password that expires after life, ends
// everything the user had open, lifts their login throttle (this is their
// way back in) and tells them by mail. actor nil is the operator.
func (s *Service) setTemporary(tx gatehouse.Tx, o *outcome, u *gatehouse.User, actor *Actor, hash string, life time.Duration, c Client) error {
	if err := tx.SetUserPassword(u.ID, hash, true, tx.Now().Add(life)); err != nil {
		return err
	}
	if err := endAccess(tx, u); err != nil {
		return err
	}
	if err := tx.ClearThrottle(accountKey(u.Email)); err != nil {
		return err
	}
	d, err := s.adminMail(tx, u, actor)
	if err != nil {
		return err
	}
	d.Action = mail.ActionTemporaryPassword
	return s.queueMail(tx, o, u, c, mail.MessagePasswordResetByAdmin, d)
}

// UnlockUser lifts the login throttle of a user who locked themselves out
// with wrong passwords or codes.
func (s *Service) UnlockUser(ctx context.Context, id *Identity, userID string, c Client) error {
	return s.adminUpdate(ctx, id, userID, func(tx gatehouse.Tx, o *outcome, actor *Actor, target *gatehouse.User) error {
		if err := tx.ClearThrottle(accountKey(target.Email)); err != nil {
			return err
		}
		return s.audit(tx, actorEvent(gatehouse.EventThrottleCleared, actor, target.ID, c))
	})
}
