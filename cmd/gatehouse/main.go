// Command gatehouse runs the Gatehouse account-security service and its
// operator commands. Everything is wired here by hand: flags and
// environment in, dependencies built and passed as arguments.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the flags are printed
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gatehouse: %v\n", err)
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

const usage = `Gatehouse: login, sessions, password reset and two-factor authentication for your SaaS.

Usage:
  gatehouse serve   [--addr 127.0.0.1:8080] [--data ./gatehouse-data] [--database-url postgres://...]
                    [--public-url URL] [--smtp-url smtp://user:pass@host:port] [--mail-from ADDRESS]
                    [--secret-key-file PATH] [--trusted-proxies CIDR,...] [--webhook-allow-private]
                    [--smtp-ca-file PATH] [--smtp-allow-plaintext]
  gatehouse mail test --to ADDRESS [--smtp-url ...] [--mail-from ...] [--smtp-ca-file PATH]
  gatehouse company create --name NAME --admin-email EMAIL [--admin-name NAME] [--password-stdin]
  gatehouse user reset-password --email EMAIL [--temporary]
  gatehouse user disable-2fa --email EMAIL
  gatehouse webhook create --url URL [--company ID] [--event TYPE]...
  gatehouse webhook list [--company ID]
  gatehouse webhook delete --id ID
  gatehouse app create --name NAME [--company ID] [--redirect-uri URI]... [--post-logout-redirect-uri URI]...
                       [--public] [--first-party] [--forward-auth-host HOST]...
                       [--require-role admin] [--require-mfa]
  gatehouse app update --client-id ID [--name NAME] [--redirect-uri URI]... [--post-logout-redirect-uri URI]...
                       [--first-party] [--forward-auth-host HOST]... [--require-role admin] [--require-mfa]
  gatehouse app list
  gatehouse app delete --client-id ID
  gatehouse api-key create --name NAME [--company ID] [--expires-at TIME]
  gatehouse api-key list [--company ID]
  gatehouse api-key delete --id ID
  gatehouse keys rotate          # a new OpenID Connect signing key signs from now on
  gatehouse migrate
  gatehouse version

Every flag also reads from the environment as GATEHOUSE_<FLAG> (--smtp-url is
GATEHOUSE_SMTP_URL); a flag beats the environment. Run "gatehouse <command> -h"
for a command's flags.
`

// run is the whole program, with its dependencies as arguments so that
// tests run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	env := environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, env, args[1:])
	case "company":
		if len(args) > 1 && args[1] == "create" {
			return cmdCompanyCreate(ctx, env, args[2:])
		}
		return usageError{`"company" needs a subcommand: create`}
	case "user":
		return cmdUser(ctx, env, args[1:])
	case "webhook":
		return cmdWebhook(ctx, env, args[1:])
	case "app":
		return cmdApp(ctx, env, args[1:])
	case "api-key":
		return cmdAPIKey(ctx, env, args[1:])
	case "keys":
		return cmdKeys(ctx, env, args[1:])
	case "migrate":
		return cmdMigrate(ctx, env, args[1:])
	case "mail":
		if len(args) > 1 && args[1] == "test" {
			return cmdMailTest(ctx, env, args[2:])
		}
		return usageError{`"mail" needs a subcommand: test`}
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "gatehouse", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// environment is the program's view of its process.
type environment struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}
