package main

import (
	"context"
	"encoding/json"
	"flag"
)

// The OpenID Connect provider's signing keys (docs/OIDC.md): created on
// the first start; "keys rotate" makes a new one sign while the old one
// stays published until what it signed has expired. It works while
// servers run: they read which key signs from the database.

func cmdKeys(ctx context.Context, env environment, args []string) error {
	if len(args) > 0 && args[0] == "rotate" {
		return cmdKeysRotate(ctx, env, args[1:])
	}
	return usageError{`"keys" needs a subcommand: rotate`}
}

func cmdKeysRotate(ctx context.Context, env environment, args []string) error {
	var o options
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	kid, err := a.Service.RotateSigningKey(ctx)
	if err != nil {
		return explain(err)
	}
	return json.NewEncoder(env.stdout).Encode(map[string]string{"kid": kid})
}
