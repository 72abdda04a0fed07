package auth_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/totp"
)

// cheapHash makes argon2id as cheap as Validate allows (64 KiB, one
// pass), so that the benchmarks measure the state machine and its
// statements rather than the hash, which password.BenchmarkParams measures.
var cheapHash = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// benchEachDatabase runs f as a sub-benchmark on each database kind, each
// with a service of its own on cheapHash.
func benchEachDatabase(b *testing.B, f func(b *testing.B, e *env)) {
	for _, kind := range testenv.Databases() {
		b.Run(kind, func(b *testing.B) { f(b, newEnvHashing(b, kind, cheapHash)) })
	}
}

// BenchmarkLogin runs whole logins through the service: the password step
// alone, and the password step followed by a TOTP code. Each login makes a
// session, an audit event and clears the throttles, as a real one does.
// Figures are in docs/BENCHMARKS.md.
//
//	go test ./auth -run '^$' -bench . -benchmem -benchtime 100x
func BenchmarkLogin(b *testing.B) {
	benchEachDatabase(b, func(b *testing.B, e *env) {
		client := auth.Client{IP: "192.0.2.1", UserAgent: "bench"}
		ada := e.company(b)

		b.Run("password", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := e.svc.Login(ctx, ada.User.Email, goodPW, client)
				if err != nil || res.Status != auth.StatusAuthenticated {
					b.Fatalf("login: got %v, %v; want authenticated", res, err)
				}
			}
		})

		bob := e.company(b)
		secret, _ := e.enableTOTP(b, bob)
		b.Run("password_totp", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				// A code is good once: the next login needs the next step.
				e.clock.Advance(totp.Period)
				res, err := e.svc.Login(ctx, bob.User.Email, goodPW, client)
				if err != nil || res.Status != auth.StatusTOTPRequired {
					b.Fatalf("login: got %v, %v; want totp_required", res, err)
				}
				res, err = e.svc.LoginTOTP(ctx, res.Challenge, e.code(secret, 0), "", client)
				if err != nil || res.Status != auth.StatusAuthenticated {
					b.Fatalf("login totp: got %v, %v; want authenticated", res, err)
				}
			}
		})
	})
}

// BenchmarkAuthenticate is the session check of every request, below
// HTTP: token shape, hash, the lookup and the rules.
//
//	go test ./auth -run '^$' -bench Authenticate -benchmem -benchtime 100x
func BenchmarkAuthenticate(b *testing.B) {
	benchEachDatabase(b, func(b *testing.B, e *env) {
		ada := e.company(b)
		res, err := e.svc.Login(ctx, ada.User.Email, goodPW, e.client())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.svc.Authenticate(ctx, res.SessionToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}
