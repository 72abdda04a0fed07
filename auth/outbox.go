package auth

import (
	"context"
	"fmt"
	netmail "net/mail"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// Outbox returns the mail worker's view of the outbox: it claims sealed
// messages from the store and opens them for delivery.
func (s *Service) Outbox() mail.Queue {
	from := s.cfg.MailFrom
	if a, err := netmail.ParseAddress(from); err == nil {
		from = a.Address
	}
	return &outbox{svc: s, envelopeFrom: from}
}

type outbox struct {
	svc          *Service
	envelopeFrom string
}

// LinkMargin is how long a link must still work for its message to be
// sent: a message claimed later than that gives up instead (MailExpired),
// since its recipient would find the link dead, or nearly.
const LinkMargin = 2 * time.Minute

// Claim leases due messages and opens their sealed bodies. Messages whose
// link expires within LinkMargin are given up first, in the same
// transaction, and never sent: a reset mail held back by an outage longer
// than its link lives says nothing useful. A body that does not open
// (another node's key) fails for good with a message that says why:
// retrying cannot help.
func (q *outbox) Claim(ctx context.Context, n int, lease time.Duration) ([]mail.Queued, error) {
	var claimed, expired []*gatehouse.OutboxMail
	err := q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) (err error) {
		if expired, err = tx.ExpireMail(tx.Now().Add(LinkMargin)); err != nil {
			return err
		}
		claimed, err = tx.ClaimMail(n, tx.Now().Add(lease))
		return err
	})
	if err != nil {
		return nil, err
	}
	q.svc.logExpired(expired)
	out := make([]mail.Queued, 0, len(claimed))
	for _, m := range claimed {
		body, err := q.svc.sealer.Open(m.Body, outboxAAD(m.ID))
		if err != nil {
			q.svc.log.Error("queued mail cannot be opened: is --secret-key-file the same on every node?", "id", m.ID, "err", err)
			f := mail.Failure{Reason: gatehouse.MailUnreadable, Err: fmt.Sprintf("cannot open sealed body: %v", err)}
			if ferr := q.Fail(ctx, m.ID, f); ferr != nil {
				return nil, ferr
			}
			continue
		}
		out = append(out, mail.Queued{ID: m.ID, From: q.envelopeFrom, To: m.Recipient, Body: body, Attempts: m.Attempts - 1})
	}
	return out, nil
}

// Delivered, Retry and Fail, like Claim, are background transactions: on
// SQLite they wait while a request waits to write.
func (q *outbox) Delivered(ctx context.Context, ids ...string) error {
	return q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) error { return tx.MailDelivered(ids...) })
}

func (q *outbox) Retry(ctx context.Context, id string, at time.Time, lastErr string) error {
	return q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) error { return tx.MailRetry(id, at, lastErr) })
}

func (q *outbox) Fail(ctx context.Context, id string, f mail.Failure) error {
	return q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) error {
		return tx.MailFailed(id, gatehouse.MailFailure{Reason: f.Reason, Answer: f.Answer, Err: f.Err})
	})
}

func (q *outbox) Release(ctx context.Context, lastErr string, ids ...string) error {
	return q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) error { return tx.MailRelease(lastErr, ids...) })
}

func (q *outbox) RetryNow(ctx context.Context) error {
	return q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) error { return tx.MailRetryNow() })
}

// logExpired says which messages were given up because their link
// expired: an outage of the relay (or of its configuration) that lasted
// longer than a link lives.
func (s *Service) logExpired(expired []*gatehouse.OutboxMail) {
	for _, m := range expired {
		s.log.Error("mail not sent: the link it carries expired before it could be delivered; the user needs a new one",
			"id", m.ID, "to", m.Recipient, "template", m.Template, "user_id", m.UserID,
			"queued_at", m.CreatedAt.Format(time.RFC3339), "link_expired_at", m.LinkExpiresAt.Format(time.RFC3339))
	}
}
