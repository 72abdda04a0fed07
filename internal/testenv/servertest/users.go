package servertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// AddUser creates an active user of the company with password pw directly
// in the store (no invitation mail), and returns its ID.
func (s *Server) AddUser(t testing.TB, companyID, email, pw string, role gatehouse.Role) string {
	t.Helper()
	ctx := context.Background()
	hash, err := s.App.Hasher.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	err = s.App.DB.Update(ctx, func(tx gatehouse.Tx) error {
		u := &gatehouse.User{ID: gatehouse.NewID(tx.Now()), CompanyID: companyID, Email: email,
			Name: strings.Split(email, "@")[0], Role: role, PasswordHash: hash, PasswordChangedAt: tx.Now(), CreatedAt: tx.Now()}
		id = u.ID
		return tx.CreateUser(u)
	})
	if err != nil {
		t.Fatalf("add user %s: %v", email, err)
	}
	return id
}

// SeedUsers adds n active members to the company, named user000001 and so
// on at example.com with the given prefix, in bulk: 100,000 take seconds.
// They share one password hash (of "seeded password 123"), made once.
func SeedUsers(t testing.TB, s *Server, companyID, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	hash, err := s.App.Hasher.Hash(ctx, "seeded password 123")
	if err != nil {
		t.Fatal(err)
	}
	const batch = 10000
	start := time.Now()
	for from := 0; from < n; from += batch {
		err := s.App.DB.Update(ctx, func(tx gatehouse.Tx) error {
			users := make([]*gatehouse.User, 0, batch)
			for i := from; i < min(from+batch, n); i++ {
				users = append(users, &gatehouse.User{ID: gatehouse.NewID(tx.Now()), CompanyID: companyID,
					Email: fmt.Sprintf("%s%06d@example.com", prefix, i), Name: fmt.Sprintf("Seeded User %06d", i),
					Role: gatehouse.RoleMember, PasswordHash: hash, PasswordChangedAt: tx.Now(), CreatedAt: tx.Now()})
			}
			return tx.CreateUsers(users)
		})
		if err != nil {
			t.Fatalf("seed users: %v", err)
		}
	}
	t.Logf("seeded %d users in %v", n, time.Since(start).Round(time.Millisecond))
}
