package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// queueResetMail fills the outbox of s, which must not be started yet, with
// one password-reset message to each of n seeded users, made as the reset
// worker makes them (token, audit event, rendered and sealed mail).
func queueResetMail(b *testing.B, s *testenv.Server, n int) {
	b.Helper()
	ctx := context.Background()
	companyID, _ := s.Company(b, "Acme", "admin@example.com", testenv.GoodPassword)
	testenv.SeedUsers(b, s, companyID, "reset", n)
	err := s.App.DB.Update(ctx, func(tx gatehouse.Tx) error {
		for i := range n {
			err := tx.EnqueueResetRequest(&gatehouse.ResetRequest{ID: gatehouse.NewID(tx.Now()), CreatedAt: tx.Now(),
				Email: fmt.Sprintf("reset%06d@example.com", i), IP: "192.0.2.1", Lang: "en"})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for {
		taken, err := s.Service().ProcessResetRequests(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if taken == 0 {
			break
		}
	}
	if pending := mailCounts(b, s); pending != n {
		b.Fatalf("queued %d messages, want %d", pending, n)
	}
}

// mailCounts returns how many messages wait in the outbox; it fails b when
// any failed.
func mailCounts(b *testing.B, s *testenv.Server) (pending int) {
	b.Helper()
	var failed int
	err := s.App.DB.View(context.Background(), func(tx gatehouse.Tx) (err error) {
		pending, failed, err = tx.MailCounts()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if failed != 0 {
		b.Fatalf("%d messages failed", failed)
	}
	return pending
}

// BenchmarkOutboxDelivery measures the outbox end to end: b.N sealed reset
// messages wait in a real database, then the server starts and its mail
// worker claims, opens, sends (to the in-process SMTP server, over
// loopback) and marks them; the clock runs from the start until the last
// is marked sent. Run it with a fixed count, which is the size of the
// backlog: -benchtime 5000x.
func BenchmarkOutboxDelivery(b *testing.B) {
	for _, kind := range testenv.Databases() {
		b.Run(kind, func(b *testing.B) {
			var opts []testenv.ServerOption
			if kind == "postgres" {
				opts = append(opts, testenv.WithPostgres())
			}
			s := testenv.OpenServer(b, opts...)
			queueResetMail(b, s, b.N)

			b.ResetTimer()
			start := time.Now()
			s.Start()
			for mailCounts(b, s) > 0 {
				time.Sleep(5 * time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "mails/s")

			msgs := s.SMTP.Messages()
			ids := map[string]bool{}
			for _, m := range msgs {
				ids[m.Header.Get("Message-ID")] = true
			}
			if len(msgs) != b.N || len(ids) != b.N {
				b.Errorf("the SMTP server received %d messages, %d distinct; want %d, each once", len(msgs), len(ids), b.N)
			}
		})
	}
}
