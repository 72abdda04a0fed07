package gatehouse

import (
	"context"
	"time"
)

// Store keeps every piece of state, so that any number of stateless nodes
// can share it. Package sqldb implements it over SQLite and PostgreSQL.
type Store interface {
	// Update runs fn in one read-write transaction: everything fn does is
	// committed together or not at all. Tx.Now is fixed for the whole
	// transaction. An error from fn rolls back and is returned as is.
	Update(ctx context.Context, fn func(Tx) error) error
	// UpdateLazy is Update without waiting for the disk: the commit is as
	// atomic and as visible to every node at once, and reaches the disk
	// within a fraction of a second instead of before UpdateLazy returns,
	// so a power cut (not a crash of the process) may lose the last
	// moment's lazy transactions. For state whose loss costs nothing worth
	// a disk flush per commit: a login's attempt counter and its session.
	UpdateLazy(ctx context.Context, fn func(Tx) error) error
	// UpdateBackground is Update for work that should yield to requests:
	// queues, housekeeping, the grouped writes of a burst. Where the
	// database has a single writer (SQLite) it starts when no Update waits,
	// or after waiting a few milliseconds (so that it is slowed, never
	// stopped), so that a backlog never holds up a login; keep its
	// transactions short, since one that runs delays the requests that
	// arrive meanwhile.
	UpdateBackground(ctx context.Context, fn func(Tx) error) error
	// View runs fn with read-only access. Successive reads are not
	// guaranteed a single snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// ViewSnapshot is View with every read from one snapshot of the data,
	// for an answer that shows rows one transaction changes together (an
	// endpoint and its deliveries), which View's successive reads could
	// show half changed. It costs a transaction's round trips.
	ViewSnapshot(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Tx is the store as seen inside Update or View. Methods that look up one
// row return an *Error with ENotFound when there is none.
type Tx interface {
	// Now is the time of the transaction.
	Now() time.Time

	CreateCompany(c *Company) error
	Company(id string) (*Company, error)
	UpdateCompany(c *Company) error
	CompanyCount() (int, error)
	// Companies returns up to limit companies whose ID is after after
	// ("" for the first), ordered by ID.
	Companies(after string, limit int) ([]*Company, error)
	// LockCompany serialises transactions that check a company-wide rule
	// (the last admin) on every database.
	LockCompany(id string) error

	// CreateUser returns EEmailTaken when the email is in use.
	CreateUser(u *User) error
	// CreateUsers inserts many users in few statements (seeding, imports);
	// EEmailTaken when any email is in use.
	CreateUsers(users []*User) error
	User(id string) (*User, error)
	UserByEmail(email string) (*User, error)
	ListUsers(f UserFilter) ([]*User, error)
	// CountActiveAdmins counts admins who can log in: with a password and
	// not disabled.
	CountActiveAdmins(companyID string) (int, error)
	// SetUserPassword stores a new password hash, records the change time
	// and sets or clears the temporary-password state.
	SetUserPassword(userID, hash string, mustChange bool, tempExpiresAt time.Time) error
	// ReplacePasswordHash upgrades a hash to new parameters, only if it is
	// still oldHash (a concurrent change wins).
	ReplacePasswordHash(userID, oldHash, newHash string) error
	// SetUserProfile returns EEmailTaken when the email is in use.
	SetUserProfile(userID, name, email string, role Role) error
	// SetUserLanguage saves the language of pages and mail; "" follows
	// the browser.
	SetUserLanguage(userID, lang string) error
	SetUserDisabled(userID string, disabledAt time.Time) error
	SetUserLastLogin(userID string, at time.Time) error
	// SetUserTOTP stores the sealed secret of a confirmed authenticator and
	// the step that confirmed it; nil removes 2FA and the pending secret.
	SetUserTOTP(userID string, sealedSecret []byte, lastStep int64) error
	// SetUserTOTPPending stores a secret offered for enrollment until a code
	// confirms it.
	SetUserTOTPPending(userID string, sealedSecret []byte) error
	UserTOTPPending(userID string) (sealedSecret []byte, createdAt time.Time, err error)
	// UseTOTPStep records step as used if it is later than the last used
	// step, and reports whether it was. Exactly one of two racing calls
	// with the same step wins.
	UseTOTPStep(userID string, step int64) (bool, error)

	ReplaceRecoveryCodes(userID string, hashes [][]byte) error
	// UseRecoveryCode consumes a code; it reports false when no unused code
	// has this hash.
	UseRecoveryCode(userID string, hash []byte) (bool, error)
	CountRecoveryCodes(userID string) (int, error)

	CreateSession(s *Session) error
	// SessionByTokenHash returns the session, its user and the user's
	// company, in one round trip: it is the check of every request.
	SessionByTokenHash(hash []byte) (*Session, *User, *Company, error)
	// TouchSession records activity at at; it never moves the last
	// activity back.
	TouchSession(id string, at time.Time) error
	Sessions(userID string) ([]*Session, error)
	// DeleteSession reports false when the user has no such session.
	DeleteSession(userID, id string) (bool, error)
	// DeleteSessions ends every session of the user except exceptID.
	DeleteSessions(userID, exceptID string) (int, error)
	// SetSessionToken replaces a session's token: the session stays, and
	// whoever holds the old token is signed out.
	SetSessionToken(id string, tokenHash []byte) error

	CreateChallenge(c *Challenge) error
	ChallengeByTokenHash(hash []byte) (*Challenge, error)
	// ConsumeChallenge deletes the challenge; it reports false when another
	// request consumed it first.
	ConsumeChallenge(id string) (bool, error)
	// AddChallengeFailure counts a wrong code and returns the new count.
	AddChallengeFailure(id string) (int, error)
	SetChallengePendingSecret(id string, sealedSecret []byte) error
	DeleteChallenges(userID string) error

	CreateToken(t *Token) error
	// TokenByHash returns an unexpired token without using it.
	TokenByHash(hash []byte) (*Token, error)
	// ConsumeToken uses up an unexpired token of the given purposes and
	// returns it; exactly one of many racing calls gets it, the others get
	// ENotFound.
	ConsumeToken(hash []byte, purposes ...TokenPurpose) (*Token, error)
	// DeleteTokens removes the user's tokens of the given purposes.
	DeleteTokens(userID string, purposes ...TokenPurpose) error
	// ConsumeSetupToken uses up every setup token at once and reports
	// whether hash was an unexpired one of them: of setups racing with
	// different links, exactly one wins.
	ConsumeSetupToken(hash []byte) (bool, error)

	Throttle(key string) (Throttle, error)
	// UpdateThrottle applies fn to the current state of key and saves the
	// result atomically; fn may run more than once when another node
	// updates the same key at the same time. fn returns false to save
	// nothing.
	UpdateThrottle(key string, fn func(*Throttle) bool) (Throttle, error)
	ClearThrottle(key string) error

	AddAuditEvent(e *AuditEvent) error
	AuditEvents(f AuditFilter) ([]*AuditEvent, error)

	// EnqueueMail adds a sealed, composed message to the outbox.
	EnqueueMail(m *OutboxMail) error
	// ClaimMail leases up to n due messages until leaseUntil, the longest
	// due first; a message whose lease ran out (a crashed node) is due
	// again.
	ClaimMail(n int, leaseUntil time.Time) ([]*OutboxMail, error)
	// MailDelivered marks messages sent and erases their bodies.
	MailDelivered(ids ...string) error
	MailRetry(id string, at time.Time, lastErr string) error
	// MailFailed gives up on a message and erases its body.
	MailFailed(id string, f MailFailure) error
	// MailRelease gives claimed messages back, due now, without counting
	// the claim as an attempt; lastErr, when not empty, replaces their
	// last error.
	MailRelease(lastErr string, ids ...string) error
	// MailRetryNow makes every waiting message due now.
	MailRetryNow() error
	// ExpireMail gives up on every waiting message whose link expires at
	// or before before (MailExpired), erasing its body, and returns them
	// without bodies.
	ExpireMail(before time.Time) ([]*OutboxMail, error)
	// MailCounts returns the number of messages waiting and failed.
	MailCounts() (pending, failed int, err error)
	// MailProblems returns, for each of the company's users given whose
	// latest message with a link was given up, why.
	MailProblems(companyID string, userIDs []string) (map[string]*MailProblem, error)

	// DeleteExpired removes what can no longer be used: expired sessions,
	// challenges and tokens, forgotten throttles, and delivered or failed
	// mail older than keepMail. It returns how many rows went.
	DeleteExpired(keepMail time.Duration) (int, error)

	EnqueueResetRequest(r *ResetRequest) error
	// TakeResetRequests removes and returns up to n queued requests;
	// each is returned to exactly one caller.
	TakeResetRequests(n int) ([]*ResetRequest, error)

	WebhookTx
	PasskeyTx
	ApplicationTx
	APIKeyTx
	OIDCTx
}

// ApplicationTx is the part of Tx that keeps applications (see
// application.go). Lookups that a company's admin makes filter by the
// company; lookups by client ID or host serve the protocols, which find
// the app first and check whom it admits after.
type ApplicationTx interface {
	// CreateApplication inserts a with its forward-auth hosts; it returns
	// EForwardAuthHostTaken when another app registered one of them.
	CreateApplication(a *Application) error
	// UpdateApplication saves every field of a but its IDs, company and
	// creation time, and replaces its forward-auth hosts; ENotFound when
	// there is none, EForwardAuthHostTaken as CreateApplication.
	UpdateApplication(a *Application) error
	// ApplicationByClientID returns the app with the client ID, whatever
	// its company.
	ApplicationByClientID(clientID string) (*Application, error)
	// OIDCClient is ApplicationByClientID without the forward-auth hosts.
	OIDCClient(clientID string) (*Application, error)
	// CompanyApplication returns the app with the client ID only if it
	// belongs to the company ("" for the operator's); ENotFound otherwise.
	CompanyApplication(companyID, clientID string) (*Application, error)
	// ApplicationByHost returns the app that registered the forward-auth
	// host (lower-case); ENotFound when none did.
	ApplicationByHost(host string) (*Application, error)
	// ForwardAuthCheck reads, in one round trip, what the forward-auth
	// check of every proxied request needs: the app that registered the
	// forward-auth host and the session of the token hash with its user and
	// company. It fills only the fields that check reads: the app's ID,
	// ClientID, CompanyID, Name, RequireRole and RequireMFA; the session's
	// ID, UserID, CompanyID, CreatedAt, LastSeenAt, ExpiresAt and Methods;
	// the user's ID, CompanyID, Email, Name, Role, TOTPSecret (sealed: it
	// says whether TOTP is on), TOTPEnabledAt, DisabledAt and Passkeys, never
	// the password's hash; the company's ID and RequireTOTP.
	// ENotFound when either the host or the session is unknown.
	ForwardAuthCheck(host string, hash []byte) (*Application, *Session, *User, *Company, error)
	// Applications lists a company's apps, oldest first; "" lists the
	// operator's.
	Applications(companyID string) ([]*Application, error)
	// AllApplications lists every app, the operator's and every
	// company's, oldest first.
	AllApplications() ([]*Application, error)
	// DeleteApplication deletes the app of the company ("" for the
	// operator's) and its hosts; false when the company has no such app.
	DeleteApplication(companyID, id string) (bool, error)
}

// APIKeyTx is the part of Tx that keeps API keys (see apikey.go).
type APIKeyTx interface {
	CreateAPIKey(k *APIKey) error
	// APIKey returns the key with this ID, or ENotFound.
	APIKey(id string) (*APIKey, error)
	// APIKeys lists a company's keys, oldest first; "" lists the
	// operator's.
	APIKeys(companyID string) ([]*APIKey, error)
	// DeleteAPIKey reports false when there was no such key.
	DeleteAPIKey(id string) (bool, error)
	// TouchAPIKey records a use at at; it never moves the last use back.
	TouchAPIKey(id string, at time.Time) error
}

// WebhookTx is the part of Tx that keeps webhook endpoints and their
// outbox (see webhook.go).
type WebhookTx interface {
	CreateWebhookEndpoint(e *WebhookEndpoint) error
	WebhookEndpoint(id string) (*WebhookEndpoint, error)
	// LockWebhookEndpoints returns the endpoints with the given IDs (those
	// that exist), locked until the transaction ends, in ID order. A
	// transaction that writes outcomes of deliveries locks their endpoints
	// first, so that two never wait for each other (docs/DESIGN.md).
	LockWebhookEndpoints(ids ...string) ([]*WebhookEndpoint, error)
	// WebhookEndpoints lists a company's endpoints, oldest first; "" lists
	// the operator's.
	WebhookEndpoints(companyID string) ([]*WebhookEndpoint, error)
	// WebhookReceivers lists the enabled endpoints that hear a company's
	// events: the company's own and the operator's.
	WebhookReceivers(companyID string) ([]*WebhookEndpoint, error)
	// DeleteWebhookEndpoint deletes an endpoint and its deliveries; false
	// when there was none.
	DeleteWebhookEndpoint(id string) (bool, error)
	SetWebhookSecret(id string, secret, previous []byte, previousUntil time.Time) error
	// MarkWebhookFailing records a failed attempt; it returns when the
	// endpoint's current run of failures began.
	MarkWebhookFailing(id, lastErr string) (failingSince time.Time, err error)
	// WebhooksSucceeded ends the run of failures of the endpoints.
	WebhooksSucceeded(ids ...string) error
	// DisableWebhookEndpoint stops deliveries: waiting ones fail; it
	// returns how many.
	DisableWebhookEndpoint(id, reason string) (gaveUp int, err error)
	// WebhookFailedAttempts counts the endpoint's attempts since a time its
	// every attempt has failed: those of its deliveries not delivered and
	// not given up before since.
	WebhookFailedAttempts(id string, since time.Time) (int, error)
	EnableWebhookEndpoint(id string) error

	EnqueueWebhookDeliveries(ds ...*WebhookDelivery) error
	// ClaimWebhookDeliveries leases up to n due deliveries until
	// leaseUntil, except the endpoints' in skip, counting the attempt; a
	// delivery whose lease ran out (a crashed node) is due again.
	ClaimWebhookDeliveries(n int, leaseUntil time.Time, skip []string) ([]*WebhookDelivery, error)
	WebhookDelivered(attempts ...WebhookAttempt) error
	WebhookRetry(a WebhookAttempt, next time.Time) error
	WebhookFailed(a WebhookAttempt) error
	// ReleaseWebhookDeliveries gives claimed deliveries back unattempted.
	ReleaseWebhookDeliveries(ids ...string) error
	WebhookDelivery(id string) (*WebhookDelivery, error)
	// WebhookDeliveries returns an endpoint's latest deliveries, newest first.
	WebhookDeliveries(endpointID string, limit int) ([]*WebhookDelivery, error)
	// ResendWebhookDelivery makes a delivery due now with a fresh schedule.
	ResendWebhookDelivery(id string) error
	WebhookCounts() (pending, failed int, err error)
	// OldestDueWebhook is when the delivery due longest became due, among
	// those not delivered nor given up; zero when none is due.
	OldestDueWebhook() (time.Time, error)
	DeleteOldWebhookDeliveries(before time.Time) (int, error)
}

// UserFilter selects a page of a company's users, ordered by email.
type UserFilter struct {
	CompanyID string
	Query     string // part of the name or email, case-insensitive
	Role      Role   // only users with this role, or every role when empty
	After     string // the email of the last user of the previous page
	Limit     int
}

// AuditFilter selects a page of a company's audit events, newest first.
type AuditFilter struct {
	CompanyID string
	Type      string // exact event type, or empty
	UserID    string // events where the user is actor or target, or empty
	Before    string // the ID of the last event of the previous page
	Limit     int
}

// Throttle is the failure count of one key (an account or a client address).
type Throttle struct {
	Key          string
	Failures     int
	LastAt       time.Time
	BlockedUntil time.Time
}

// OutboxMail is a composed message waiting for delivery. Body is sealed: it
// holds live tokens.
type OutboxMail struct {
	ID            string
	CreatedAt     time.Time
	Recipient     string
	Body          []byte
	Attempts      int
	NextAttemptAt time.Time

	// Whom and what it is: the recipient's account, when the recipient
	// is a user, and the message's template.
	CompanyID, UserID string
	Template          string
	// LinkExpiresAt is when the link the message carries stops working;
	// zero for a message without a link. Mail delayed past it is not sent.
	LinkExpiresAt time.Time
}

// MailFailure is why a message was given up.
type MailFailure struct {
	Reason string // MailRejected, MailGaveUp, MailExpired or MailUnreadable
	// Answer is the server's answer that refused the recipient or the
	// message, shown to the company's admins; empty when there was none.
	Answer string
	Err    string // the whole error, for the operator
}

// Reasons a message was given up.
const (
	MailRejected   = "rejected"   // the server refused the recipient or the message
	MailGaveUp     = "gave_up"    // temporary failures, too many times
	MailExpired    = "expired"    // delayed past the lifetime of its link: not sent
	MailUnreadable = "unreadable" // its sealed body does not open with this key
)

// MailReasons lists the reasons a message is given up.
var MailReasons = []string{MailRejected, MailGaveUp, MailExpired, MailUnreadable}

// MailProblem is why the latest message with a link (an invitation, a
// password reset) to a user was not delivered.
type MailProblem struct {
	Template string // the message: invitation, password_reset
	Reason   string // MailRejected, MailGaveUp, MailExpired or MailUnreadable
	Answer   string // the server's answer, when it gave one
	At       time.Time
}

// ResetRequest is a forgot-password request, queued as it arrived so that
// the request costs the same whether or not the email is known; the worker
// looks the email up later.
type ResetRequest struct {
	ID        string
	CreatedAt time.Time
	Email     string
	IP        string
	UserAgent string
	Lang      string // the language of the page it came from
}
