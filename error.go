package gatehouse

import (
	"errors"
	"fmt"
	"time"
)

// Error codes: the stable snake_case strings that API clients switch on (the
// `code` member of a problem response). The contract (../shared/API.md)
// names most of them; the rest extend it, and api/openapi.json lists all.
const (
	EInvalidRequest       = "invalid_request"        // malformed body, wrong types, unknown fields
	EInvalidEmail         = "invalid_email"          // not a single plain email address
	ERequestTooLarge      = "request_too_large"      // body over the limit
	EUnsupportedMediaType = "unsupported_media_type" // JSON endpoints take application/json only
	EMethodNotAllowed     = "method_not_allowed"
	ENotFound             = "not_found"
	EForbidden            = "forbidden"
	EUnauthenticated      = "unauthenticated"
	EInternal             = "internal"
	EUnavailable          = "unavailable" // hashing queue full, database away: retry later

	EInvalidCredentials       = "invalid_credentials"
	EInvalidCode              = "invalid_code"
	EInvalidChallenge         = "invalid_challenge"
	EAccountDisabled          = "account_disabled"
	ETooManyAttempts          = "too_many_attempts"
	EPasswordsDoNotMatch      = "passwords_do_not_match"
	ECurrentPasswordIncorrect = "current_password_incorrect"
	EPasswordTooWeak          = "password_too_weak"
	EPasswordTooLong          = "password_too_long"
	EPasswordReused           = "password_reused" // the temporary password given again as the new one
	EInvalidToken             = "invalid_token"
	ETOTPAlreadyEnabled       = "totp_already_enabled"
	ETOTPNotEnabled           = "totp_not_enabled"
	EReauthenticationRequired = "reauthentication_required"
	ETOTPRequiredByCompany    = "totp_required_by_company"
	ETOTPEnrollmentRequired   = "totp_enrollment_required" // a code was sent with no QR code offered, or after the offer expired
	EEmailTaken               = "email_taken"
	ELastAdmin                = "last_admin"
	ESetupDone                = "setup_done"        // the first company exists; setup links are dead
	EOwnTOTPRequired          = "own_totp_required" // an admin without 2FA tried to require it for everyone
)

// Error codes of passkeys.
const (
	// EInvalidPasskey: the authenticator's answer was refused (wrong
	// origin or relying party, a signature that does not verify, a
	// replayed or expired ceremony, a counter that went back, no user
	// verification). One code for all: the audit log says which.
	EInvalidPasskey = "invalid_passkey"
	EPasskeyExists  = "passkey_exists" // this authenticator's credential is registered already
)

// Error codes of webhook endpoints (docs/WEBHOOKS.md).
const (
	EWebhookURLInvalid        = "webhook_url_invalid"         // not an absolute https URL (http with --webhook-allow-private)
	EWebhookAddressNotAllowed = "webhook_address_not_allowed" // the URL names, or its name resolves to, an internal address
	EWebhookDisabled          = "webhook_disabled"            // the endpoint is disabled: enable it first
)

// Error codes of applications (application.go).
const (
	EInvalidRedirectURI     = "invalid_redirect_uri"      // not an absolute https (or loopback http) URI, or one with a fragment
	EInvalidForwardAuthHost = "invalid_forward_auth_host" // not a lower-case host name without scheme, port or path
	EForwardAuthHostTaken   = "forward_auth_host_taken"   // another application registered the host
	EFirstPartyOperatorOnly = "first_party_operator_only" // only the operator's apps may skip consent
)

// Error is an error meant for the user: a code from the list above and a
// message safe to show. Any other error is internal: the client sees
// "Internal error." and the log gets the whole chain.
type Error struct {
	Code    string
	Message string

	// Reasons explain a refused password (EPasswordTooWeak).
	Reasons []Reason
	// RetryAfter is set with ETooManyAttempts and EUnavailable.
	RetryAfter time.Duration
}

// Reason is one reason a password was refused: a stable code for message
// catalogues and an English sentence for API clients.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("gatehouse error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of err: that of the first
// *Error in its chain, or "Internal error." for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// AsError returns the first *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
