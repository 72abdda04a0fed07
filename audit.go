package gatehouse

import (
	"slices"
	"strings"
	"time"
)

// Audit event types. Every security event is recorded in the transaction
// that makes the change it describes.
const (
	EventLoginSucceeded          = "login.succeeded"
	EventLoginFailed             = "login.failed"
	EventLoginThrottled          = "login.throttled"
	EventLoginDisabledAccount    = "login.account_disabled"
	EventLogout                  = "logout"
	EventSessionRevoked          = "session.revoked"
	EventPasswordChanged         = "password.changed"
	EventPasswordResetRequested  = "password.reset_requested"
	EventPasswordResetCompleted  = "password.reset_completed"
	EventPasswordResetByAdmin    = "password.reset_by_admin"
	EventTemporaryPasswordSet    = "password.temporary_set"
	EventInvitationSent          = "user.invited"
	EventInvitationAccepted      = "user.invitation_accepted"
	EventUserUpdated             = "user.updated"
	EventUserEmailChanged        = "user.email_changed"
	EventUserRoleChanged         = "user.role_changed"
	EventUserDisabled            = "user.disabled"
	EventUserEnabled             = "user.enabled"
	EventThrottleCleared         = "user.throttle_cleared"
	EventCompanyCreated          = "company.created"
	EventCompanyUpdated          = "company.updated"
	EventTOTPEnabled             = "totp.enabled"
	EventTOTPDisabled            = "totp.disabled"
	EventTOTPRemovedByAdmin      = "totp.removed_by_admin"
	EventTOTPFailed              = "totp.failed"
	EventRecoveryCodeUsed        = "totp.recovery_code_used"
	EventRecoveryCodesRegenerate = "totp.recovery_codes_regenerated"
	EventAuditExported           = "audit.exported"
	EventWebhookCreated          = "webhook.created"
	EventWebhookDeleted          = "webhook.deleted"
	EventWebhookSecretRotated    = "webhook.secret_rotated"
	EventWebhookDisabled         = "webhook.disabled" // by Gatehouse: the endpoint kept failing, or answered 410
	EventWebhookEnabled          = "webhook.enabled"
	EventWebhookDeliveryResent   = "webhook.delivery_resent"
	EventApplicationCreated      = "application.created"
	EventApplicationUpdated      = "application.updated"
	EventApplicationDeleted      = "application.deleted"
	EventPasskeyAdded            = "passkey.added"
	EventPasskeyRenamed          = "passkey.renamed"
	EventPasskeyRemoved          = "passkey.removed"
	EventPasskeysRemovedByAdmin  = "passkey.removed_by_admin"
	EventPasskeyFailed           = "passkey.failed" // a refused answer; Detail says why
	EventAPIKeyCreated           = "api_key.created"
	EventAPIKeyDeleted           = "api_key.deleted"
	// EventAPIKeyFailed is a well-formed key naming an existing key with
	// the wrong secret, or an expired one: someone holds a key they
	// should not, or a stale one.
	EventAPIKeyFailed       = "api_key.failed"
	EventOIDCKeyRotated     = "oidc.signing_key_rotated"  // by the operator: a new key signs
	EventOIDCConsentGranted = "oidc.consent_granted"      // a user let a third-party app sign them in
	EventOIDCConsentRevoked = "oidc.consent_revoked"      // ... and took it back, ending its tokens
	EventOIDCFamilyRevoked  = "oidc.token_family_revoked" // a refresh token family ended: revocation, logout
	EventOIDCRefreshReused  = "oidc.refresh_token_reused" // a rotated refresh token came back: its family ended
	EventOIDCCodeReused     = "oidc.code_reused"          // a used code came back: what it issued ended
)

// EventTypes lists the event types above, for filters and documentation.
var EventTypes = []string{
	EventLoginSucceeded, EventLoginFailed, EventLoginThrottled, EventLoginDisabledAccount, EventLogout,
	EventSessionRevoked, EventPasswordChanged, EventPasswordResetRequested, EventPasswordResetCompleted,
	EventPasswordResetByAdmin, EventTemporaryPasswordSet, EventInvitationSent, EventInvitationAccepted,
	EventUserUpdated, EventUserEmailChanged, EventUserRoleChanged, EventUserDisabled, EventUserEnabled,
	EventThrottleCleared, EventCompanyCreated, EventCompanyUpdated, EventTOTPEnabled, EventTOTPDisabled,
	EventTOTPRemovedByAdmin, EventTOTPFailed, EventRecoveryCodeUsed, EventRecoveryCodesRegenerate,
	EventAuditExported, EventWebhookCreated, EventWebhookDeleted, EventWebhookSecretRotated, EventWebhookDisabled,
	EventWebhookEnabled, EventWebhookDeliveryResent, EventApplicationCreated, EventApplicationUpdated,
	EventApplicationDeleted,
	EventPasskeyAdded, EventPasskeyRenamed, EventPasskeyRemoved,
	EventPasskeysRemovedByAdmin, EventPasskeyFailed,
	EventAPIKeyCreated, EventAPIKeyDeleted, EventAPIKeyFailed,
	EventOIDCKeyRotated, EventOIDCConsentGranted, EventOIDCConsentRevoked, EventOIDCFamilyRevoked,
	EventOIDCRefreshReused, EventOIDCCodeReused,
}

// Kinds of actor of an audit event (AuditEvent.ActorType).
const (
	ActorUser   = ""        // a signed-in user, or nobody when ActorID is empty
	ActorAPIKey = "api_key" // ActorID is an API key's ID
)

// AuditEvent is one row of a company's security log: who (ActorID, empty
// for the operator's command line or an anonymous caller), did what (Type),
// to whom (TargetID), when, and from where. The actor is a user, or an API
// key (ActorType).
type AuditEvent struct {
	ID        string
	CompanyID string // empty for events without a known company (unknown email)
	At        time.Time
	Type      string
	ActorID   string
	// ActorType says what ActorID names: ActorUser or ActorAPIKey.
	ActorType string
	TargetID  string
	IP        string
	UserAgent string
	// Detail is a short machine-readable note of space-separated key=value
	// fields, e.g. "method=temporary" or "via=operator method=link"; never a
	// secret.
	Detail string
}

// DetailOperator is the Detail field of an event the server operator
// caused from the command line; such events have no ActorID.
const DetailOperator = "via=operator"

// ByOperator reports whether the server operator caused the event.
func (e *AuditEvent) ByOperator() bool {
	return e.ActorID == "" && slices.Contains(strings.Fields(e.Detail), DetailOperator)
}
