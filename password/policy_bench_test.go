package password

import (
	"strings"
	"testing"
)

// BenchmarkCheck is the password policy (password.Check: rules, then the
// zxcvbn estimate of the first 32 bytes) on typical and hostile input.
//
//	go test ./password -run '^$' -bench Check -benchmem -benchtime 100x
func BenchmarkCheck(b *testing.B) {
	cases := []struct{ name, password string }{
		{"common", "Password1234"},
		{"passphrase", "correct horse battery staple piano"},
		{"random16", "kX9#mQ2$vL7!pW4@"},
		{"1024-bytes-passphrase", strings.Repeat("correct horse battery staple ", 36)[:MaxBytes]},
	}
	for i, p := range hostilePasswords() {
		cases = append(cases, struct{ name, password string }{[]string{"1024-bytes-l33t", "1024-bytes-random", "1024-bytes-unicode"}[i], p})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Check(c.password, user...)
			}
		})
	}
}
