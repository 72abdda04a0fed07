package auth_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/server"
	"github.com/gatehouse/gatehouse/totp"
)

// cheapHash makes argon2id as cheap as Validate allows (64 KiB, one
// pass), so that the benchmarks measure the state machine and its
// statements rather than the hash, which password.BenchmarkParams measures.
var cheapHash = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// BenchmarkLogin runs whole logins through the service: the password step
// alone, and the password step followed by a TOTP code. Each login makes a
// session, an audit event and clears the throttles, as a real one does.
// Figures are in docs/BENCHMARKS.md.
//
//	go test ./auth -run '^$' -bench . -benchmem -benchtime 100x
func BenchmarkLogin(b *testing.B) {
	servertest.BenchEachDatabase(b, func(b *testing.B, db servertest.Option) {
		s := servertest.Start(b, db, servertest.WithOptions(func(o *server.Options) { o.HashParams = cheapHash }))
		svc := s.Service()
		ctx := context.Background()
		client := auth.Client{IP: "192.0.2.1", UserAgent: "bench"}
		s.Company(b, "Acme", "ada@example.com", testenv.GoodPassword)

		b.Run("password", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := svc.Login(ctx, "ada@example.com", testenv.GoodPassword, client)
				if err != nil || res.Status != auth.StatusAuthenticated {
					b.Fatalf("login: got %v, %v; want authenticated", res, err)
				}
			}
		})

		companyID, _ := s.Company(b, "Secure", "bob@example.com", testenv.GoodPassword)
		err := s.App.DB.Update(ctx, func(tx gatehouse.Tx) error {
			return tx.UpdateCompany(&gatehouse.Company{ID: companyID, Name: "Secure", RequireTOTP: true})
		})
		if err != nil {
			b.Fatal(err)
		}
		secret, _ := s.Client(b).SetUpTOTPAtLogin("bob@example.com", testenv.GoodPassword, s.Clock.Now())
		b.Run("password_totp", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				// A code is good once: the next login needs the next step.
				s.Clock.Advance(totp.Period)
				res, err := svc.Login(ctx, "bob@example.com", testenv.GoodPassword, client)
				if err != nil || res.Status != auth.StatusTOTPRequired {
					b.Fatalf("login: got %v, %v; want totp_required", res, err)
				}
				code := totp.Code(secret, totp.Step(s.Clock.Now()))
				res, err = svc.LoginTOTP(ctx, res.Challenge, code, "", client)
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
	servertest.BenchEachDatabase(b, func(b *testing.B, db servertest.Option) {
		s := servertest.Start(b, db)
		s.Company(b, "Acme", "ada@example.com", testenv.GoodPassword)
		token := s.Client(b).Login("ada@example.com", testenv.GoodPassword)
		svc := s.Service()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Authenticate(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
}
