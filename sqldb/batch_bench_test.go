//go:build unix

package sqldb_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqldb"
)

// BenchmarkSharedWrites is a sign-in's writes (a session and an audit
// event) by 32 requests at once, as Update runs them on SQLite: in
// batches that share one commit (batch.go). commits/op says how many
// transactions a commit made.
//
//	go test ./sqldb -run '^$' -bench SharedWrites -benchtime 20000x
func BenchmarkSharedWrites(b *testing.B) {
	s := openStore(b, "sqlite")
	c := s.company(b, "Acme")
	u := s.user(b, c.ID, "ada@example.com", "Ada")
	ctx := context.Background()
	before, _, _ := sqldb.WALCommits(s.DB)
	b.SetParallelism(32 / runtime.GOMAXPROCS(0))
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := s.Update(ctx, func(tx gatehouse.Tx) error {
				_, hash := gatehouse.NewToken()
				now := tx.Now()
				if err := tx.CreateSession(&gatehouse.Session{ID: gatehouse.NewID(now), TokenHash: hash, UserID: u.ID,
					CompanyID: c.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), IP: "192.0.2.1",
					UserAgent: "bench"}); err != nil {
					return err
				}
				return tx.AddAuditEvent(&gatehouse.AuditEvent{ID: gatehouse.NewID(now), CompanyID: c.ID, At: now,
					Type: gatehouse.EventLoginSucceeded, ActorID: u.ID, ActorType: gatehouse.ActorUser, TargetID: u.ID,
					IP: "192.0.2.1", UserAgent: "bench"})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	after, _, _ := sqldb.WALCommits(s.DB)
	b.ReportMetric(float64(after-before)/float64(b.N), "commits/op")
}
