package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/sqldb"
)

// benchPassword is every seeded user's password; seed writes it to a file
// too, for drive.
const benchPassword = "bench quartz lantern meadow 42"

// population is a seeded set of companies of equal size. User 0 of each
// company is its admin; the others are members. Nobody has 2FA.
type population struct {
	Companies, PerCompany int
}

func (p population) Users() int { return p.Companies * p.PerCompany }

// email is the address of user j of company c. Addresses sort in the
// order seed inserts them, so that the unique email index grows at its
// end: scattered inserts into a million-entry index would make seeding
// several times slower.
func (p population) email(c, j int) string {
	return fmt.Sprintf("c%05d.u%04d@example.com", c, j)
}

// account is the i-th user counted across companies, so that accounts
// 0, 1, 2… are all different people.
func (p population) account(i int) string {
	i %= p.Users()
	return p.email(i/p.PerCompany, i%p.PerCompany)
}

// admin is the admin of company c.
func (p population) admin(c int) string { return p.email(c%p.Companies, 0) }

// member is the i-th member (never an admin), spread over the companies.
func (p population) member(i int) string {
	if p.PerCompany < 2 {
		return p.account(i)
	}
	n := p.PerCompany - 1
	i %= p.Companies * n
	return p.email(i/n, 1+i%n)
}

// seed creates the population in the database in bulk: one password hash,
// made once and shared, and one transaction per few tens of thousands of
// users. progress, when not nil, hears how it goes.
func seed(ctx context.Context, dataDir, databaseURL string, p population, progress io.Writer) error {
	if p.Companies < 1 || p.PerCompany < 1 {
		return errors.New("seed: at least one company of one user")
	}
	start := time.Now()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: databaseURL, DataDir: dataDir})
	if err != nil {
		return err
	}
	defer db.Close()
	hash, err := password.NewHasher(password.DefaultParams, 1, time.Minute).Hash(ctx, benchPassword)
	if err != nil {
		return err
	}
	perTx := max(1, 20000/p.PerCompany) // companies per transaction
	// A running count, only on a terminal: in a file it would be noise.
	live := p.Users() >= 100000 && isTerminal(progress)
	for from := 0; from < p.Companies; from += perTx {
		err := db.Update(ctx, func(tx gatehouse.Tx) error {
			now := tx.Now()
			users := make([]*gatehouse.User, 0, perTx*p.PerCompany)
			for c := from; c < min(from+perTx, p.Companies); c++ {
				co := &gatehouse.Company{ID: gatehouse.NewID(now), Name: fmt.Sprintf("Bench company %05d", c), CreatedAt: now}
				if err := tx.CreateCompany(co); err != nil {
					return err
				}
				for j := range p.PerCompany {
					role := gatehouse.RoleMember
					if j == 0 {
						role = gatehouse.RoleAdmin
					}
					users = append(users, &gatehouse.User{ID: gatehouse.NewID(now), CompanyID: co.ID, Email: p.email(c, j),
						Name: fmt.Sprintf("Bench User %d.%d", c, j), Role: role, PasswordHash: hash,
						PasswordChangedAt: now, CreatedAt: now})
				}
			}
			return tx.CreateUsers(users)
		})
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if live {
			fmt.Fprintf(progress, "\r  seeded %d of %d users", min(from+perTx, p.Companies)*p.PerCompany, p.Users())
		}
	}
	if progress != nil {
		if live {
			fmt.Fprintln(progress)
		}
		fmt.Fprintf(progress, "  seeded %d users in %d companies in %s\n", p.Users(), p.Companies, time.Since(start).Round(10*time.Millisecond))
	}
	return nil
}

func runSeed(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gatehouse-bench seed", flag.ContinueOnError)
	data := fs.String("data", "", "folder of a SQLite database (made if missing)")
	dbURL := fs.String("database-url", "", "PostgreSQL URL, instead of --data")
	companies := fs.Int("companies", 10, "how many companies")
	perCompany := fs.Int("users-per-company", 100, "users per company, the first of each its admin")
	pwFile := fs.String("password-file", "", "write the users' password to this file")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: gatehouse-bench seed (--data DIR | --database-url URL) [--companies N] [--users-per-company M]\n\n"+
			"Users are c00000.u0000@example.com (the admin of company 0), c00000.u0001@example.com and so on,\n"+
			"without 2FA, all with the password %q.\n\n", benchPassword)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*data == "") == (*dbURL == "") {
		return errors.New("give --data or --database-url")
	}
	if *pwFile != "" {
		if err := os.WriteFile(*pwFile, []byte(benchPassword+"\n"), 0o600); err != nil {
			return err
		}
	}
	where := *data
	if *dbURL != "" {
		where = "the PostgreSQL database"
	}
	fmt.Fprintf(out, "seeding %s\n", where)
	return seed(ctx, *data, *dbURL, population{Companies: *companies, PerCompany: *perCompany}, out)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
