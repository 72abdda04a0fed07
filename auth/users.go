package auth

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// MaxQueryLength bounds the user search text.
const MaxQueryLength = 200

// UserQuery selects a page of the company's users, ordered by email.
type UserQuery struct {
	Query  string // part of the name or email
	Cursor string // the Next of the previous page; "" for the first
	Limit  int    // DefaultPageSize when 0, at most MaxPageSize
}

// UserPage is a page of users; Next is the cursor of the next page, ""
// on the last page. MailProblems holds, by user ID, why the latest mail
// with a link to a user was not delivered (see mailProblems).
type UserPage struct {
	Users        []*gatehouse.User
	Next         string
	MailProblems map[string]*gatehouse.MailProblem
}

// ListUsers returns a page of the caller's company's users with their
// mail problems, from one snapshot (a commit may change a user and queue
// their mail: a new email and a fresh invitation). One more row than
// asked tells whether another page follows, so the last page says so
// without an extra round trip.
func (s *Service) ListUsers(ctx context.Context, id *Identity, q UserQuery) (*UserPage, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	limit, err := checkLimit(q.Limit)
	if err != nil {
		return nil, err
	}
	query := strings.TrimSpace(q.Query)
	if len([]rune(query)) > MaxQueryLength {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "The search text must be at most %d characters.", MaxQueryLength)
	}
	after, err := readCursor(q.Cursor, maxEmailBytes)
	if err != nil {
		return nil, err
	}
	page := &UserPage{}
	err = s.adminSnapshot(ctx, id, func(tx gatehouse.Tx, actor *Actor) error {
		users, err := tx.ListUsers(gatehouse.UserFilter{CompanyID: actor.CompanyID, Query: query, After: after, Limit: limit + 1})
		if err != nil {
			return err
		}
		page.Users, page.Next = lastPage(users, limit, func(u *gatehouse.User) string { return u.Email })
		page.MailProblems, err = mailProblems(tx, actor.CompanyID, page.Users...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// UserDetail is a user as an admin sees them on their own page.
type UserDetail struct {
	*gatehouse.User
	// LockedUntil is when the login throttle lets the user try again;
	// zero when it does not hold them back.
	LockedUntil time.Time
	// MailProblem is why the latest mail with a link to the user was not
	// delivered; nil when it was, or is on its way (see mailProblems).
	MailProblem *gatehouse.MailProblem
}

// CompanyUser returns a user of the caller's company, read from one
// snapshot: a temporary password or a reset changes the user, lifts their
// login throttle and queues their mail in one commit, and reads on either
// side of it showed the user unlocked with the old password.
func (s *Service) CompanyUser(ctx context.Context, id *Identity, userID string) (*UserDetail, error) {
	var d *UserDetail
	err := s.adminSnapshot(ctx, id, func(tx gatehouse.Tx, actor *Actor) error {
		u, err := companyUser(tx, actor, userID)
		if err != nil {
			return err
		}
		d = &UserDetail{User: u}
		t, err := tx.Throttle(accountKey(u.Email))
		if err != nil {
			return err
		}
		if tx.Now().Before(t.BlockedUntil) {
			d.LockedUntil = t.BlockedUntil
		}
		problems, err := mailProblems(tx, actor.CompanyID, u)
		d.MailProblem = problems[u.ID]
		return err
	})
	return d, err
}

// Invite is a new user of the company.
type Invite struct {
	Email string
	Name  string
	Role  gatehouse.Role // RoleMember when empty
}

func checkRole(r gatehouse.Role) error {
	if !r.Valid() {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The role must be admin or member.")
	}
	return nil
}

// InviteUser creates a user without a password and mails them a link at
// which they choose one (valid 7 days); they become active by using it.
func (s *Service) InviteUser(ctx context.Context, id *Identity, inv Invite, c Client) (*gatehouse.User, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	email, err := ParseEmail(inv.Email)
	if err != nil {
		return nil, err
	}
	name, err := cleanName(inv.Name, "name")
	if err != nil {
		return nil, err
	}
	if inv.Role == "" {
		inv.Role = gatehouse.RoleMember
	}
	if err := checkRole(inv.Role); err != nil {
		return nil, err
	}
	var u *gatehouse.User
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, err := freshAdmin(tx, id)
		if err != nil {
			return err
		}
		u = &gatehouse.User{ID: gatehouse.NewID(tx.Now()), CompanyID: actor.CompanyID, Email: email, Name: name,
			Role: inv.Role, CreatedAt: tx.Now()}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		e := actorEvent(gatehouse.EventInvitationSent, actor, u.ID, c)
		e.Detail = "role=" + string(u.Role)
		if err := s.audit(tx, e); err != nil {
			return err
		}
		return s.sendInvitation(tx, o, u, actor, c)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// sendInvitation mails u a fresh invitation link; older links of u stop
// working.
func (s *Service) sendInvitation(tx gatehouse.Tx, o *outcome, u *gatehouse.User, actor *Actor, c Client) error {
	if err := tx.DeleteTokens(u.ID, gatehouse.TokenInvitation); err != nil {
		return err
	}
	link, err := s.newLinkToken(tx, u, gatehouse.TokenInvitation, InvitationLifetime)
	if err != nil {
		return err
	}
	d, err := s.adminMail(tx, u, actor)
	if err != nil {
		return err
	}
	d.Link, d.ExpiresIn = link, InvitationLifetime
	return s.queueMail(tx, o, u, c, mail.MessageInvitation, d)
}

// UserUpdate changes a user; nil fields stay as they are.
type UserUpdate struct {
	Email    *string
	Name     *string
	Role     *gatehouse.Role
	Disabled *bool
}

// userChange is a validated UserUpdate.
type userChange struct {
	email, name string
	role        gatehouse.Role
	upd         UserUpdate
}

func validateUpdate(upd UserUpdate) (*userChange, error) {
	if upd.Email == nil && upd.Name == nil && upd.Role == nil && upd.Disabled == nil {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "Send at least one of email, name, role and disabled.")
	}
	ch := &userChange{upd: upd}
	var err error
	if upd.Email != nil {
		if ch.email, err = ParseEmail(*upd.Email); err != nil {
			return nil, err
		}
	}
	if upd.Name != nil {
		if ch.name, err = cleanName(*upd.Name, "name"); err != nil {
			return nil, err
		}
	}
	if upd.Role != nil {
		if err := checkRole(*upd.Role); err != nil {
			return nil, err
		}
		ch.role = *upd.Role
	}
	return ch, nil
}

// UpdateUser changes a user's name, email or role, or disables or enables
// them. Each change is its own audit event. A new email is told to the old
// address; a disabled user's sessions end at once.
func (s *Service) UpdateUser(ctx context.Context, id *Identity, userID string, upd UserUpdate, c Client) (*gatehouse.User, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	ch, err := validateUpdate(upd)
	if err != nil {
		return nil, err
	}
	var u *gatehouse.User
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		// Lock before reading anything the last-admin rule depends on.
		if err := tx.LockCompany(id.CompanyID()); err != nil {
			return err
		}
		actor, target, err := adminTarget(tx, id, userID)
		if err != nil {
			return err
		}
		if err := s.applyProfile(tx, o, actor, target, ch, c); err != nil {
			return err
		}
		if upd.Disabled != nil {
			if err := s.applyDisabled(tx, o, actor, target, *upd.Disabled, c); err != nil {
				return err
			}
		}
		u, err = tx.User(target.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// applyProfile saves name, email and role changes with their events.
func (s *Service) applyProfile(tx gatehouse.Tx, o *outcome, actor *Actor, target *gatehouse.User, ch *userChange, c Client) error {
	name, email, role := target.Name, target.Email, target.Role
	if ch.upd.Name != nil {
		name = ch.name
	}
	if ch.upd.Email != nil {
		email = ch.email
	}
	if ch.upd.Role != nil {
		role = ch.role
	}
	if name == target.Name && email == target.Email && role == target.Role {
		return nil
	}
	if role != target.Role && role != gatehouse.RoleAdmin {
		if err := checkNotLastAdmin(tx, target); err != nil {
			return err
		}
	}
	if err := tx.SetUserProfile(target.ID, name, email, role); err != nil {
		return err
	}
	old := *target
	target.Name, target.Email, target.Role = name, email, role
	if name != old.Name {
		e := actorEvent(gatehouse.EventUserUpdated, actor, target.ID, c)
		e.Detail = "field=name"
		if err := s.audit(tx, e); err != nil {
			return err
		}
	}
	if email != old.Email {
		if err := s.emailChanged(tx, o, actor, &old, target, c); err != nil {
			return err
		}
	}
	if role != old.Role {
		e := actorEvent(gatehouse.EventUserRoleChanged, actor, target.ID, c)
		e.Detail = "role=" + string(role)
		if err := s.audit(tx, e); err != nil {
			return err
		}
	}
	return nil
}

// emailChanged follows a corrected address: links mailed to the old one
// stop working, an invited user gets a new invitation at the new one, and
// the old address of an active account hears about the change. An
// invited user's old address never proved to be theirs (often it is a
// typo, and someone else's mailbox), so it learns nothing.
func (s *Service) emailChanged(tx gatehouse.Tx, o *outcome, actor *Actor, old, u *gatehouse.User, c Client) error {
	e := actorEvent(gatehouse.EventUserEmailChanged, actor, u.ID, c)
	if err := s.audit(tx, e); err != nil {
		return err
	}
	if err := tx.DeleteTokens(u.ID, gatehouse.TokenReset, gatehouse.TokenInvitation); err != nil {
		return err
	}
	if u.Status() == gatehouse.StatusInvited {
		return s.sendInvitation(tx, o, u, actor, c)
	}
	d, err := s.adminMail(tx, u, actor)
	if err != nil {
		return err
	}
	d.Email, d.OldEmail, d.NewEmail = old.Email, old.Email, u.Email
	return s.queueMail(tx, o, old, c, mail.MessageEmailChanged, d)
}

// applyDisabled disables or enables target. Disabling ends everything the
// user has open: sessions, logins in progress, reset and invitation links.
func (s *Service) applyDisabled(tx gatehouse.Tx, o *outcome, actor *Actor, target *gatehouse.User, disable bool, c Client) error {
	if disable == (target.Status() == gatehouse.StatusDisabled) {
		return nil
	}
	if !disable {
		if err := tx.SetUserDisabled(target.ID, time.Time{}); err != nil {
			return err
		}
		return s.audit(tx, actorEvent(gatehouse.EventUserEnabled, actor, target.ID, c))
	}
	if actor.IsUser(target.ID) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "You cannot disable your own account.")
	}
	if err := checkNotLastAdmin(tx, target); err != nil {
		return err
	}
	if err := tx.SetUserDisabled(target.ID, tx.Now()); err != nil {
		return err
	}
	if err := endAccess(tx, target); err != nil {
		return err
	}
	if err := s.audit(tx, actorEvent(gatehouse.EventUserDisabled, actor, target.ID, c)); err != nil {
		return err
	}
	d, err := s.adminMail(tx, target, actor)
	if err != nil {
		return err
	}
	return s.queueMail(tx, o, target, c, mail.MessageAccountDisabled, d)
}

// endAccess ends every session, app token, login in progress and emailed
// link of u.
func endAccess(tx gatehouse.Tx, u *gatehouse.User) error {
	if _, err := tx.DeleteSessions(u.ID, ""); err != nil {
		return err
	}
	if _, err := tx.RevokeOIDCTokens(u.ID, ""); err != nil {
		return err
	}
	if err := tx.DeleteChallenges(u.ID); err != nil {
		return err
	}
	return tx.DeleteTokens(u.ID, gatehouse.TokenReset, gatehouse.TokenInvitation)
}
