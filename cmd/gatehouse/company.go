package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
)

func cmdCompanyCreate(ctx context.Context, env environment, args []string) error {
	var o options
	var name, adminEmail, adminName string
	var passwordStdin bool
	fs := flag.NewFlagSet("company create", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	fs.StringVar(&name, "name", "", "the company's name")
	fs.StringVar(&adminEmail, "admin-email", "", "the first admin's email")
	fs.StringVar(&adminName, "admin-name", "", "the first admin's name (default: the email's local part)")
	fs.BoolVar(&passwordStdin, "password-stdin", false, "read the admin's password from standard input; without it a one-time link is printed")
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	if name == "" || adminEmail == "" {
		return usageError{"company create needs --name and --admin-email"}
	}
	if adminName == "" {
		adminName, _, _ = strings.Cut(adminEmail, "@")
	}
	var pw string
	if passwordStdin {
		b, err := io.ReadAll(io.LimitReader(env.stdin, 1<<20))
		if err != nil {
			return fmt.Errorf("read password: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
		if pw == "" {
			return usageError{"--password-stdin: standard input is empty"}
		}
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	company, u, link, err := a.Service.CreateCompany(ctx, auth.NewCompany{Name: name, AdminName: adminName, AdminEmail: adminEmail, Password: pw},
		cliClient)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(env.stdout, "Created company %q (%s) with admin %s (%s).\n", company.Name, company.ID, u.Email, u.ID)
	if link != "" {
		fmt.Fprintf(env.stdout, "The admin sets a password at this one-time link (valid %s):\n%s\n", "7 days", link)
	}
	return nil
}

func cmdMigrate(ctx context.Context, env environment, args []string) error {
	var o options
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	// Only the database: migrating needs neither the secret key nor mail.
	db, err := sqldb.Open(ctx, sqldb.Config{URL: o.databaseURL, DataDir: o.data, ConnectTimeout: o.dbConnTimeout})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Database schema is at version %d.\n", v)
	return nil
}

// explain turns a refusal of the service into a message for the terminal,
// with the password rules it broke.
func explain(err error) error {
	e := gatehouse.AsError(err)
	if e == nil {
		return err
	}
	msg := e.Message
	for _, r := range e.Reasons {
		msg += "\n  - " + r.Message
	}
	return fmt.Errorf("%s", msg)
}

// cliClient marks what the operator does on the server in the audit log.
var cliClient = auth.Client{IP: "", UserAgent: "gatehouse command line"}
