package sqldb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/sqldb"
)

// openEach runs f on a fresh SQLite database and a fresh PostgreSQL one.
func openEach(t *testing.T, f func(t *testing.T, db *sqldb.DB)) {
	for _, kind := range testenv.Databases() {
		t.Run(kind, func(t *testing.T) { f(t, testenv.OpenStore(t, testenv.StoreConfig(t, kind, nil))) })
	}
}

func TestCreateUsersAndList(t *testing.T) {
	openEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := time.Now()
		company := &gatehouse.Company{ID: gatehouse.NewID(now), Name: "Bulk", CreatedAt: now}
		var users []*gatehouse.User
		for i := range 2500 { // more than one batch
			role := gatehouse.RoleMember
			if i%1000 == 7 {
				role = gatehouse.RoleAdmin
			}
			users = append(users, &gatehouse.User{ID: gatehouse.NewID(now), CompanyID: company.ID, Email: fmt.Sprintf("u%05d@bulk.example", i),
				Name: fmt.Sprintf("User %d", i), Role: role, PasswordHash: "x", CreatedAt: now})
		}
		err := db.Update(ctx, func(tx gatehouse.Tx) error {
			if err := tx.CreateCompany(company); err != nil {
				return err
			}
			return tx.CreateUsers(users)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(ctx, func(tx gatehouse.Tx) error {
			return tx.CreateUsers([]*gatehouse.User{{ID: gatehouse.NewID(now), CompanyID: company.ID, Email: "new@bulk.example", Role: gatehouse.RoleMember, CreatedAt: now},
				{ID: gatehouse.NewID(now), CompanyID: company.ID, Email: "u00001@bulk.example", Role: gatehouse.RoleMember, CreatedAt: now}})
		})
		if gatehouse.ErrorCode(err) != gatehouse.EEmailTaken {
			t.Fatalf("duplicate email: got %v, want email_taken", err)
		}
		db.View(ctx, func(tx gatehouse.Tx) error {
			if _, err := tx.UserByEmail("new@bulk.example"); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				t.Errorf("a refused batch left new@bulk.example behind: %v", err)
			}
			page, err := tx.ListUsers(gatehouse.UserFilter{CompanyID: company.ID, After: "u01998@bulk.example", Limit: 3})
			if err != nil || len(page) != 3 || page[0].Email != "u01999@bulk.example" {
				t.Errorf("deep page: got %d users (%v), want u01999 first", len(page), err)
			}
			admins, err := tx.ListUsers(gatehouse.UserFilter{CompanyID: company.ID, Role: gatehouse.RoleAdmin, Limit: 10})
			if err != nil || len(admins) != 3 || admins[2].Email != "u02007@bulk.example" {
				t.Errorf("admins: got %d (%v), want u00007, u01007, u02007", len(admins), err)
			}
			n, err := tx.CountActiveAdmins(company.ID)
			if err != nil || n != 3 {
				t.Errorf("active admins: got %d (%v), want 3", n, err)
			}
			return nil
		})
	})
}
