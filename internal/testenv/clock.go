package testenv

import (
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/password"
)

// Clock is a clock tests can move forward. It follows real time, shifted,
// so that TOTP codes computed from the real time stay valid unless the
// test advances it.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the shifted time, in milliseconds as the store keeps it.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset).UTC().Truncate(time.Millisecond)
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// TestHashParams make argon2id cheap so that suites with many logins run
// quickly; the parameters themselves are tested in package password.
var TestHashParams = password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
