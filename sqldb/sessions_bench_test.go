package sqldb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// BenchmarkSessionByTokenHash is the query behind every authenticated
// request, through View as auth.Authenticate runs it, among 1,000 sessions
// of 1,000 users. Figures are in docs/BENCHMARKS.md.
//
//	go test ./sqldb -run '^$' -bench SessionByTokenHash -benchmem -benchtime 100x
func BenchmarkSessionByTokenHash(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		if kind == "postgres" && len(storeKinds()) == 1 {
			continue
		}
		b.Run(kind, func(b *testing.B) {
			s := openStore(b, kind)
			hashes := s.sessions(b, 1000)
			ctx := context.Background()
			lookup := func(hash []byte) error {
				return s.View(ctx, func(tx gatehouse.Tx) error {
					sess, u, c, err := tx.SessionByTokenHash(hash)
					if err == nil && (sess.UserID != u.ID || u.CompanyID != c.ID) {
						err = fmt.Errorf("got session of %s with user %s", sess.UserID, u.ID)
					}
					return err
				})
			}
			b.Run("serial", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := lookup(hashes[i%len(hashes)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if err := lookup(hashes[i%len(hashes)]); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
		})
	}
}

// sessions makes n users of one company with a session each, and returns
// the sessions' token hashes.
func (s *store) sessions(t testing.TB, n int) [][]byte {
	t.Helper()
	hashes := make([][]byte, n)
	s.members(t, n, func(tx gatehouse.Tx, u *gatehouse.User, i int) error {
		now := tx.Now()
		_, hashes[i] = gatehouse.NewToken()
		return tx.CreateSession(&gatehouse.Session{ID: gatehouse.NewID(now), TokenHash: hashes[i], UserID: u.ID,
			CompanyID: u.CompanyID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), IP: "192.0.2.1",
			UserAgent: "bench"})
	})
	return hashes
}

// members makes n members of one company in one transaction, and calls
// each for every one of them in that transaction.
func (s *store) members(t testing.TB, n int, each func(tx gatehouse.Tx, u *gatehouse.User, i int) error) {
	t.Helper()
	c := s.company(t, "Acme")
	s.update(t, func(tx gatehouse.Tx) error {
		now := tx.Now()
		for i := range n {
			u := &gatehouse.User{ID: gatehouse.NewID(now), CompanyID: c.ID, Email: fmt.Sprintf("user%04d@example.com", i),
				Name: "User", Role: gatehouse.RoleMember, PasswordHash: "$argon2id$fake", CreatedAt: now}
			if err := tx.CreateUser(u); err != nil {
				return err
			}
			if err := each(tx, u, i); err != nil {
				return err
			}
		}
		return nil
	})
}
