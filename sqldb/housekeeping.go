package sqldb

import (
	"fmt"
	"time"
)

// DeleteExpired removes rows that can no longer be used. Throttles are
// kept a day after their last failure, longer than any policy remembers.
func (tx *Tx) DeleteExpired(keepMail time.Duration) (int, error) {
	now := ms(tx.now)
	stmts := []struct {
		query string
		arg   int64
	}{
		{`DELETE FROM sessions WHERE expires_at <= $1`, now},
		{`DELETE FROM challenges WHERE expires_at <= $1`, now},
		{`DELETE FROM tokens WHERE expires_at <= $1`, now},
		{`DELETE FROM passkey_ceremonies WHERE expires_at <= $1`, now},
		{`DELETE FROM throttles WHERE last_at <= $1 AND blocked_until <= $1`, ms(tx.now.Add(-24 * time.Hour))},
		{`DELETE FROM outbox WHERE (sent_at <> 0 AND sent_at <= $1) OR (failed_at <> 0 AND failed_at <= $1)`, ms(tx.now.Add(-keepMail))},
	}
	total := 0
	for _, s := range stmts {
		n, err := tx.exec(s.query, s.arg)
		if err != nil {
			return total, fmt.Errorf("housekeeping: %w", err)
		}
		total += int(n)
	}
	return total, nil
}
