package totp

import (
	"testing"
	"time"
)

// BenchmarkVerify is the TOTP check of a login, at its worst: the code is
// the last candidate step, so all three are computed.
//
//	go test ./totp -run '^$' -bench Verify -benchmem -benchtime 100x
func BenchmarkVerify(b *testing.B) {
	b.ReportAllocs()
	secret := NewSecret()
	now := time.Unix(1700000000, 0)
	code := Code(secret, Step(now)+1)
	for b.Loop() {
		if _, ok := Verify(secret, code, now, 0); !ok {
			b.Fatal("refused")
		}
	}
}
