package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/mail"
)

// mailTestTimeout bounds `mail test`: a connection, a handshake and one
// message, each with its own shorter limit.
const mailTestTimeout = 2 * time.Minute

// cmdMailTest sends one test message through the relay serve would use,
// with serve's mail flags, and prints the relay's answer to it: the way to
// try --smtp-url, --mail-from and --smtp-ca-file before the first real
// reset mail finds them wrong. It touches no data.
func cmdMailTest(ctx context.Context, env environment, args []string) error {
	var o options
	var to string
	fs := flag.NewFlagSet("mail test", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.StringVar(&to, "to", "", "the address to send the test message to")
	o.mailFlags(fs)
	o.messageFlags(fs)
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	if to == "" {
		return usageError{"mail test needs --to ADDRESS"}
	}
	addr, err := auth.ParseEmail(to)
	if err != nil {
		return usageError{fmt.Sprintf("--to %q is not an email address", to)}
	}
	if o.smtpURL == "" {
		return usageError{"mail test needs --smtp-url (or GATEHOUSE_SMTP_URL): without it, serve writes mail to files under --data, and there is no relay to test"}
	}
	sender, err := mail.NewSender(o.smtpURL, mail.Options{CAFile: o.smtpCAFile, AllowPlaintext: o.smtpAllowPlain})
	if err != nil {
		return usageError{err.Error()}
	}
	tmpl, err := mail.LoadTemplates()
	if err != nil {
		return err
	}
	now := time.Now()
	m, err := tmpl.Render(mail.MessageMailTest, mail.DefaultLang, mail.Data{Product: o.productName, Email: addr, At: now})
	if err != nil {
		return err
	}
	raw, err := mail.Compose(o.mailFrom, m, now)
	if err != nil {
		return usageError{fmt.Sprintf("--mail-from %q: %v", o.mailFrom, err)}
	}
	ctx, cancel := context.WithTimeout(ctx, mailTestTimeout)
	defer cancel()
	fmt.Fprintf(env.stdout, "Sending a test message from %s to %s through %s\n", o.mailFrom, addr, redactURL(o.smtpURL))
	answer, err := mail.Deliver(ctx, sender, o.mailFrom, addr, raw)
	if err != nil {
		fmt.Fprint(env.stdout, "Not sent")
		if rerr := mail.AsRelayError(err); rerr != nil {
			fmt.Fprintf(env.stdout, ": %s", rerr.Fault.Summary())
		}
		fmt.Fprintln(env.stdout, ".")
		if stage, answer := mail.Reply(err); answer != "" {
			if stage != "" {
				stage = " (to " + stage + ")"
			}
			fmt.Fprintf(env.stdout, "Its answer%s: %s\n", stage, answer)
		}
		if rerr := mail.AsRelayError(err); rerr != nil {
			fmt.Fprintf(env.stdout, "Fix: %s\n", rerr.Fix)
		}
		return fmt.Errorf("mail test: %w", err)
	}
	fmt.Fprintf(env.stdout, "The relay took it. Its answer: %s\n", answer)
	return nil
}

// redactURL is --smtp-url without its password, for printing.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "--smtp-url"
	}
	return u.Redacted()
}
