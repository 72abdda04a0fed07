package auth

import (
	"context"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// Break-glass: what the operator of the server does from the command line
// on the day a company's only admin cannot get in. The operator is no user:
// the audit events have no actor and say so (gatehouse.DetailOperator), the user is told
// by mail, and so are the company's other admins, since a power that
// bypasses them must never go unnoticed. What the command line prints is
// short-lived.

// OperatorLifetime is how long an operator's reset link or temporary
// password works: it is read off a terminal and handed on by hand.
const OperatorLifetime = time.Hour

// operatorTarget finds the user by email for a break-glass act.
func operatorTarget(tx gatehouse.Tx, email string) (*gatehouse.User, error) {
	u, err := tx.UserByEmail(email)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "No user has the email %s.", email)
	}
	if err != nil {
		return nil, err
	}
	if u.Status() == gatehouse.StatusDisabled {
		return nil, gatehouse.Errorf(gatehouse.EAccountDisabled,
			"The user %s is disabled; an admin of the company enables them again.", email)
	}
	return u, nil
}

// OperatorResetLink makes a one-hour reset link for the user with this
// email, to be handed over by the operator, and lifts their login
// throttle.
func (s *Service) OperatorResetLink(ctx context.Context, email string, c Client) (string, *gatehouse.User, error) {
	email, err := ParseEmail(email)
	if err != nil {
		return "", nil, err
	}
	var link string
	var u *gatehouse.User
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		u, err = operatorTarget(tx, email)
		if err != nil {
			return err
		}
		if err := tx.DeleteTokens(u.ID, gatehouse.TokenReset); err != nil {
			return err
		}
		token, hash := gatehouse.NewToken()
		if err := tx.CreateToken(&gatehouse.Token{ID: gatehouse.NewID(tx.Now()), TokenHash: hash, Purpose: gatehouse.TokenReset,
			UserID: u.ID, CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(OperatorLifetime)}); err != nil {
			return err
		}
		link = s.link(ResetPasswordPath, url.Values{"token": {token}})
		if err := tx.ClearThrottle(accountKey(u.Email)); err != nil {
			return err
		}
		e := event(gatehouse.EventPasswordResetByAdmin, u.CompanyID, "", u.ID, c)
		e.Detail = gatehouse.DetailOperator + " method=link"
		if err := s.audit(tx, e); err != nil {
			return err
		}
		d, err := s.adminMail(tx, u, nil)
		if err != nil {
			return err
		}
		d.Action = mail.ActionResetLink
		if err := s.queueMail(tx, o, u, c, mail.MessagePasswordResetByAdmin, d); err != nil {
			return err
		}
		return s.tellOtherAdmins(tx, o, u, mail.ActionResetLink, c)
	})
	if err != nil {
		return "", nil, err
	}
	return link, u, nil
}

// OperatorTemporaryPassword gives the user with this email a generated
// temporary password that works for one hour and must be changed at the
// next login. Their sessions end.
func (s *Service) OperatorTemporaryPassword(ctx context.Context, email string, c Client) (string, *gatehouse.User, error) {
	email, err := ParseEmail(email)
	if err != nil {
		return "", nil, err
	}
	pw := NewTemporaryPassword()
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return "", nil, hashError(err)
	}
	var u *gatehouse.User
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		u, err = operatorTarget(tx, email)
		if err != nil {
			return err
		}
		if err := s.setTemporary(tx, o, u, nil, hash, OperatorLifetime, c); err != nil {
			return err
		}
		e := event(gatehouse.EventTemporaryPasswordSet, u.CompanyID, "", u.ID, c)
		e.Detail = gatehouse.DetailOperator
		if err := s.audit(tx, e); err != nil {
			return err
		}
		return s.tellOtherAdmins(tx, o, u, mail.ActionTemporaryPassword, c)
	})
	if err != nil {
		return "", nil, err
	}
	return pw, u, nil
}

// tellOtherAdmins mails every other active admin of u's company that the
// operator acted on u's account.
func (s *Service) tellOtherAdmins(tx gatehouse.Tx, o *outcome, u *gatehouse.User, action mail.Action, c Client) error {
	company, err := tx.Company(u.CompanyID)
	if err != nil {
		return err
	}
	after := ""
	for {
		admins, err := tx.ListUsers(gatehouse.UserFilter{CompanyID: u.CompanyID, Role: gatehouse.RoleAdmin, After: after, Limit: 100})
		if err != nil {
			return err
		}
		for _, a := range admins {
			if a.ID == u.ID || a.Status() != gatehouse.StatusActive {
				continue
			}
			d := mail.Data{Name: a.Name, Email: a.Email, Company: company.Name, TargetName: u.Name, TargetEmail: u.Email,
				Action: action, At: tx.Now()}
			if err := s.queueMail(tx, o, a, c, mail.MessageBreakGlassUsed, d); err != nil {
				return err
			}
		}
		if len(admins) < 100 {
			return nil
		}
		after = admins[len(admins)-1].Email
	}
}
