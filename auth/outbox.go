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

// Claim leases due messages and opens their sealed bodies. A body that does
// not open (another node's key) fails for good with a message that says
// why: retrying cannot help.
func (q *outbox) Claim(ctx context.Context, n int, lease time.Duration) ([]mail.Queued, error) {
	var claimed []*gatehouse.OutboxMail
	err := q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) (err error) {
		claimed, err = tx.ClaimMail(n, tx.Now().Add(lease))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]mail.Queued, 0, len(claimed))
	for _, m := range claimed {
		body, err := q.svc.sealer.Open(m.Body, outboxAAD(m.ID))
		if err != nil {
			q.svc.log.Error("queued mail cannot be opened: is --secret-key-file the same on every node?", "id", m.ID, "err", err)
			if ferr := q.Fail(ctx, m.ID, fmt.Sprintf("cannot open sealed body: %v", err)); ferr != nil {
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

func (q *outbox) Fail(ctx context.Context, id string, lastErr string) error {
	return q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) error { return tx.MailFailed(id, lastErr) })
}
