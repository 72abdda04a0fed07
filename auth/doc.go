// Package auth holds every rule of Gatehouse once: the login state machine,
// sessions, password change and reset, company administration, two-factor
// authentication, throttling, what goes to the audit log and which mail goes
// out. It knows nothing of HTTP or SQL: the JSON API and the web pages call
// the same methods, and the store is an interface.
//
// Each method that changes state does it in one store transaction, together
// with its audit event and the mail it queues, so that a change is never
// recorded without its event or sent without its token existing.
// Password hashing is slow on purpose and happens outside transactions.
package auth
