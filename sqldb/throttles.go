package sqldb

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// Throttle returns the state of key; a key never seen has zero failures.
func (tx *Tx) Throttle(key string) (gatehouse.Throttle, error) {
	t, _, err := tx.throttle(key)
	return t, err
}

func (tx *Tx) throttle(key string) (t gatehouse.Throttle, exists bool, err error) {
	t.Key = key
	var last, blocked int64
	err = tx.lookupRow(`SELECT failures, last_at, blocked_until FROM throttles WHERE key = $1`, key).Scan(&t.Failures, &last, &blocked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("read throttle: %w", err)
	}
	t.LastAt, t.BlockedUntil = fromMS(last), fromMS(blocked)
	return t, true, nil
}

// UpdateThrottle is a compare-and-swap loop: the write only lands if the
// row is still what fn saw, so concurrent failures on several nodes are all
// counted, each exactly once.
func (tx *Tx) UpdateThrottle(key string, fn func(*gatehouse.Throttle) bool) (gatehouse.Throttle, error) {
	for range 20 {
		old, exists, err := tx.throttle(key)
		if err != nil {
			return old, err
		}
		t := old
		if !fn(&t) {
			return old, nil
		}
		var n int64
		if exists {
			n, err = tx.exec(`UPDATE throttles SET failures = $2, last_at = $3, blocked_until = $4
				WHERE key = $1 AND failures = $5 AND last_at = $6`,
				key, t.Failures, ms(t.LastAt), ms(t.BlockedUntil), old.Failures, ms(old.LastAt))
		} else {
			n, err = tx.exec(`INSERT INTO throttles (key, failures, last_at, blocked_until) VALUES ($1, $2, $3, $4)
				ON CONFLICT (key) DO NOTHING`, key, t.Failures, ms(t.LastAt), ms(t.BlockedUntil))
		}
		if err != nil {
			return old, fmt.Errorf("write throttle: %w", err)
		}
		if n == 1 {
			return t, nil
		}
	}
	return gatehouse.Throttle{}, fmt.Errorf("write throttle %s: too much contention", key)
}

// ClearThrottle forgets the key's failures.
func (tx *Tx) ClearThrottle(key string) error {
	_, err := tx.exec(`DELETE FROM throttles WHERE key = $1`, key)
	return err
}
