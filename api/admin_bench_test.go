package api_test

import (
	"encoding/base64"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// BenchmarkUserList lists the users of a company of 100,000 through the
// JSON API, as the users page does: the first page, a deep page (cursor
// at the 90,000th user), and searches. Figures are in docs/BENCHMARKS.md.
//
//	go test ./api -run '^$' -bench UserList -benchtime 200x
func BenchmarkUserList(b *testing.B) {
	const users = 100_000
	servertest.BenchEachDatabase(b, func(b *testing.B, db servertest.Option) {
		s := servertest.Start(b, db)
		companyID, _ := s.Company(b, "Bigcorp", "admin@bigcorp.example", pw)
		servertest.SeedUsers(b, s, companyID, "seed", users)
		c := s.Client(b)
		c.Token = c.Login("admin@bigcorp.example", pw)
		deep := base64.RawURLEncoding.EncodeToString([]byte("seed090000@example.com"))
		for _, bc := range []struct{ name, path string }{
			{"first_page", "/api/v1/company/users?limit=50"},
			{"deep_page", "/api/v1/company/users?limit=50&cursor=" + deep},
			{"search_one", "/api/v1/company/users?limit=50&query=seed054321"},
			{"search_many", "/api/v1/company/users?limit=50&query=Seeded%20User%200999"},
		} {
			b.Run(bc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r := c.Get(bc.path)
					if r.StatusCode != 200 {
						b.Fatalf("%s: got %d %s", bc.path, r.StatusCode, r.Body)
					}
				}
			})
		}
	})
}
