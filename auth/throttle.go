package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse"
)

// limit is a throttling policy: Free failures cost nothing; each further
// one blocks the key for Base, doubling up to Max. Failures are forgotten
// Forget after the last one, so every lockout ends by itself.
type limit struct {
	Free      int
	Base, Max time.Duration
	Forget    time.Duration
}

var (
	// accountLimit counts wrong passwords and codes per account, across
	// challenges, cookies and client addresses. Its keys change only
	// through reserve, release and ClearThrottle (see release).
	accountLimit = limit{Free: 5, Base: 30 * time.Second, Max: 15 * time.Minute, Forget: time.Hour}
	// addressLimit is generous: a whole office may share one address.
	addressLimit = limit{Free: 100, Base: time.Minute, Max: 15 * time.Minute, Forget: 10 * time.Minute}
	// resetRequestLimit bounds forgot-password requests per client address.
	resetRequestLimit = limit{Free: 30, Base: time.Minute, Max: 15 * time.Minute, Forget: 10 * time.Minute}
	// resetMailLimit caps reset and invitation mail per recipient and hour;
	// requests past it are dropped silently.
	resetMailLimit = limit{Free: 3, Base: time.Hour, Max: time.Hour, Forget: time.Hour}
)

// blocked reports whether t is blocked at now, and for how long.
func (l limit) blocked(t gatehouse.Throttle, now time.Time) (bool, time.Duration) {
	if now.Before(t.BlockedUntil) {
		return true, t.BlockedUntil.Sub(now)
	}
	return false, 0
}

// fail counts one failure into t.
func (l limit) fail(t *gatehouse.Throttle, now time.Time) {
	if now.Sub(t.LastAt) > l.Forget {
		t.Failures = 0
	}
	t.Failures++
	t.LastAt = now
	if over := t.Failures - l.Free; over >= 0 {
		d := l.Base * time.Duration(math.Pow(2, float64(min(over, 20))))
		t.BlockedUntil = now.Add(min(d, l.Max))
	}
}

// reserve counts an attempt as a failure before it is checked, unless the
// key is blocked. Counting first means that a burst of parallel guesses
// cannot all slip through before the first failure is recorded; a correct
// attempt clears the count afterwards. A refused attempt does not extend
// the block, so an attacker cannot keep a victim locked out by hammering.
func (l limit) reserve(tx gatehouse.Tx, key string) error {
	var refused time.Duration
	_, err := tx.UpdateThrottle(key, func(t *gatehouse.Throttle) bool {
		if b, wait := l.blocked(*t, tx.Now()); b {
			refused = wait
			return false
		}
		l.fail(t, tx.Now())
		return true
	})
	if err != nil {
		return err
	}
	if refused > 0 {
		return tooManyAttempts(refused)
	}
	return nil
}

// release takes back one reserved attempt that turned out right. It does
// not forget earlier failures: re-entering a known password must not buy
// more guesses at the second factor (the next failure blocks again, for
// longer). It does lift the block: a reservation is granted only while
// the key is not blocked, and a block stops every later reservation, so
// a block present now was set by this attempt's own reservation. Keeping
// it would lock out a person who waited out a block and then got
// everything right, at the next step of the login.
func (l limit) release(tx gatehouse.Tx, key string) error {
	_, err := tx.UpdateThrottle(key, func(t *gatehouse.Throttle) bool {
		if t.Failures == 0 {
			return false
		}
		t.Failures--
		t.BlockedUntil = time.Time{}
		return true
	})
	return err
}

// check refuses when the key is blocked, without counting anything.
func (l limit) check(tx gatehouse.Tx, key string) error {
	t, err := tx.Throttle(key)
	if err != nil {
		return err
	}
	if b, wait := l.blocked(t, tx.Now()); b {
		return tooManyAttempts(wait)
	}
	return nil
}

// record counts one failure.
func (l limit) record(tx gatehouse.Tx, key string) error {
	_, err := tx.UpdateThrottle(key, func(t *gatehouse.Throttle) bool {
		l.fail(t, tx.Now())
		return true
	})
	return err
}

// failureKey names the failure counter of a client address: wrong
// passwords, wrong codes, and link or challenge tokens that match nothing
// all count against it, so that an address that keeps failing at anything
// is slowed down.
func failureKey(ip string) string { return addressKey("login-ip:", ip) }

// checkAddress refuses a client whose address is blocked, without
// counting anything.
func (s *Service) checkAddress(ctx context.Context, c Client) error {
	return s.store.View(ctx, func(tx gatehouse.Tx) error {
		return addressLimit.check(tx, failureKey(c.IP))
	})
}

// countBadToken counts err against the client's address when it refused
// a link or challenge token that matches nothing, and returns err. It runs
// in a transaction of its own, after the one that refused the token rolled
// back. Guessing a 256-bit token is hopeless; counting bounds how fast
// anyone can try, on every node.
func (s *Service) countBadToken(ctx context.Context, err error, c Client) error {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EInvalidToken, gatehouse.EInvalidChallenge:
		uerr := s.update(context.WithoutCancel(ctx), func(tx gatehouse.Tx, o *outcome) error {
			return addressLimit.record(tx, failureKey(c.IP))
		})
		if uerr != nil {
			s.log.Error("count a bad token", "err", uerr)
		}
	}
	return err
}

func tooManyAttempts(wait time.Duration) error {
	wait = max(wait.Round(time.Second), time.Second)
	return &gatehouse.Error{Code: gatehouse.ETooManyAttempts,
		Message: "Too many attempts. Try again later.", RetryAfter: wait}
}

// accountKey names the counter of an email address, whether or not an
// account has it, so that throttling looks the same for unknown addresses.
func accountKey(email string) string { return "account:" + hashHex(email) }

func resetMailKey(email string) string { return "reset-mail:" + hashHex(email) }

// addressKey names the counter of a client address; IPv6 clients are
// counted by /64, which is what one customer gets.
func addressKey(prefix, ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return prefix + ip
	}
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return prefix + p.String()
	}
	return prefix + a.String()
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}
