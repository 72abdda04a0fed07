package sqldb_test

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TestUseLoginChallenge: a sign-in's challenge is recorded as used once:
// of racing transactions exactly one records it, none fails (a
// PostgreSQL transaction that lost goes on, to audit the refusal), and a
// later one finds it used; housekeeping deletes it once expired.
func TestUseLoginChallenge(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		hash, other := make([]byte, 32), make([]byte, 32)
		rand.Read(hash)
		rand.Read(other)
		expires := s.clock.Now().Add(5 * time.Minute)
		fresh := make([]bool, 8)
		errs := s.concurrently(len(fresh), func(i int, tx gatehouse.Tx) (err error) {
			if fresh[i], err = tx.UseLoginChallenge(hash, expires); err != nil {
				return err
			}
			// The transaction is still usable after a conflict.
			_, err = tx.Throttle("after the challenge")
			return err
		})
		won := 0
		for i := range fresh {
			if errs[i] != nil {
				t.Fatalf("racing use %d: %v", i, errs[i])
			}
			if fresh[i] {
				won++
			}
		}
		if won != 1 {
			t.Errorf("eight racing uses of one challenge: got %d fresh, want 1", won)
		}
		s.update(t, func(tx gatehouse.Tx) error {
			if ok, err := tx.UseLoginChallenge(hash, expires); ok || err != nil {
				return fmt.Errorf("used again: got %v, %v; want false", ok, err)
			}
			if ok, err := tx.UseLoginChallenge(other, expires); !ok || err != nil {
				return fmt.Errorf("another challenge: got %v, %v; want true", ok, err)
			}
			return nil
		})
		var kind string
		if err := s.raw.QueryRow("SELECT kind FROM passkey_ceremonies WHERE challenge_hash = $1", hash).Scan(&kind); err != nil || kind != gatehouse.CeremonyLogin {
			t.Errorf("the row: got kind %q, %v; want %q", kind, err, gatehouse.CeremonyLogin)
		}
		s.clock.Advance(4 * time.Minute) // the clock runs on too
		s.update(t, func(tx gatehouse.Tx) error {
			if n, err := tx.DeleteExpired(24 * time.Hour); n != 0 || err != nil {
				return fmt.Errorf("housekeeping before the expiry: got %d, %v; want 0", n, err)
			}
			return nil
		})
		s.clock.Advance(time.Minute)
		s.update(t, func(tx gatehouse.Tx) error {
			if n, err := tx.DeleteExpired(24 * time.Hour); n != 2 || err != nil {
				return fmt.Errorf("housekeeping after the expiry: got %d, %v; want the 2 challenges", n, err)
			}
			return nil
		})
	})
}
