package auth

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
)

// keepMail is how long delivered and failed mail stays in the outbox (its
// body is erased at once): long enough to answer "did my mail go out?".
const keepMail = 7 * 24 * time.Hour

// RunHousekeeping deletes what can no longer be used, every few minutes,
// until ctx ends. Idle sessions are refused the moment they expire; this
// only reclaims space.
func (s *Service) RunHousekeeping(ctx context.Context) {
	tick := time.NewTicker(5 * time.Minute)
	defer tick.Stop()
	for {
		var n int
		var expired []*gatehouse.OutboxMail
		err := s.store.UpdateBackground(ctx, func(tx gatehouse.Tx) (err error) {
			// Mail whose link expired while the queue was held is recorded
			// now, not when the queue next moves: the admins see it.
			if expired, err = tx.ExpireMail(tx.Now().Add(LinkMargin)); err != nil {
				return err
			}
			if n, err = tx.DeleteExpired(keepMail); err != nil {
				return err
			}
			m, err := deleteOldWebhookDeliveries(tx)
			n += m
			if err != nil {
				return err
			}
			// Revoked refresh tokens are kept a while, so that a replay
			// still finds its family revoked rather than nothing.
			m, err = tx.DeleteExpiredOIDC(tx.Now().Add(-OIDCRefreshLifetime), tx.Now().Add(-OIDCKeyPublished))
			n += m
			return err
		})
		if err == nil {
			s.logExpired(expired)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Error("housekeeping", "err", err)
		} else if n > 0 {
			s.log.Debug("housekeeping", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// MailCounts returns the number of messages waiting and failed for good.
func (s *Service) MailCounts(ctx context.Context) (pending, failed int, err error) {
	err = s.store.View(ctx, func(tx gatehouse.Tx) error {
		pending, failed, err = tx.MailCounts()
		return err
	})
	return pending, failed, err
}
