package auth

import (
	"fmt"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/webhook"
)

// Webhook events are derived from audit events, in one place: every change
// a webhook reports is audited in the transaction that makes it, so the
// transaction's audit events say which webhooks it owes, on every path —
// the API, the pages and the operator's commands alike. commit runs each
// transaction's methods on a changeTx, which keeps the audit events, and
// queueWebhooks turns them into deliveries before the commit.

// changeTx is a store transaction that keeps the audit events written in
// it.
type changeTx struct {
	gatehouse.Tx
	events []gatehouse.AuditEvent
}

func (t *changeTx) AddAuditEvent(e *gatehouse.AuditEvent) error {
	if err := t.Tx.AddAuditEvent(e); err != nil {
		return err
	}
	t.events = append(t.events, *e)
	return nil
}

// webhookOf maps audit event types to the webhook event they report.
// EventCompanyCreated reports user.invited only for an admin invited to
// set a password (see webhookType).
var webhookOf = map[string]string{
	gatehouse.EventInvitationSent:         gatehouse.WebhookUserInvited,
	gatehouse.EventCompanyCreated:         gatehouse.WebhookUserInvited,
	gatehouse.EventUserUpdated:            gatehouse.WebhookUserUpdated,
	gatehouse.EventUserEmailChanged:       gatehouse.WebhookUserUpdated,
	gatehouse.EventUserRoleChanged:        gatehouse.WebhookUserUpdated,
	gatehouse.EventInvitationAccepted:     gatehouse.WebhookUserUpdated, // invited → active
	gatehouse.EventUserDisabled:           gatehouse.WebhookUserDisabled,
	gatehouse.EventUserEnabled:            gatehouse.WebhookUserEnabled,
	gatehouse.EventPasswordChanged:        gatehouse.WebhookUserPasswordChanged,
	gatehouse.EventPasswordResetCompleted: gatehouse.WebhookUserPasswordReset,
	gatehouse.EventTemporaryPasswordSet:   gatehouse.WebhookUserPasswordReset,
	gatehouse.EventTOTPEnabled:            gatehouse.WebhookUserTOTPEnabled,
	gatehouse.EventTOTPDisabled:           gatehouse.WebhookUserTOTPDisabled,
	gatehouse.EventTOTPRemovedByAdmin:     gatehouse.WebhookUserTOTPDisabled,
	gatehouse.EventCompanyUpdated:         gatehouse.WebhookCompanyUpdated,
}

// hasWebhook reports whether an audit event of type t may report a webhook.
func hasWebhook(t string) bool { _, ok := webhookOf[t]; return ok }

// checkAuditedInCommit refuses an event that reports a webhook on a
// transaction that is not commit's: its webhook would be lost.
func checkAuditedInCommit(tx gatehouse.Tx, typ string) error {
	if _, ok := tx.(*changeTx); !ok && hasWebhook(typ) {
		return fmt.Errorf("auth: %s audited outside Service.commit: its webhook would be lost", typ)
	}
	return nil
}

// webhookType is the webhook event e reports, or "". A reset link mailed
// or printed (password.reset_by_admin) reports nothing: the password
// changes, and user.password_reset goes out, when the link is used.
func webhookType(tx gatehouse.Tx, e *gatehouse.AuditEvent) (string, error) {
	typ := webhookOf[e.Type]
	if e.Type == gatehouse.EventCompanyCreated {
		u, err := tx.User(e.TargetID)
		if err != nil {
			return "", err
		}
		if u.Status() != gatehouse.StatusInvited {
			return "", nil // set up with a password: nobody was invited
		}
	}
	return typ, nil
}

// queueWebhooks writes the deliveries the transaction's audit events owe
// to the endpoints that want them: one event per type and user (or
// company) a transaction, whose data is the user or company as the
// transaction leaves it, and whose webhook-id is its first audit event's ID.
func (s *Service) queueWebhooks(tx *changeTx, o *outcome) error {
	type subject struct{ typ, id string }
	var done map[subject]bool
	receivers := map[string][]*gatehouse.WebhookEndpoint{}
	for i := range tx.events {
		e := &tx.events[i]
		if !hasWebhook(e.Type) || e.CompanyID == "" {
			continue
		}
		typ, err := webhookType(tx, e)
		if err != nil {
			return err
		}
		if typ == "" {
			continue
		}
		subj := subject{typ, e.TargetID}
		if typ == gatehouse.WebhookCompanyUpdated {
			subj.id = e.CompanyID
		}
		if done[subj] {
			continue
		}
		if done == nil {
			done = map[subject]bool{}
		}
		done[subj] = true
		eps, ok := receivers[e.CompanyID]
		if !ok {
			if eps, err = tx.WebhookReceivers(e.CompanyID); err != nil {
				return err
			}
			receivers[e.CompanyID] = eps
		}
		var to []*gatehouse.WebhookEndpoint
		for _, ep := range eps {
			if ep.Wants(typ) {
				to = append(to, ep)
			}
		}
		if len(to) == 0 {
			continue
		}
		body, err := webhookBody(tx, typ, e)
		if err != nil {
			return err
		}
		ds := make([]*gatehouse.WebhookDelivery, len(to))
		for i, ep := range to {
			ds[i] = &gatehouse.WebhookDelivery{ID: gatehouse.NewID(tx.Now()), EndpointID: ep.ID, MessageID: "msg_" + e.ID,
				CompanyID: e.CompanyID, Type: typ, Body: body, CreatedAt: tx.Now()}
		}
		if err := tx.EnqueueWebhookDeliveries(ds...); err != nil {
			return err
		}
		o.webhooksQueued = true
	}
	return nil
}

// webhookBody is the payload of an event: the company for company.*, else
// the target user, both as the transaction leaves them.
func webhookBody(tx gatehouse.Tx, typ string, e *gatehouse.AuditEvent) ([]byte, error) {
	var data any
	if typ == gatehouse.WebhookCompanyUpdated {
		c, err := tx.Company(e.CompanyID)
		if err != nil {
			return nil, err
		}
		data = webhook.NewCompany(c)
	} else {
		u, err := tx.User(e.TargetID)
		if err != nil {
			return nil, fmt.Errorf("webhook %s: %w", typ, err)
		}
		data = webhook.NewUser(u)
	}
	return webhook.NewPayload(typ, e.At, data)
}

// wake signals a worker's wake-up channel without blocking.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default: // a wake-up is already pending
	}
}
