// Command gatehouse-bench measures Gatehouse against the performance
// targets that docs/BENCHMARKS.md lists. With no arguments it builds Gatehouse, starts it and
// a bare net/http baseline itself, seeds users, drives each scenario for
// a fixed time and prints the figures beside their targets:
//
//	go run ./cmd/gatehouse-bench            # the full run, about 10 minutes
//	go run ./cmd/gatehouse-bench --quick    # a smoke run, a minute or two
//
// Its subcommands are the pieces, usable alone:
//
//	gatehouse-bench drive --targets URL,...  drive running nodes with logins and session checks
//	gatehouse-bench seed --data DIR ...      bulk-insert companies and users
//	gatehouse-bench baseline --addr ...      the bare handler the session check is compared with
//	gatehouse-bench bare-auth --addr ...     the bare auth_request handler nginx asks instead of Gatehouse
//
// See README.md beside this file.
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
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gatehouse-bench:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "drive":
			return runDrive(ctx, args[1:], stdout)
		case "seed":
			return runSeed(ctx, args[1:], stdout)
		case "baseline":
			return runBaseline(ctx, args[1:], stderr)
		case "bare-auth":
			return runBareAuth(ctx, args[1:], stderr)
		case "bench":
			args = args[1:]
		}
	}
	return runBench(ctx, args, stdout, stderr)
}
