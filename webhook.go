package gatehouse

import (
	"slices"
	"time"
)

// Webhook event types: what a company's apps hear about (../shared/API.md,
// "Webhooks"). Package auth derives them from the audit events of the same
// transaction, so every path that makes a change reports it.
const (
	WebhookUserInvited         = "user.invited"
	WebhookUserUpdated         = "user.updated"
	WebhookUserDisabled        = "user.disabled"
	WebhookUserEnabled         = "user.enabled"
	WebhookUserPasswordChanged = "user.password_changed"
	WebhookUserPasswordReset   = "user.password_reset"
	WebhookUserTOTPEnabled     = "user.totp_enabled"
	WebhookUserTOTPDisabled    = "user.totp_disabled"
	WebhookCompanyUpdated      = "company.updated"
)

// WebhookEventTypes lists every webhook event type, in the contract's order.
var WebhookEventTypes = []string{
	WebhookUserInvited, WebhookUserUpdated, WebhookUserDisabled, WebhookUserEnabled,
	WebhookUserPasswordChanged, WebhookUserPasswordReset, WebhookUserTOTPEnabled,
	WebhookUserTOTPDisabled, WebhookCompanyUpdated,
}

// IsWebhookEventType reports whether t is one of WebhookEventTypes.
func IsWebhookEventType(t string) bool { return slices.Contains(WebhookEventTypes, t) }

// WebhookEndpoint is a URL that receives a company's events, or every
// company's (the operator's endpoints, CompanyID empty).
type WebhookEndpoint struct {
	ID        string
	CompanyID string // empty: the operator's, for every company's events
	URL       string
	// Events are the event types it receives; empty means every type,
	// including types added later.
	Events []string
	// Secret is the signing key, sealed (it is needed to sign, so it
	// cannot be hashed). PreviousSecret, also sealed, signs beside it until
	// PreviousUntil: a rotation gives receivers a day to switch.
	Secret         []byte
	PreviousSecret []byte
	PreviousUntil  time.Time
	CreatedAt      time.Time
	// FailingSince is when the first attempt failed that no success has
	// followed; zero while deliveries succeed.
	FailingSince time.Time
	// DisabledAt is when deliveries stopped, and DisabledReason says why
	// (one of the WebhookDisabled* reasons); zero while enabled.
	DisabledAt     time.Time
	DisabledReason string
	// LastError is the outcome of the last failed attempt, for the page.
	LastError string
}

// Reasons an endpoint was disabled.
const (
	WebhookDisabledFailing = "failing" // every attempt failed for auth.WebhookDisableAfter
	WebhookDisabledGone    = "gone"    // the receiver answered 410 Gone
)

// Wants reports whether the endpoint receives events of type t.
func (e *WebhookEndpoint) Wants(t string) bool {
	return len(e.Events) == 0 || slices.Contains(e.Events, t)
}

// Disabled reports whether deliveries to the endpoint have stopped.
func (e *WebhookEndpoint) Disabled() bool { return !e.DisabledAt.IsZero() }

// WebhookDelivery is one event on its way to one endpoint: a row of the
// webhook outbox, written in the transaction of the change it reports.
type WebhookDelivery struct {
	ID         string
	EndpointID string
	// MessageID is the webhook-id header: the same for every endpoint the
	// event goes to and across retries, so that receivers can tell a
	// repeat.
	MessageID string
	CompanyID string // the company the event is about
	Type      string
	Body      []byte // the JSON payload, signed as it is stored
	CreatedAt time.Time
	// Attempts counts the attempts since RetryFrom: the creation, or the
	// last resend.
	Attempts      int
	RetryFrom     time.Time
	NextAttemptAt time.Time
	LastAttemptAt time.Time
	LastStatus    int    // the HTTP status of the last attempt; 0 when there was no answer
	LastError     string // why the last attempt failed; empty after a success
	DeliveredAt   time.Time
	FailedAt      time.Time
}

// Delivery states, as WebhookDelivery.State reports them.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// State says whether the delivery is waiting, done or given up.
func (d *WebhookDelivery) State() string {
	switch {
	case !d.DeliveredAt.IsZero():
		return DeliveryDelivered
	case !d.FailedAt.IsZero():
		return DeliveryFailed
	}
	return DeliveryPending
}

// WebhookAttempt is the outcome of one attempt, as the webhook worker
// reports it and the store records it.
type WebhookAttempt struct {
	DeliveryID string
	At         time.Time
	Status     int    // the HTTP status, 0 when there was no answer
	Error      string // empty for a 2xx
}
