package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// This file holds the removal of another user's 2FA by an admin or by the
// operator. The 2FA engineer owns it (auth/totp_admin.go on their branch);
// this copy stands in until theirs lands, and goes then, whole.

// RemoveUserTOTP lets an admin take away the second factor of a user of
// their company who lost their authenticator and recovery codes. Admins
// turn off their own 2FA in their profile, with their password.
func (s *Service) RemoveUserTOTP(ctx context.Context, id *Identity, userID string, c Client) error {
	if err := requireAdmin(id); err != nil {
		return err
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, target, err := adminTarget(tx, id, userID)
		if err != nil {
			return err
		}
		if target.ID == actor.ID {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "Turn off your own two-factor authentication in your profile.")
		}
		if !target.TOTPEnabled() {
			return gatehouse.Errorf(gatehouse.ETOTPNotEnabled, "This user has no two-factor authentication.")
		}
		return s.removeTOTP(tx, o, target, actor, "", c)
	})
}

// OperatorRemoveTOTP removes the second factor of the user with this
// email. Under a company that requires 2FA they set it up again at their
// next login.
func (s *Service) OperatorRemoveTOTP(ctx context.Context, email string, c Client) (*gatehouse.User, error) {
	email, err := ParseEmail(email)
	if err != nil {
		return nil, err
	}
	var u *gatehouse.User
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		u, err = operatorTarget(tx, email)
		if err != nil {
			return err
		}
		if !u.TOTPEnabled() {
			return gatehouse.Errorf(gatehouse.ETOTPNotEnabled, "The user %s has no two-factor authentication.", email)
		}
		if err := s.removeTOTP(tx, o, u, nil, operatorDetail, c); err != nil {
			return err
		}
		if err := tx.ClearThrottle(accountKey(u.Email)); err != nil {
			return err
		}
		return s.tellOtherAdmins(tx, o, u, mail.ActionTOTPRemoved, c)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// removeTOTP takes away u's authenticator and recovery codes, audits it
// as actor's act (nil: the operator) and tells u. Logins in progress end;
// when the company requires 2FA, sessions end too, so that the user sets
// it up again before going on.
func (s *Service) removeTOTP(tx gatehouse.Tx, o *outcome, u, actor *gatehouse.User, detail string, c Client) error {
	if err := tx.SetUserTOTP(u.ID, nil, 0); err != nil {
		return err
	}
	if err := tx.ReplaceRecoveryCodes(u.ID, nil); err != nil {
		return err
	}
	if err := tx.DeleteChallenges(u.ID); err != nil {
		return err
	}
	company, err := tx.Company(u.CompanyID)
	if err != nil {
		return err
	}
	if company.RequireTOTP {
		if _, err := tx.DeleteSessions(u.ID, ""); err != nil {
			return err
		}
	}
	actorID := ""
	if actor != nil {
		actorID = actor.ID
	}
	e := event(gatehouse.EventTOTPRemovedByAdmin, u.CompanyID, actorID, u.ID, c)
	e.Detail = detail
	if err := s.audit(tx, e); err != nil {
		return err
	}
	d, err := s.adminMail(tx, u, actor)
	if err != nil {
		return err
	}
	return s.queueMail(tx, o, u.Email, c.Lang, "totp_removed_by_admin", d)
}
