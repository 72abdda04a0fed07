package main

// drive runs the load against nodes already running, where the harness
// starts its own:
//
//	gatehouse-bench drive --targets http://127.0.0.1:8081,http://127.0.0.1:8082 \
//	    --email-format 'bench%03d@example.com' --users 32 --password-file pw.txt \
//	    --clients 16 --duration 30s --me-per-login 9
//
// The accounts must exist, without 2FA; `gatehouse company create
// --password-stdin` makes them. Every request goes to the next target in
// turn, as a round-robin load balancer sends it.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
)

func runDrive(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gatehouse-bench drive", flag.ContinueOnError)
	targets := fs.String("targets", "http://127.0.0.1:8080", "comma-separated base URLs of the nodes")
	emailFormat := fs.String("email-format", "bench%03d@example.com", "the accounts' emails, with %d for 0..users-1")
	users := fs.Int("users", 32, "how many accounts; client c logs in as account c mod users")
	passwordFile := fs.String("password-file", "", "file holding the accounts' password (default: $GATEHOUSE_BENCH_PASSWORD)")
	clients := fs.Int("clients", 16, "concurrent clients")
	duration := fs.Duration("duration", 30*time.Second, "how long to run")
	mePerLogin := fs.Int("me-per-login", 9, "GET /api/v1/me after each login")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pw := os.Getenv("GATEHOUSE_BENCH_PASSWORD")
	if *passwordFile != "" {
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			return err
		}
		pw = strings.TrimRight(string(b), "\r\n")
	}
	if pw == "" {
		return errors.New("give the accounts' password with --password-file or GATEHOUSE_BENCH_PASSWORD")
	}
	if *users < 1 || !strings.Contains(*emailFormat, "%") {
		return errors.New("--users must be positive and --email-format must hold a %d")
	}
	sc := loadgen.LoginAndCheck{Targets: strings.Split(*targets, ","), Password: pw, MePerLogin: *mePerLogin,
		HTTP: loadgen.NewHTTPClient(*clients)}
	for i := range *users {
		sc.Emails = append(sc.Emails, fmt.Sprintf(*emailFormat, i))
	}
	rep := loadgen.Run(ctx, loadgen.Config{Clients: *clients, Duration: *duration}, sc.Run)
	fmt.Fprintf(out, "targets: %s\n", *targets)
	rep.Write(out)
	return nil
}
