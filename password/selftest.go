package password

import (
	"errors"
	"fmt"
	"sync"

	"github.com/gatehouse/gatehouse/password/internal/argon2id"
)

// ErrAcceleratedOff is wrapped by SelfTest's error when argon2id's AVX2
// path gave a wrong answer: hashes are computed in Go from then on, right
// but with about 3 times the CPU (a node serves that many fewer logins).
var ErrAcceleratedOff = argon2id.ErrAccelerated

// selfTest runs argon2id's self-test once per process.
var selfTest = sync.OnceValue(argon2id.SelfTest)

// SelfTest runs argon2id's known-answer self-test, once per process, and
// returns its outcome: RFC 9106's argon2id vector, and the AVX2 path (where
// the CPU has it) against the Go path. NewHasher runs it before the first
// hash; a server calls it at start-up to log the outcome. An error wrapping
// ErrAcceleratedOff means the AVX2 path was wrong and is off: log it and
// serve. Any other error means the Go path is wrong too: every hash made
// or checked would be wrong, so do not serve.
func SelfTest() error { return selfTest() }

// selfTestPassed panics when the self-test found no right way to hash:
// NewHasher's guard, for programs that did not call SelfTest.
func selfTestPassed() {
	if err := SelfTest(); err != nil && !errors.Is(err, ErrAcceleratedOff) {
		panic(fmt.Sprintf("password: %v", err))
	}
}
