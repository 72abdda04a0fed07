package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// The operator's break-glass commands. They open the same data as serve
// and may run beside it: SQLite is in WAL mode with a busy timeout, and
// PostgreSQL is shared anyway. Mail they queue is delivered by the running
// server (or by the next one to start).

func cmdUser(ctx context.Context, env environment, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "reset-password":
			return cmdUserResetPassword(ctx, env, args[1:])
		case "disable-2fa":
			return cmdUserDisable2FA(ctx, env, args[1:])
		}
	}
	return usageError{`"user" needs a subcommand: reset-password or disable-2fa`}
}

// userFlags parses the data flags and --email, plus what extra adds.
func userFlags(env environment, name string, args []string, extra func(fs *flag.FlagSet)) (options, string, error) {
	var o options
	var email string
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	fs.StringVar(&email, "email", "", "the user's email")
	if extra != nil {
		extra(fs)
	}
	if err := parse(fs, args, env.getenv); err != nil {
		return o, "", err
	}
	if email == "" {
		return o, "", usageError{name + " needs --email"}
	}
	return o, email, nil
}

const mailNote = "The user and the company's other admins are told by mail (a running server sends it)."

func cmdUserResetPassword(ctx context.Context, env environment, args []string) error {
	var temporary bool
	o, email, err := userFlags(env, "user reset-password", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&temporary, "temporary", false, "set a temporary password (printed as the last word) instead of printing a reset link")
	})
	if err != nil {
		return err
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if temporary {
		pw, u, err := a.Service.OperatorTemporaryPassword(ctx, email, cliClient)
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(env.stdout, "Set a temporary password for %s (%s). It works for %s; at the next login they must choose a new one.\n",
			u.Email, u.ID, lifetime())
		fmt.Fprintln(env.stdout, mailNote)
		fmt.Fprintf(env.stdout, "Temporary password: %s\n", pw)
		return nil
	}
	link, u, err := a.Service.OperatorResetLink(ctx, email, cliClient)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(env.stdout, "Give %s (%s) this one-time link to choose a new password. It works for %s.\n", u.Email, u.ID, lifetime())
	fmt.Fprintln(env.stdout, mailNote)
	fmt.Fprintln(env.stdout, link)
	return nil
}

func cmdUserDisable2FA(ctx context.Context, env environment, args []string) error {
	o, email, err := userFlags(env, "user disable-2fa", args, nil)
	if err != nil {
		return err
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Service.OperatorRemoveTOTP(ctx, email, cliClient)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(env.stdout, "Removed two-factor authentication (authenticator app, recovery codes and passkeys) from %s (%s).\n", u.Email, u.ID)
	fmt.Fprintln(env.stdout, mailNote)
	return nil
}

// lifetime says how long what the commands print works.
func lifetime() string {
	if auth.OperatorLifetime == time.Hour {
		return "1 hour"
	}
	return auth.OperatorLifetime.String()
}
