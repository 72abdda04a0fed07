package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// RemoveUserTOTP removes a user's 2FA for someone who lost their phone:
// the secret, any pending secret and every recovery code. The user's
// sessions and logins in progress end, so whoever has the account now must
// log in again; if the company requires 2FA, that login sets it up anew.
// The account's login throttle is lifted. The user is told by mail, and
// the audit log records who did it.
//
// actor is the admin doing it, or nil for the server operator (`gatehouse
// user disable-2fa`), whose removal is also mailed to the company's other
// admins. An actor must be an admin (EForbidden) of the user's company
// (ENotFound otherwise, as for a user who does not exist), and turns off
// their own 2FA on their profile page instead, with their password. A user
// without 2FA gives ETOTPNotEnabled.
func (s *Service) RemoveUserTOTP(ctx context.Context, actor *Identity, userID string, c Client) error {
	return s.removeSecondFactors(ctx, actor, userID, removeTOTP, c)
}

// RemoveUserPasskeys removes every passkey of a user who lost the devices
// that hold them, by the rules and with the consequences of
// RemoveUserTOTP: sessions and logins in progress end, the throttle is
// lifted, the user is told by mail and the audit log records who did it.
// A user without passkeys gives ENotFound.
func (s *Service) RemoveUserPasskeys(ctx context.Context, actor *Identity, userID string, c Client) error {
	return s.removeSecondFactors(ctx, actor, userID, removePasskeys, c)
}

// What removeSecondFactors removes.
const (
	removeTOTP = 1 << iota
	removePasskeys
)

// removeSecondFactors removes the second factors in what from a user, for
// an admin (actor) or the operator (actor nil). The operator removes
// whichever the user has, and fails only when the user has neither.
func (s *Service) removeSecondFactors(ctx context.Context, actor *Identity, userID string, what int, c Client) error {
	if actor != nil {
		if err := requireAdmin(actor); err != nil {
			return err
		}
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		by, u, err := totpRemovalTarget(tx, actor, userID)
		if err != nil {
			return err
		}
		removeT := what&removeTOTP != 0 && u.TOTPEnabled()
		removeP := what&removePasskeys != 0 && u.Passkeys > 0
		switch {
		case !removeT && !removeP && what == removePasskeys:
			return gatehouse.Errorf(gatehouse.ENotFound, "This user has no passkey.")
		case !removeT && !removeP:
			return errTOTPNotEnabled()
		}
		if removeT {
			if err := clearTOTP(tx, u); err != nil {
				return err
			}
		}
		if removeP {
			if _, err := tx.DeletePasskeys(u.CompanyID, u.ID); err != nil {
				return err
			}
			u.Passkeys = 0
		}
		if _, err := tx.DeleteSessions(u.ID, ""); err != nil {
			return err
		}
		if _, err := tx.RevokeOIDCTokens(u.ID, ""); err != nil {
			return err
		}
		if err := tx.DeleteChallenges(u.ID); err != nil {
			return err
		}
		// Wrong codes typed at a lost or broken phone's behest must not
		// keep the user out of the login that follows.
		if err := tx.ClearThrottle(accountKey(u.Email)); err != nil {
			return err
		}
		d := s.mailData(u, c)
		if by != nil {
			d.Actor = by.Name
		}
		tell := func(typ, message string) error {
			e := event(typ, u.CompanyID, "", u.ID, c)
			if by != nil {
				e.ActorID, e.ActorType = by.ID, by.actorType()
			} else {
				e.Detail = gatehouse.DetailOperator
			}
			if err := s.audit(tx, e); err != nil {
				return err
			}
			return s.queueMail(tx, o, u, c, message, d)
		}
		if removeT {
			if err := tell(gatehouse.EventTOTPRemovedByAdmin, mail.MessageTOTPRemovedByAdmin); err != nil {
				return err
			}
		}
		if removeP {
			if err := tell(gatehouse.EventPasskeysRemovedByAdmin, mail.MessagePasskeysRemovedByAdmin); err != nil {
				return err
			}
		}
		if actor == nil {
			return s.tellOtherAdmins(tx, o, u, mail.ActionTOTPRemoved, c)
		}
		return nil
	})
}

// totpRemovalTarget finds the user an actor may remove 2FA from: any user
// for the operator (actor nil, and so the returned Actor); for an admin or
// a company key, a user of their company by the rules of every admin
// action (adminTarget), other than an admin themselves.
func totpRemovalTarget(tx gatehouse.Tx, actor *Identity, userID string) (*Actor, *gatehouse.User, error) {
	if actor == nil {
		u, err := tx.User(userID)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return nil, nil, errUserNotFound()
		}
		return nil, u, err
	}
	by, u, err := adminTarget(tx, actor, userID)
	if err != nil {
		return nil, nil, err
	}
	if by.IsUser(u.ID) {
		return nil, nil, gatehouse.Errorf(gatehouse.EForbidden,
			"To turn off your own two-factor authentication, use your profile page.")
	}
	return by, u, nil
}

// OperatorRemoveTOTP is RemoveUserTOTP for the server operator's command
// line (`gatehouse user disable-2fa --email`): it finds the user by email,
// removes their authenticator app and their passkeys, and returns them.
// An unknown email gives ENotFound; a user with neither, ETOTPNotEnabled.
func (s *Service) OperatorRemoveTOTP(ctx context.Context, email string, c Client) (*gatehouse.User, error) {
	email, err := ParseEmail(email)
	if err != nil {
		return nil, err
	}
	var u *gatehouse.User
	err = s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		u, err = tx.UserByEmail(email)
		return err
	})
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "No user has the email %s.", email)
	}
	if err != nil {
		return nil, err
	}
	if err := s.removeSecondFactors(ctx, nil, u.ID, removeTOTP|removePasskeys, c); err != nil {
		return nil, err
	}
	return u, nil
}
