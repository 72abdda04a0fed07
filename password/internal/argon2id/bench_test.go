//go:build unix

package argon2id

import (
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// BenchmarkIDKey compares a derivation with the default parameters of
// package password (m=64 MiB, t=1, p=1) here and in x/crypto/argon2.
// cpu-ns/op is the process's CPU time (the collector's included), which
// other work on a shared machine disturbs less than the wall time.
func BenchmarkIDKey(b *testing.B) {
	const memory = 64 * 1024
	password, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	b.Run("impl=ours", func(b *testing.B) {
		m := newMemory(b, memory)
		m.Key(password, salt, 1, memory, 1, 32) // faults the pages in, as a Hasher's slot has
		measureCPU(b, func() { m.Key(password, salt, 1, memory, 1, 32) })
	})
	b.Run("impl=ours-generic", func(b *testing.B) {
		defer forceGeneric()()
		m := newMemory(b, memory)
		m.Key(password, salt, 1, memory, 1, 32)
		measureCPU(b, func() { m.Key(password, salt, 1, memory, 1, 32) })
	})
	// Every core deriving at once, each in memory of its own: what a
	// Hasher with a slot per core does under a flood of logins. ns/op is
	// the wall time over all derivations: the single one's ÷ cores would
	// be perfect scaling, and what is above that is the cores' shared
	// memory bus.
	b.Run("impl=ours-every-core", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			m := newMemory(b, memory)
			m.Key(password, salt, 1, memory, 1, 32)
			for pb.Next() {
				m.Key(password, salt, 1, memory, 1, 32)
			}
		})
	})
	b.Run("impl=xcrypto", func(b *testing.B) {
		measureCPU(b, func() { argon2.IDKey(password, salt, 1, memory, 1, 32) })
	})
}

func measureCPU(b *testing.B, f func()) {
	start := cpuTime()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
