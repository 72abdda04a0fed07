package gatehouse

import "time"

// Role is what a user may do within their company.
type Role string

const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleMember }

// Status is derived from a user's row: invited users have no password yet,
// disabled users cannot log in, everyone else is active.
type Status string

const (
	StatusInvited  Status = "invited"
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// Company is a tenant: a customer of the SaaS product with its own users.
type Company struct {
	ID          string
	Name        string
	RequireTOTP bool
	CreatedAt   time.Time
}

// User is a person who signs in. Emails are unique across all companies,
// since login asks for the email and password only.
type User struct {
	ID        string
	CompanyID string
	Email     string // normalised: see auth.ParseEmail
	Name      string
	Role      Role

	// PasswordHash is empty for an invited user who has not set a password.
	PasswordHash      string
	PasswordChangedAt time.Time
	// MustChangePassword is set by a temporary password: the next login
	// asks for a new one before it opens a session.
	MustChangePassword bool
	// TempPasswordExpiresAt is when an unused temporary password stops working.
	TempPasswordExpiresAt time.Time

	// TOTPSecret is the sealed secret of the confirmed authenticator, nil
	// while 2FA is off. TOTPLastStep is the last time step accepted: that
	// step and every earlier one are refused from then on.
	TOTPSecret    []byte
	TOTPEnabledAt time.Time
	TOTPLastStep  int64

	// Passkeys is how many passkeys the user has (the store counts them).
	Passkeys int

	// Language is the language the user chose for pages and mail (a code
	// such as "tr"); empty follows the browser's Accept-Language.
	Language string

	DisabledAt  time.Time
	LastLoginAt time.Time
	CreatedAt   time.Time
}

// Status returns the user's status.
func (u *User) Status() Status {
	return StatusOf(!u.DisabledAt.IsZero(), u.PasswordHash != "")
}

// StatusOf is the status of a user who is disabled or not, and has a
// password or not.
func StatusOf(disabled, hasPassword bool) Status {
	switch {
	case disabled:
		return StatusDisabled
	case !hasPassword:
		return StatusInvited
	default:
		return StatusActive
	}
}

// TOTPEnabled reports whether the user has a confirmed authenticator.
func (u *User) TOTPEnabled() bool { return len(u.TOTPSecret) > 0 }

// HasSecondFactor reports whether signing in takes more than a password:
// an authenticator app, or a passkey. Either satisfies a company that
// requires two-factor authentication.
func (u *User) HasSecondFactor() bool { return u.TOTPEnabled() || u.Passkeys > 0 }
