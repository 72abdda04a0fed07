package gatehouse

import "time"

// Session is a signed-in browser or API client. Only the SHA-256 of its
// token is stored; the token itself goes to the client once.
type Session struct {
	ID         string
	TokenHash  []byte
	UserID     string
	CompanyID  string
	CreatedAt  time.Time // when the login that made it completed
	LastSeenAt time.Time // refreshed at most once a minute
	ExpiresAt  time.Time // absolute end, whatever the activity
	IP         string
	UserAgent  string
	// Methods are how the login that made it proved who it was, as RFC
	// 8176 names them ("pwd", "otp", "hwk", "mfa"): the amr of tokens
	// issued from the session. Empty for sessions older than the record.
	Methods []string
}

// Login steps, in the order a login passes them. A challenge records the
// steps already passed; the next status is the first step still required.
type Step int

const (
	StepPassword       Step = 1 << iota // always passed when a challenge exists
	StepTOTP                            // the user has 2FA: the second factor (a code, a recovery code or a passkey)
	StepPasswordChange                  // a temporary password must be replaced
	StepTOTPSetup                       // the company requires 2FA and the user has none
	// StepPasskey is not a step of its own: it marks that a passkey
	// passed StepTOTP, or the whole sign-in when no password was asked.
	StepPasskey
	// StepForMFAApp is no step but a mark a login carries from its first
	// challenge on: it returns to an application that requires a second
	// factor (Application.RequireMFA), so a user without one sets it up,
	// as when the company requires 2FA.
	StepForMFAApp
)

// Authentication methods of RFC 8176, as Session.Methods records them.
const (
	MethodPassword = "pwd" // a password
	MethodOTP      = "otp" // a TOTP or recovery code
	MethodHardware = "hwk" // a passkey: proof of a key held by an authenticator
	MethodMFA      = "mfa" // more than one factor
)

// Challenge is a login in progress: the password was right, and more steps
// remain. It opens nothing but the next step, expires after ten minutes and
// dies after five wrong codes. Each passed step replaces it with a new one.
type Challenge struct {
	ID        string
	TokenHash []byte
	UserID    string
	Passed    Step // bit set of steps passed
	Failures  int
	CreatedAt time.Time
	ExpiresAt time.Time
	IP        string
	UserAgent string
	// TOTPPendingSecret is the sealed secret offered during forced setup,
	// until a code confirms it.
	TOTPPendingSecret []byte
}

// TokenPurpose says what a single-use emailed or printed token is for.
type TokenPurpose string

const (
	TokenReset      TokenPurpose = "reset"      // forgot password, admin or operator reset link
	TokenInvitation TokenPurpose = "invitation" // a new user sets the first password
	TokenSetup      TokenPurpose = "setup"      // the first company and admin of a new installation
)

// Token is a single-use link token. Only its SHA-256 is stored.
type Token struct {
	ID        string
	TokenHash []byte
	Purpose   TokenPurpose
	UserID    string // empty for TokenSetup
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}
