package auth

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/password"
)

// Company administration: what an admin may do to the users of their own
// company. Who may do what to whom is decided here and nowhere else:
//
//   - the caller must be an admin (members get EForbidden), checked again
//     inside each write transaction, so that an admin demoted a moment ago
//     cannot act on a stale session;
//   - a target user is loaded by ID and its company compared with the
//     caller's; another company's user is ENotFound, exactly like a user
//     that does not exist, so IDs of other tenants reveal nothing;
//   - the last active admin of a company can be neither demoted nor
//     disabled (ELastAdmin). Every transaction that checks this rule locks
//     the company row first, so two admins demoting each other at the same
//     moment leave one admin, on SQLite and PostgreSQL alike.

// Paging limits of the admin lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
	// MaxQueryLength bounds the user search text.
	MaxQueryLength = 200
)

func errForbidden() error {
	return gatehouse.Errorf(gatehouse.EForbidden, "Only administrators of the company can do this.")
}

func errUserNotFound() error {
	return gatehouse.Errorf(gatehouse.ENotFound, "User not found.")
}

// RequireAdmin refuses callers who are not admins, with EForbidden. Front
// ends ask it before reading a request, so that a member learns nothing
// from validation errors; every admin method asks it again.
func RequireAdmin(id *Identity) error { return requireAdmin(id) }

func requireAdmin(id *Identity) error {
	if id == nil || id.User == nil || id.User.Role != gatehouse.RoleAdmin {
		return errForbidden()
	}
	return nil
}

// freshAdmin re-reads the caller inside a transaction: the session was
// checked before it began, and the caller may have been demoted or
// disabled since.
func freshAdmin(tx gatehouse.Tx, id *Identity) (*gatehouse.User, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	actor, err := tx.User(id.User.ID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, errForbidden()
	}
	if err != nil {
		return nil, err
	}
	if actor.Role != gatehouse.RoleAdmin || actor.Status() == gatehouse.StatusDisabled {
		return nil, errForbidden()
	}
	return actor, nil
}

// companyUser loads a user of the admin's company; anyone else's user is
// not found, never forbidden, so that IDs of other tenants leak nothing.
func companyUser(tx gatehouse.Tx, actor *gatehouse.User, userID string) (*gatehouse.User, error) {
	if userID == "" || len(userID) > 64 {
		return nil, errUserNotFound()
	}
	u, err := tx.User(userID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, err
	}
	if u.CompanyID != actor.CompanyID {
		return nil, errUserNotFound()
	}
	return u, nil
}

// adminTarget is freshAdmin and companyUser together, the start of most
// admin actions.
func adminTarget(tx gatehouse.Tx, id *Identity, userID string) (actor, target *gatehouse.User, err error) {
	actor, err = freshAdmin(tx, id)
	if err != nil {
		return nil, nil, err
	}
	target, err = companyUser(tx, actor, userID)
	return actor, target, err
}

// isActiveAdmin tells whether u counts for the last-admin rule: an admin
// who can log in.
func isActiveAdmin(u *gatehouse.User) bool {
	return u.Role == gatehouse.RoleAdmin && u.Status() == gatehouse.StatusActive
}

// checkNotLastAdmin refuses to take the last active admin of the company
// away. The caller has locked the company in this transaction.
func checkNotLastAdmin(tx gatehouse.Tx, target *gatehouse.User) error {
	if !isActiveAdmin(target) {
		return nil
	}
	n, err := tx.CountActiveAdmins(target.CompanyID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return gatehouse.Errorf(gatehouse.ELastAdmin, "This is the company's last active administrator. Make someone else an administrator first.")
	}
	return nil
}

// adminView reads with the caller's admin rights checked.
func (s *Service) adminView(ctx context.Context, id *Identity, fn func(tx gatehouse.Tx, actor *gatehouse.User) error) error {
	if err := requireAdmin(id); err != nil {
		return err
	}
	return s.store.View(ctx, func(tx gatehouse.Tx) error {
		actor, err := freshAdmin(tx, id)
		if err != nil {
			return err
		}
		return fn(tx, actor)
	})
}

// adminMail fills what every message about target says, naming the admin
// who acted.
func (s *Service) adminMail(tx gatehouse.Tx, target, actor *gatehouse.User) (mail.Data, error) {
	d := mail.Data{Name: target.Name, Email: target.Email, At: tx.Now()}
	if actor != nil {
		d.Actor = actor.Name
	}
	company, err := tx.Company(target.CompanyID)
	if err != nil {
		return d, err
	}
	d.Company = company.Name
	return d, nil
}

// --- The company ---

// Company returns the caller's company.
func (s *Service) Company(ctx context.Context, id *Identity) (*gatehouse.Company, error) {
	var c *gatehouse.Company
	err := s.adminView(ctx, id, func(tx gatehouse.Tx, actor *gatehouse.User) (err error) {
		c, err = tx.Company(actor.CompanyID)
		return err
	})
	return c, err
}

// CompanyUpdate changes a company; nil fields stay as they are.
type CompanyUpdate struct {
	Name        *string
	RequireTOTP *bool
}

// UpdateCompany renames the company or switches the 2FA requirement. With
// RequireTOTP on, the sessions of users without 2FA stop working (see
// Authenticate) and their next login sets 2FA up (the login state machine
// does that). An admin without 2FA cannot switch it on (EOwnTOTPRequired):
// they would sign themselves out with the very request, and a rule is
// best made by someone who keeps it.
func (s *Service) UpdateCompany(ctx context.Context, id *Identity, upd CompanyUpdate, c Client) (*gatehouse.Company, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	var name string
	if upd.Name != nil {
		var err error
		if name, err = cleanName(*upd.Name, "company name"); err != nil {
			return nil, err
		}
	}
	var company *gatehouse.Company
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, err := freshAdmin(tx, id)
		if err != nil {
			return err
		}
		company, err = tx.Company(actor.CompanyID)
		if err != nil {
			return err
		}
		var changed []string
		if upd.Name != nil && name != company.Name {
			company.Name = name
			changed = append(changed, "name")
		}
		if upd.RequireTOTP != nil && *upd.RequireTOTP != company.RequireTOTP {
			if *upd.RequireTOTP && !actor.TOTPEnabled() {
				return gatehouse.Errorf(gatehouse.EOwnTOTPRequired,
					"Turn on two-factor authentication for your own account before requiring it for everyone.")
			}
			company.RequireTOTP = *upd.RequireTOTP
			changed = append(changed, "require_totp="+boolWord(company.RequireTOTP))
		}
		if len(changed) == 0 {
			return nil
		}
		if err := tx.UpdateCompany(company); err != nil {
			return err
		}
		e := event(gatehouse.EventCompanyUpdated, company.ID, actor.ID, "", c)
		e.Detail = strings.Join(changed, " ")
		return s.audit(tx, e)
	})
	if err != nil {
		return nil, err
	}
	return company, nil
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// --- Users: list and look at ---

// UserQuery selects a page of the company's users, ordered by email.
type UserQuery struct {
	Query string // part of the name or email
	After string // the email of the last user of the previous page
	Limit int    // DefaultPageSize when 0, at most MaxPageSize
}

// UserPage is a page of users; Next is the After of the next page, empty
// on the last page.
type UserPage struct {
	Users []*gatehouse.User
	Next  string
}

// checkLimit applies the paging limits.
func checkLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0 || n > MaxPageSize:
		return 0, gatehouse.Errorf(gatehouse.EInvalidRequest, "The limit must be between 1 and %d.", MaxPageSize)
	}
	return n, nil
}

// ListUsers returns a page of the caller's company's users. One more row
// than asked tells whether another page follows, so the last page says so
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
	if len(q.After) > 254 {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "The cursor is not valid.")
	}
	page := &UserPage{}
	err = s.adminView(ctx, id, func(tx gatehouse.Tx, actor *gatehouse.User) error {
		users, err := tx.ListUsers(gatehouse.UserFilter{CompanyID: actor.CompanyID, Query: query, After: q.After, Limit: limit + 1})
		if err != nil {
			return err
		}
		if len(users) > limit {
			users = users[:limit]
			page.Next = users[limit-1].Email
		}
		page.Users = users
		return nil
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
}

// CompanyUser returns a user of the caller's company.
func (s *Service) CompanyUser(ctx context.Context, id *Identity, userID string) (*UserDetail, error) {
	var d *UserDetail
	err := s.adminView(ctx, id, func(tx gatehouse.Tx, actor *gatehouse.User) error {
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
		return nil
	})
	return d, err
}

// --- Users: invite and change ---

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
		e := event(gatehouse.EventInvitationSent, u.CompanyID, actor.ID, u.ID, c)
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
func (s *Service) sendInvitation(tx gatehouse.Tx, o *outcome, u, actor *gatehouse.User, c Client) error {
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
	return s.queueMail(tx, o, u, c, "invitation", d)
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
		if err := tx.LockCompany(id.User.CompanyID); err != nil {
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
func (s *Service) applyProfile(tx gatehouse.Tx, o *outcome, actor, target *gatehouse.User, ch *userChange, c Client) error {
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
		e := event(gatehouse.EventUserUpdated, target.CompanyID, actor.ID, target.ID, c)
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
		e := event(gatehouse.EventUserRoleChanged, target.CompanyID, actor.ID, target.ID, c)
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
func (s *Service) emailChanged(tx gatehouse.Tx, o *outcome, actor, old, u *gatehouse.User, c Client) error {
	e := event(gatehouse.EventUserEmailChanged, u.CompanyID, actor.ID, u.ID, c)
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
	return s.queueMail(tx, o, old, c, "email_changed", d)
}

// applyDisabled disables or enables target. Disabling ends everything the
// user has open: sessions, logins in progress, reset and invitation links.
func (s *Service) applyDisabled(tx gatehouse.Tx, o *outcome, actor, target *gatehouse.User, disable bool, c Client) error {
	if disable == (target.Status() == gatehouse.StatusDisabled) {
		return nil
	}
	if !disable {
		if err := tx.SetUserDisabled(target.ID, time.Time{}); err != nil {
			return err
		}
		return s.audit(tx, event(gatehouse.EventUserEnabled, target.CompanyID, actor.ID, target.ID, c))
	}
	if target.ID == actor.ID {
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
	if err := s.audit(tx, event(gatehouse.EventUserDisabled, target.CompanyID, actor.ID, target.ID, c)); err != nil {
		return err
	}
	d, err := s.adminMail(tx, target, actor)
	if err != nil {
		return err
	}
	return s.queueMail(tx, o, target, c, "account_disabled", d)
}

// endAccess ends every session, login in progress and emailed link of u.
func endAccess(tx gatehouse.Tx, u *gatehouse.User) error {
	if _, err := tx.DeleteSessions(u.ID, ""); err != nil {
		return err
	}
	if err := tx.DeleteChallenges(u.ID); err != nil {
		return err
	}
	return tx.DeleteTokens(u.ID, gatehouse.TokenReset, gatehouse.TokenInvitation)
}

// --- Password resets by an admin ---

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
	if err := requireAdmin(id); err != nil {
		return err
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, target, err := adminTarget(tx, id, userID)
		if err != nil {
			return err
		}
		if err := refuseDisabledTarget(target); err != nil {
			return err
		}
		if err := resetMailLimit.reserve(tx, resetMailKey(target.Email)); err != nil {
			return err
		}
		e := event(gatehouse.EventPasswordResetByAdmin, target.CompanyID, actor.ID, target.ID, c)
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
		return s.queueMail(tx, o, target, c, "password_reset_by_admin", d)
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
	if err := requireAdmin(id); err != nil {
		return "", err
	}
	var target *gatehouse.User
	err := s.adminView(ctx, id, func(tx gatehouse.Tx, actor *gatehouse.User) (err error) {
		target, err = companyUser(tx, actor, userID)
		return err
	})
	if err != nil {
		return "", err
	}
	if target.ID == id.User.ID {
		return "", gatehouse.Errorf(gatehouse.EInvalidRequest, "Change your own password in your settings instead.")
	}
	if pw == "" {
		pw = NewTemporaryPassword()
	} else {
		if len(pw) > password.MaxBytes {
			return "", errPasswordTooLong()
		}
		if err := s.checkPolicy(ctx, target, pw); err != nil {
			return "", err
		}
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return "", hashError(err)
	}
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, target, err := adminTarget(tx, id, userID)
		if err != nil {
			return err
		}
		if err := refuseDisabledTarget(target); err != nil {
			return err
		}
		if err := s.setTemporary(tx, o, target, actor, hash, TempPasswordLifetime, c); err != nil {
			return err
		}
		e := event(gatehouse.EventTemporaryPasswordSet, target.CompanyID, actor.ID, target.ID, c)
		e.Detail = "method=temporary"
		return s.audit(tx, e)
	})
	if err != nil {
		return "", err
	}
	return pw, nil
}

// setTemporary stores a temporary password that expires after life, ends
// everything the user had open, lifts their login throttle (this is their
// way back in) and tells them by mail. actor nil is the operator.
func (s *Service) setTemporary(tx gatehouse.Tx, o *outcome, u, actor *gatehouse.User, hash string, life time.Duration, c Client) error {
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
	return s.queueMail(tx, o, u, c, "password_reset_by_admin", d)
}

// UnlockUser lifts the login throttle of a user who locked themselves out
// with wrong passwords or codes.
func (s *Service) UnlockUser(ctx context.Context, id *Identity, userID string, c Client) error {
	if err := requireAdmin(id); err != nil {
		return err
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, target, err := adminTarget(tx, id, userID)
		if err != nil {
			return err
		}
		if err := tx.ClearThrottle(accountKey(target.Email)); err != nil {
			return err
		}
		return s.audit(tx, event(gatehouse.EventThrottleCleared, target.CompanyID, actor.ID, target.ID, c))
	})
}

// --- The audit log ---

// AuditQuery selects a page of the company's audit log, newest first.
type AuditQuery struct {
	Type   string // an event type, or empty for all
	UserID string // events where this user acted or was acted on
	Before string // the ID of the last event of the previous page
	Limit  int
}

// AuditPage is a page of events with the users they name; Next is the
// Before of the next page, empty on the last page.
type AuditPage struct {
	Events []*gatehouse.AuditEvent
	Users  map[string]*gatehouse.User
	Next   string
}

// checkAuditQuery refuses malformed filters with a clear message, and an
// unknown or foreign user as not found.
func checkAuditQuery(tx gatehouse.Tx, actor *gatehouse.User, q AuditQuery) error {
	if q.Type != "" && !validEventType(q.Type) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The type filter is not an event type (such as %s).", gatehouse.EventLoginFailed)
	}
	if len(q.Before) > 64 {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The cursor is not valid.")
	}
	if q.UserID != "" {
		if _, err := companyUser(tx, actor, q.UserID); err != nil {
			return err
		}
	}
	return nil
}

// validEventType accepts the shape of event types (lower case, dots and
// underscores) so that types added later filter without a list to update.
func validEventType(t string) bool {
	if len(t) == 0 || len(t) > 64 {
		return false
	}
	for _, r := range t {
		if (r < 'a' || r > 'z') && r != '.' && r != '_' {
			return false
		}
	}
	return true
}

// AuditEvents returns a page of the caller's company's audit log.
func (s *Service) AuditEvents(ctx context.Context, id *Identity, q AuditQuery) (*AuditPage, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	limit, err := checkLimit(q.Limit)
	if err != nil {
		return nil, err
	}
	return s.auditPage(ctx, id, q, limit)
}

func (s *Service) auditPage(ctx context.Context, id *Identity, q AuditQuery, limit int) (*AuditPage, error) {
	page := &AuditPage{Users: map[string]*gatehouse.User{}}
	err := s.adminView(ctx, id, func(tx gatehouse.Tx, actor *gatehouse.User) error {
		if err := checkAuditQuery(tx, actor, q); err != nil {
			return err
		}
		events, err := tx.AuditEvents(gatehouse.AuditFilter{CompanyID: actor.CompanyID, Type: q.Type, UserID: q.UserID,
			Before: q.Before, Limit: limit + 1})
		if err != nil {
			return err
		}
		if len(events) > limit {
			events = events[:limit]
			page.Next = events[limit-1].ID
		}
		page.Events = events
		return nameUsers(tx, actor.CompanyID, events, page.Users)
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// nameUsers looks up the users events name, once each; only users of the
// company are named.
func nameUsers(tx gatehouse.Tx, companyID string, events []*gatehouse.AuditEvent, users map[string]*gatehouse.User) error {
	for _, e := range events {
		for _, uid := range []string{e.ActorID, e.TargetID} {
			if uid == "" {
				continue
			}
			if _, seen := users[uid]; seen {
				continue
			}
			u, err := tx.User(uid)
			if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
				users[uid] = nil
				continue
			}
			if err != nil {
				return err
			}
			if u.CompanyID != companyID {
				u = nil
			}
			users[uid] = u
		}
	}
	return nil
}

// exportBatch is how many events an export reads at a time.
const exportBatch = 500

// ExportAuditEvents calls fn for every event of the caller's company that
// matches q (Limit and Before ignored), newest first, with the users it
// names, reading in batches so that memory stays flat however long the
// log. The export itself is audited first.
func (s *Service) ExportAuditEvents(ctx context.Context, id *Identity, q AuditQuery, c Client,
	fn func(e *gatehouse.AuditEvent, users map[string]*gatehouse.User) error) error {
	if err := requireAdmin(id); err != nil {
		return err
	}
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, err := freshAdmin(tx, id)
		if err != nil {
			return err
		}
		if err := checkAuditQuery(tx, actor, q); err != nil {
			return err
		}
		e := event(gatehouse.EventAuditExported, actor.CompanyID, actor.ID, q.UserID, c)
		if q.Type != "" {
			e.Detail = "type=" + q.Type
		}
		return s.audit(tx, e)
	})
	if err != nil {
		return err
	}
	q.Before = ""
	for {
		page, err := s.auditPage(ctx, id, q, exportBatch)
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			if err := fn(e, page.Users); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Before = page.Next
	}
}
